/**
 * A client that stops reading cannot make the server keep everything sent to it: once more than
 * MAX_BUFFERED_BYTES wait for it and nothing of them left for STALLED_CLIENT_MS, its next send closes
 * the connection (1008, "client is not reading: …"), the agent's onClose runs; a client that reads —
 * a slow one taking a burst larger than the limit included — is not affected.
 */
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, callable, type Connection } from "../../src/index.ts";
import { MAX_BUFFERED_BYTES, STALLED_CLIENT_MS } from "../../src/host/corked-socket.ts";
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

let harness: Harness | undefined;
let raw: net.Socket | undefined;
afterEach(async () => {
  raw?.destroy();
  raw = undefined;
  await harness?.close();
  harness = undefined;
  closes.length = 0;
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
  it("is closed with 1008 once too much waits for it; onClose runs; a reading client gets everything", { timeout: 60_000 }, async () => {
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
    await new Promise((resolve) => setTimeout(resolve, STALLED_CLIENT_MS + 200));
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
});
