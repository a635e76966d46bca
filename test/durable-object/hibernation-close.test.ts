/**
 * Hibernatable sockets that end: webSocketClose and webSocketError (also after a wake), messages and
 * frames over the limits, and upgrades that never complete (the client left, the fetch failed).
 */
import { connect } from "node:net";
import { WebSocket as RawClient } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/limits.ts";
import { DISCONNECTED } from "../../src/websocket/close-reason.ts";
import { handshake } from "../support/handshake.ts";
import { TestSocket, type Harness } from "../support/harness.ts";
import { constructed, log, logs, startRooms, upgradeGate, who, type Rooms } from "./hibernation-room.ts";
import { deferred, until } from "./helpers.ts";

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

describe("close and error handlers", () => {
  it("deliver webSocketClose to a hibernated object, waking it", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/closing?user=ada`);
    await who(socket);
    harness.host.hibernateIdleAgents();
    socket.socket.close(4002, "leaving");
    await until(() => log("closing").some((line) => line.startsWith("close")), "webSocketClose");
    expect(log("closing")).toEqual(["message who", "close ada 4002 leaving true"]);
    expect(constructed.get("closing")).toBe(2);
  });

  it("deliver a connection dropped without a close frame as 1006 with the Workers runtime's reason", async () => {
    const { harness } = await start();
    const raw = new RawClient(`${harness.wsUrl}/rooms/abrupt?user=ann`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    await until(() => harness.host.stats.sockets === 1, "the socket to be accepted");
    raw.terminate();
    await until(() => log("abrupt").length > 0, "webSocketClose");
    expect(log("abrupt")).toEqual([`close ann 1006 ${DISCONNECTED} false`]);
  });

  it("deliver the close of a socket the object closed itself", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/bye?user=bob`);
    socket.send("bye");
    expect(await socket.waitClosed()).toEqual({ code: 4000, reason: "bye" });
    await until(() => log("bye").length === 2, "webSocketClose");
    expect(log("bye")[1]).toMatch(/^close bob 4000 .* true$/); // the code and reason the client answered with
  });

  it("deliver webSocketError when the connection breaks (invalid UTF-8), after hibernation too", async () => {
    const { harness } = await start();
    const raw = new RawClient(`${harness.wsUrl}/rooms/broken?user=eve`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    await until(() => harness.host.stats.sockets === 1, "the socket to be accepted");
    harness.host.hibernateIdleAgents();
    raw.send(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
    await until(() => log("broken").length > 0, "webSocketError");
    expect(log("broken")).toEqual([expect.stringMatching(/^error eve .*UTF-8/i)]);
    await until(() => harness.host.stats.sockets === 0, "the socket to be dropped");
    raw.terminate();
  });

  it("close a socket whose message exceeds maxMessageBytes with 1009, and tell the object", async () => {
    const { harness } = await start({ maxMessageBytes: 1024 });
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/big?user=ada`);
    socket.send("x".repeat(1024));
    await socket.waitFor((f) => typeof f === "string" && f.startsWith("echo x"));
    socket.send("x".repeat(1025));
    const closed = await socket.waitClosed();
    expect(closed.code).toBe(1009);
    expect(closed.reason).toBe("Message of 1025 bytes exceeds the limit of 1024 bytes (maxMessageBytes)");
    await until(() => log("big").length === 2, "webSocketClose");
    expect(log("big")[1]).toMatch(/^close ada 1009 /);
  });
});

describe("upgrades that do not complete", () => {
  it("close the accepted socket (1006) when the client leaves before the 101 reaches it", async () => {
    const { harness } = await start();
    upgradeGate.slow = deferred();
    const { port } = new URL(harness.url);
    const tcp = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => tcp.once("connect", resolve));
    tcp.write(
      "GET /rooms/gone?user=zed&slow=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    await until(() => harness.host.stats.sockets === 1, "the object to accept the socket");
    tcp.destroy();
    await new Promise((resolve) => tcp.once("close", resolve));
    upgradeGate.slow.resolve();
    await until(() => log("gone").length > 0, "webSocketClose");
    expect(log("gone")).toEqual(["close zed 1006 WebSocket disconnected without sending Close frame. false"]);
    expect(harness.host.stats.sockets).toBe(0);
  });

  it("close the socket a fetch accepted before it failed (1006)", async () => {
    const { harness } = await start();
    await expect(TestSocket.open(`${harness.wsUrl}/rooms/failed?user=zoe&fail=1`)).rejects.toThrow();
    await until(() => log("failed").length > 0, "webSocketClose");
    expect(log("failed")).toEqual([`close zoe 1006 ${DISCONNECTED} false`]);
    expect(harness.host.stats.sockets).toBe(0);
  });

  it("close the socket a fetch accepted but did not return (it answered 403), as the Workers runtime drops its client end", async () => {
    const { harness, rooms } = await start();
    expect((await fetch(`${harness.url}/rooms/denied?user=ann&deny=1`)).status).toBe(403);
    expect(await handshake(`${harness.url}/rooms/denied?user=bea&deny=1`)).toMatchObject({ status: 403 });
    await until(() => log("denied").length === 2, "webSocketClose");
    expect(log("denied")).toEqual([`close ann 1006 ${DISCONNECTED} false`, `close bea 1006 ${DISCONNECTED} false`]);
    expect(await rooms.getByName("denied").count()).toBe(0);
    expect(harness.host.stats.sockets).toBe(0);
  });

  it("close the object's socket when the worker drops the 101 it returned", async () => {
    const { harness, rooms } = await start();
    expect(await handshake(`${harness.url}/rooms/dropped?user=cy&drop=1`)).toMatchObject({ status: 401 });
    await until(() => log("dropped").length > 0, "webSocketClose");
    expect(log("dropped")).toEqual([`close cy 1006 ${DISCONNECTED} false`]);
    expect(await rooms.getByName("dropped").count()).toBe(0);
  });

  it("close a socket accepted with accept() that the fetch did not return, and let the object hibernate", async () => {
    const { harness } = await start();
    expect((await fetch(`${harness.url}/rooms/pinned?accept=1`)).status).toBe(403);
    await until(() => log("pinned").length > 0, "the close event");
    expect(log("pinned")).toEqual([`closed 1006 ${DISCONNECTED} false`]);
    expect(harness.host.hibernateIdleAgents()).toBe(1);
  });
});

describe("frames over the hard limit", () => {
  it("are not buffered: the connection fails and webSocketError is called", async () => {
    const { harness } = await start({ maxMessageBytes: 1024 });
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/huge?user=ada`);
    socket.send("x".repeat(LIMITS.hardMaxMessageBytesFloor + 1)); // max(16 MiB, 4 × 1 KiB)
    await until(() => log("huge").length > 0, "webSocketError");
    expect(log("huge")).toEqual([expect.stringMatching(/^error ada .*max payload/i)]);
    expect((await socket.waitClosed()).code).toBe(1009);
  });
});
