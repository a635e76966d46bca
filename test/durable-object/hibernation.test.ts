/**
 * The WebSocket Hibernation API of plain Durable Objects over real sockets: tags, attachments, the
 * auto-response answered while the object sleeps, close and error handlers after a wake, and the
 * limits (tags, attachment size, connections per object, message size).
 */
import { connect } from "node:net";
import { WebSocket as RawClient } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import {
  DurableObject,
  WebSocketPair,
  WebSocketRequestResponsePair,
  type DurableObjectNamespace,
  type WorkersWebSocket,
} from "../../src/index.ts";
import { LIMITS } from "../../src/limits.ts";
import type { HostOptions } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { deferred, until, upgradeResponse, type Deferred } from "./helpers.ts";

/** Per object name: what its handlers saw, and how often it was constructed (each wake makes a new instance). */
const logs = new Map<string, string[]>();
const constructed = new Map<string, number>();
function log(name: string): string[] {
  let entries = logs.get(name);
  if (!entries) logs.set(name, (entries = []));
  return entries;
}

type Attachment = { user: string | null };
/** Holds fetch after acceptWebSocket, before the 101 leaves (for a client that goes away meanwhile). */
let slowUpgrade: Deferred | undefined;

class Room extends DurableObject {
  /** The socket objects this instance accepted: a woken instance gets new ones. */
  readonly #accepted = new Set<WorkersWebSocket>();
  readonly #log = log(this.ctx.id.name!);

  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env);
    constructed.set(ctx.id.name!, (constructed.get(ctx.id.name!) ?? 0) + 1);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, url.searchParams.getAll("tag"));
    server.serializeAttachment({ user: url.searchParams.get("user") } satisfies Attachment);
    (server as unknown as { marker: string }).marker = "set at accept";
    this.#accepted.add(server);
    if (url.searchParams.has("slow")) await slowUpgrade?.promise;
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const text = typeof message === "string" ? message : `binary ${message.byteLength}`;
    this.#log.push(`message ${text}`);
    if (text === "who") {
      ws.send(
        JSON.stringify({
          user: (ws.deserializeAttachment() as Attachment).user,
          tags: this.ctx.getTags(ws),
          marker: (ws as unknown as { marker?: string }).marker ?? null,
          same: this.#accepted.has(ws),
          sockets: this.ctx.getWebSockets().length,
          autoResponseAt: this.ctx.getWebSocketAutoResponseTimestamp(ws)?.toISOString() ?? null,
        }),
      );
    } else if (text.startsWith("count ")) {
      ws.send(JSON.stringify({ count: this.ctx.getWebSockets(text.slice("count ".length)).length }));
    } else if (text === "bye") {
      ws.close(4000, "bye");
    } else {
      ws.send(`echo ${text}`);
    }
  }

  webSocketClose(ws: WorkersWebSocket, code: number, reason: string, wasClean: boolean): void {
    const user = (ws.deserializeAttachment() as Attachment | null)?.user; // in-memory test sockets have none
    this.#log.push(`close ${user} ${code} ${reason} ${wasClean}`);
    ws.close(code, reason); // what Cloudflare's examples do; the socket is already closed, so this does nothing
  }

  webSocketError(ws: WorkersWebSocket, error: unknown): void {
    const { user } = ws.deserializeAttachment() as Attachment;
    this.#log.push(`error ${user} ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Accepts an in-memory pair's server end with these tags; the tags kept, or the error. */
  acceptTags(tags: unknown): { tags: string[] } | { error: string; name: string } {
    const { 1: server } = new WebSocketPair();
    try {
      this.ctx.acceptWebSocket(server, tags as string[]);
      return { tags: this.ctx.getTags(server) };
    } catch (error) {
      return { error: (error as Error).message, name: (error as Error).name };
    }
  }

  /** getTags() of a socket accepted with accept(), and of one nobody accepted. */
  tagsOfOthers(): string[] {
    const errors: string[] = [];
    for (const accept of [true, false]) {
      const { 1: server } = new WebSocketPair();
      if (accept) server.accept();
      try {
        this.ctx.getTags(server);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    return errors;
  }

  /** acceptWebSocket on a socket accept() took: the error, and how many sockets the object has after. */
  acceptAfterAccept(): { error: string; sockets: number } {
    const { 0: client, 1: server } = new WebSocketPair();
    client.accept();
    server.accept();
    try {
      this.ctx.acceptWebSocket(server);
      return { error: "none", sockets: this.ctx.getWebSockets().length };
    } catch (error) {
      return { error: (error as Error).message, sockets: this.ctx.getWebSockets().length };
    }
  }

  /** Serializes an attachment of a string this long; null when it fits, else the error. */
  attach(length: number): { error: string; name: string } | null {
    const { 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    if (server.deserializeAttachment() !== null) throw new Error("a fresh socket has no attachment");
    try {
      server.serializeAttachment("x".repeat(length));
      return null;
    } catch (error) {
      return { error: (error as Error).message, name: (error as Error).name };
    } finally {
      server.close(1000);
    }
  }

  autoRespond(request: string, response: string): { request: string; response: string } | null {
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response));
    const pair = this.ctx.getWebSocketAutoResponse();
    return pair && { request: pair.request, response: pair.response };
  }

  autoRespondError(request: string, response: string): string {
    try {
      this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response));
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  stopAutoResponse(): boolean {
    this.ctx.setWebSocketAutoResponse();
    return this.ctx.getWebSocketAutoResponse() === null;
  }

  eventTimeout(ms: number | undefined): number | null | string {
    try {
      this.ctx.setHibernatableWebSocketEventTimeout(ms);
      return this.ctx.getHibernatableWebSocketEventTimeout();
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Accepts in-memory sockets up to the per-object limit, then one more; the error of that one. */
  fill(): { accepted: number; error: string } {
    let accepted = 0;
    for (;;) {
      const { 1: server } = new WebSocketPair();
      try {
        this.ctx.acceptWebSocket(server);
        accepted++;
      } catch (error) {
        return { accepted, error: `${(error as Error).name}: ${(error as Error).message}` };
      }
    }
  }
}

type Rooms = DurableObjectNamespace<Room>;

const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const name = new URL(request.url).pathname.split("/")[2] ?? "default";
  return (env.ROOMS as Rooms).getByName(name).fetch(request);
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  slowUpgrade?.resolve();
  slowUpgrade = undefined;
  logs.clear();
  constructed.clear();
});

async function start(options: Partial<HostOptions> = {}): Promise<{ harness: Harness; rooms: Rooms }> {
  harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker, hibernateAfterMs: 60_000, ...options });
  return { harness, rooms: harness.host.env.ROOMS as Rooms };
}

async function who(socket: TestSocket): Promise<Record<string, unknown>> {
  const from = socket.frames.length;
  socket.send("who");
  return (await socket.waitFor((f) => typeof f === "object" && "marker" in f, from)) as Record<string, unknown>;
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

  it("refuses more than 10 distinct tags and tags over 256 characters, with the Workers runtime's texts", async () => {
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
    expect(await room.acceptTags([""])).toEqual({ tags: [""] });
    expect(await room.acceptTags([42])).toMatchObject({ name: "TypeError" });
    expect(await room.acceptTags("red")).toMatchObject({ name: "TypeError", error: "acceptWebSocket(): tags must be an array of strings" });
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
    slowUpgrade = deferred();
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
    slowUpgrade.resolve();
    await until(() => log("gone").length > 0, "webSocketClose");
    expect(log("gone")).toEqual(["close zed 1006 The client went away before the WebSocket upgrade completed false"]);
    expect(harness.host.stats.sockets).toBe(0);
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
