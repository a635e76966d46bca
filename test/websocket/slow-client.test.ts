/**
 * A client that stops reading cannot make the server keep everything sent to it: once more than
 * MAX_BUFFERED_BYTES wait for it and nothing of them left for STALLED_CLIENT_MS, its next send closes
 * the connection (1008, "client is not reading: …"), the agent's onClose (or a Durable Object's
 * webSocketClose) runs; a client that reads — a slow one taking a burst larger than the limit
 * included — is not affected. The stall is made by moving the clock the check reads, not by waiting.
 */
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, callable, DurableObject, WebSocketPair, type Connection, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { MAX_BUFFERED_BYTES, STALLED_CLIENT_MS } from "../../src/websocket/stalled-client.ts";
import { upgradeResponse } from "../durable-object/helpers.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const closes: Array<{ id: string; code: number; reason: string }> = [];
const MIB = 1024 * 1024;

class Blaster extends Agent {
  /** Broadcasts `count` messages of 1 MiB each, in one turn. */
  @callable() blast(count: number): number {
    const big = "x".repeat(MIB);
    for (let i = 0; i < count; i++) this.broadcast(`${big}${i}`);
    return count;
  }

  override onClose(connection: Connection, code: number, reason: string): void {
    closes.push({ id: connection.id, code, reason });
  }
}

/** A room of hibernatable sockets: "blast N" sends every socket N messages of 1 MiB in one event. */
const objectCloses: Array<{ code: number; reason: string; wasClean: boolean }> = [];
class Room extends DurableObject {
  fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const count = Number(String(message).split(" ")[1]);
    const big = "x".repeat(MIB);
    for (const peer of this.ctx.getWebSockets()) for (let i = 0; i < count; i++) peer.send(`${big}${i}`);
    ws.send(`blasted ${count}`);
  }

  webSocketClose(_ws: WorkersWebSocket, code: number, reason: string, wasClean: boolean): void {
    objectCloses.push({ code, reason, wasClean });
  }
}

/** Moves the clock the stall check reads (`performance.now`) forward by `ms` from now on. */
function skewClock(ms: number): void {
  const real = performance.now.bind(performance);
  vi.spyOn(performance, "now").mockImplementation(() => real() + ms);
}

let harness: Harness | undefined;
let raw: net.Socket | undefined;
afterEach(async () => {
  raw?.destroy();
  raw = undefined;
  await harness?.close();
  harness = undefined;
  closes.length = 0;
  objectCloses.length = 0;
  vi.restoreAllMocks();
});

/** Upgrades a raw TCP connection to a WebSocket of `path` (with `_pk=stalled`) and then never reads from it. */
async function stalledClient(port: string, path: string): Promise<net.Socket> {
  const socket = net.connect(Number(port), "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(
    `GET ${path}?_pk=stalled HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await new Promise((resolve) => socket.once("data", resolve));
  socket.pause();
  return socket;
}

describe("a client that stops reading", () => {
  it("is closed with 1008 once too much waits for it; onClose runs; a reading client gets everything", { timeout: 30_000 }, async () => {
    const warnings: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(" ")));
    harness = await startHarness({ Blaster });
    raw = await stalledClient(new URL(harness.url).port, "/agents/blaster/room");
    const reader = await TestSocket.open(`${harness.wsUrl}/agents/blaster/room?_pk=reader`);
    await reader.waitForType("cf_agent_mcp_servers");
    await expect.poll(() => harness!.host.stats.sockets).toBe(2);

    // More than the limit, in one turn, twice: the stalled client is over it from then on, yet kept
    // until it has taken nothing for STALLED_CLIENT_MS (a client taking a large burst is draining).
    const count = MAX_BUFFERED_BYTES / MIB + 8;
    expect((await reader.call("blast", [count])).result).toBe(count);
    expect((await reader.call("blast", [count])).result).toBe(count);
    expect(closes.find((close) => close.id === "stalled")).toBeUndefined();
    skewClock(STALLED_CLIENT_MS + 1);
    expect((await reader.call("blast", [1])).result).toBe(1);

    await expect.poll(() => closes.find((close) => close.id === "stalled")).toBeDefined();
    const close = closes.find((c) => c.id === "stalled")!;
    expect(close.code).toBe(1008);
    expect(close.reason).toMatch(/^client is not reading: \d+ bytes buffered$/);
    expect(harness.host.stats.sockets).toBe(1);
    expect(warnings.some((line) => line.includes("client is not reading"))).toBe(true);

    // The reader got every message of both blasts and is still connected.
    expect(reader.frames.filter((frame) => typeof frame === "string" && frame.length > MIB)).toHaveLength(2 * count + 1);
    expect(reader.closed).toBeUndefined();
    expect(closes.filter((c) => c.id === "reader")).toEqual([]);
    reader.close();
  });

  it("on a Durable Object's socket: closed with 1008 once, webSocketClose hears why; a reading client gets everything", { timeout: 30_000 }, async () => {
    const warnings: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(" ")));
    harness = await startHarness(
      {},
      {
        durableObjects: { ROOM: Room },
        hibernateAfterMs: 60_000,
        fetch: (request, env) => (env.ROOM as DurableObjectNamespace).getByName("lobby").fetch(request),
      },
    );
    raw = await stalledClient(new URL(harness.url).port, "/room");
    const reader = await TestSocket.open(`${harness.wsUrl}/room`);
    const count = MAX_BUFFERED_BYTES / MIB + 8;
    const blast = async (n: number): Promise<void> => {
      const from = reader.frames.length;
      reader.send(`blast ${n}`);
      await reader.waitFor((frame) => frame === `blasted ${n}`, from);
    };
    await blast(count);
    await blast(count);
    expect(objectCloses).toEqual([]);
    skewClock(STALLED_CLIENT_MS + 1);
    await blast(3); // three sends to the stalled client in one event: the first closes it, the others are skipped

    await expect.poll(() => objectCloses.length).toBe(1);
    expect(warnings.filter((line) => line.includes("client is not reading"))).toHaveLength(1);
    expect(objectCloses[0]).toMatchObject({ code: 1008, wasClean: false });
    expect(objectCloses[0]!.reason).toMatch(/^client is not reading: \d+ bytes buffered$/);
    expect(reader.frames.filter((frame) => typeof frame === "string" && frame.length > MIB)).toHaveLength(2 * count + 3);
    expect(reader.closed).toBeUndefined();
    reader.close();
  });
});
