/**
 * The WebSocket Hibernation API of plain Durable Objects over real sockets: tags, attachments, the
 * auto-response answered while the object sleeps, the per-object socket limit and shut-down.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/limits.ts";
import { TestSocket, type Harness } from "../support/harness.ts";
import { constructed, log, logs, startRooms, upgradeGate, who, type Rooms } from "./hibernation-room.ts";


let harness: Harness | undefined;
afterEach(async () => {
  upgradeGate.slow?.resolve();
  upgradeGate.slow = undefined;
  await harness?.close();
  harness = undefined;
  logs.clear();
  constructed.clear();
});

async function start(options: Parameters<typeof startRooms>[0] = {}): Promise<{ harness: Harness; rooms: Rooms }> {
  const started = await startRooms(options);
  harness = started.harness;
  return started;
}

describe("tags", () => {
  it("keeps distinct tags and finds sockets by tag", async () => {
    const { harness } = await start();
    const ada = await TestSocket.open(`${harness.wsUrl}/rooms/t?user=ada&tag=red&tag=admin&tag=red`);
    const bob = await TestSocket.open(`${harness.wsUrl}/rooms/t?user=bob&tag=red`);
    await TestSocket.open(`${harness.wsUrl}/rooms/t?user=eve`);
    expect(await who(ada)).toMatchObject({ user: "ada", tags: ["red", "admin"], sockets: 3 });
    expect(await who(bob)).toMatchObject({ tags: ["red"] });
    bob.socket.send(new Uint8Array([1, 2, 3]));
    await bob.waitFor((f) => f === "echo binary 3"); // webSocketMessage gets an ArrayBuffer
    for (const [tag, count] of [["red", 2], ["admin", 1], ["blue", 0]] as const) {
      const from = ada.frames.length;
      ada.send(`count ${tag}`);
      expect(await ada.waitFor((f) => typeof f === "object" && "count" in f, from)).toEqual({ count });
    }
  });

  it("lists all sockets newest first and those of a tag oldest first, as the Workers runtime does, after a wake too", async () => {
    const { harness } = await start();
    const ada = await TestSocket.open(`${harness.wsUrl}/rooms/order?user=ada&tag=red`);
    await TestSocket.open(`${harness.wsUrl}/rooms/order?user=bob&tag=red`);
    await TestSocket.open(`${harness.wsUrl}/rooms/order?user=eve&tag=red`);
    for (const wake of [false, true]) {
      if (wake) expect(harness.host.hibernateIdleAgents()).toBe(1);
      for (const [ask, order] of [["order", ["eve", "bob", "ada"]], ["order red", ["ada", "bob", "eve"]]] as const) {
        const from = ada.frames.length;
        ada.send(ask);
        expect(await ada.waitFor((f) => typeof f === "object" && "order" in f, from)).toEqual({ order });
      }
    }
  });

  it("refuses more than 10 distinct tags and tags over 256 bytes of UTF-8, with the Workers runtime's texts; other values become strings", async () => {
    const { rooms } = await start();
    const room = rooms.getByName("limits");
    const ten = Array.from({ length: 10 }, (_, i) => `t${i}`);
    expect(await room.acceptTags(ten)).toEqual({ tags: ten });
    expect(await room.acceptTags([...ten, "t0"])).toEqual({ error: "a Hibernatable WebSocket cannot have more than 10 tags", name: "Error" });
    expect(await room.acceptTags([...ten, "t10"])).toEqual({ error: "a Hibernatable WebSocket cannot have more than 10 tags", name: "Error" });
    expect(await room.acceptTags(["a", "a", "b"])).toEqual({ tags: ["a", "b"] });
    expect(await room.acceptTags(["x".repeat(256)])).toEqual({ tags: ["x".repeat(256)] });
    expect(await room.acceptTags(["y".repeat(257)])).toEqual({
      error: `"${"y".repeat(257)}" is longer than the max tag length (256 characters).`,
      name: "Error",
    });
    expect(await room.acceptTags(["é".repeat(128)])).toEqual({ tags: ["é".repeat(128)] }); // 256 bytes
    expect(await room.acceptTags(["é".repeat(129)])).toEqual({
      error: `"${"é".repeat(129)}" is longer than the max tag length (256 characters).`,
      name: "Error",
    });
    expect(await room.acceptTags([""])).toEqual({ tags: [""] });
    expect(await room.acceptTags([42, true, null])).toEqual({ tags: ["42", "true", "null"] });
    expect(await room.acceptTags("red")).toMatchObject({ name: "TypeError", error: "acceptWebSocket(): tags must be an array of strings" });
  });

  it("getWebSockets(tag) converts the tag to a string, as acceptWebSocket() converts tags", async () => {
    const { rooms } = await start();
    const room = rooms.getByName("converted");
    expect(await room.acceptTags([42, null])).toEqual({ tags: ["42", "null"] });
    expect(await room.countTagged(42)).toBe(1);
    expect(await room.countTagged("42")).toBe(1);
    expect(await room.countTagged(null)).toBe(1);
    expect(await room.countTagged(43)).toBe(0);
  });

  it("acceptWebSocket() refuses a socket accept() took, and does not keep it", async () => {
    const { rooms } = await start();
    expect(await rooms.getByName("twice").acceptAfterAccept()).toEqual({
      error: "Cannot call `acceptWebSocket()` if the WebSocket was already accepted via `accept()`",
      sockets: 0,
    });
  });

  it("getTags() refuses sockets that are not hibernatable", async () => {
    const { rooms } = await start();
    expect(await rooms.getByName("others").tagsOfOthers()).toEqual([
      "only hibernatable websockets can have tags.",
      "you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.",
    ]);
  });
});

describe("attachments", () => {
  it("survive hibernation, while the socket objects and their properties are new after a wake", async () => {
    const { harness } = await start();
    const ada = await TestSocket.open(`${harness.wsUrl}/rooms/att?user=ada&tag=red`);
    expect(await who(ada)).toMatchObject({ user: "ada", marker: "set at accept", same: true, tags: ["red"] });
    expect(harness.host.hibernateIdleAgents()).toBe(1);
    expect(harness.host.stats.liveAgents).toBe(0);
    expect(await who(ada)).toMatchObject({ user: "ada", marker: null, same: false, tags: ["red"], sockets: 1 });
    expect(constructed.get("att")).toBe(2);
  });

  it("take up to 16 KiB serialized; a larger one is refused with the Workers runtime's text", async () => {
    const { rooms } = await start();
    const room = rooms.getByName("size");
    // A one-byte string serializes to its length plus 5 bytes of header (as in workerd).
    expect(await room.attach(16_384 - 5)).toBeNull();
    expect(await room.attach(16_384 - 4)).toEqual({
      error: "A WebSocket 'attachment' cannot be larger than 16384 bytes.'attachment' was 16385 bytes.",
      name: "Error",
    });
  });
});

describe("auto-response", () => {
  it("answers while the object hibernates, without waking it, and records when", async () => {
    const { harness, rooms } = await start();
    expect(await rooms.getByName("auto").autoRespond("ping", "pong")).toEqual({ request: "ping", response: "pong" });
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/auto?user=ada`);
    expect(await who(socket)).toMatchObject({ autoResponseAt: null });
    expect(harness.host.hibernateIdleAgents()).toBe(1);
    const before = Date.now();
    socket.send("ping");
    await socket.waitFor((f) => f === "pong");
    expect(harness.host.stats.liveAgents).toBe(0);
    expect(constructed.get("auto")).toBe(1);
    const state = await who(socket); // wakes it
    expect(constructed.get("auto")).toBe(2);
    expect(Date.parse(state.autoResponseAt as string)).toBeGreaterThanOrEqual(before - 1000);
    expect(log("auto")).toEqual(["message who", "message who"]); // "ping" never reached the object
    expect(await rooms.getByName("auto").stopAutoResponse()).toBe(true);
    socket.send("ping");
    await socket.waitFor((f) => f === "echo ping");
  });

  it("stays quiet for a request that arrives after the object closed the socket", async () => {
    const { harness, rooms } = await start();
    await rooms.getByName("auto-closed").autoRespond("ping", "pong");
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/auto-closed?user=ada`);
    socket.send("bye"); // the object closes the socket…
    socket.send("ping"); // …before this arrives
    expect(await socket.waitClosed()).toEqual({ code: 4000, reason: "bye" });
    expect(socket.frames).not.toContain("pong");
  });

  it("refuses a request or response over 2048 bytes with the Workers runtime's text", async () => {
    const { rooms } = await start();
    const room = rooms.getByName("auto-limits");
    expect(await room.autoRespondError("p".repeat(2048), "q".repeat(2048))).toBe("no error");
    expect(await room.autoRespondError("p".repeat(2049), "q")).toBe(
      "RangeError: Request cannot be larger than 2048 bytes. A request of size 2049 was provided.",
    );
    expect(await room.autoRespondError("p", "é".repeat(1025))).toBe(
      "RangeError: Response cannot be larger than 2048 bytes. A response of size 2050 was provided.",
    );
  });
});

describe("limits and shut-down", () => {
  it(`refuses more than maxConnectionsPerAgent (${LIMITS.maxConnectionsPerAgent}) sockets on one object`, async () => {
    const { rooms } = await start();
    expect(await rooms.getByName("crowded").fill()).toEqual({
      accepted: LIMITS.maxConnectionsPerAgent,
      error: `RangeError: Too many WebSockets on ROOMS/${rooms.idFromName("crowded").toString()}: the limit is ${LIMITS.maxConnectionsPerAgent} (maxConnectionsPerAgent)`,
    });
  });

  it("closes hibernatable sockets with 1001 when the host shuts down", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/shutdown?user=ada`);
    await who(socket);
    harness.host.hibernateIdleAgents();
    await harness.host.close();
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Server shutting down" });
  });

  it("keeps the event timeout setting: 0 or nothing removes it, over 7 days is refused", async () => {
    const { rooms } = await start();
    const room = rooms.getByName("timeout");
    expect(await room.eventTimeout(5000)).toBe(5000);
    expect(await room.eventTimeout(0)).toBeNull();
    expect(await room.eventTimeout(604_800_000)).toBe(604_800_000);
    expect(await room.eventTimeout(undefined)).toBeNull();
    expect(await room.eventTimeout(604_800_001)).toBe("Event timeout should not exceed 604800000 ms.");
  });
});
