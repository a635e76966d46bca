/**
 * How an agent's WebSocket fails: a protocol error of the client (a text frame that is not UTF-8)
 * reaches `onError(connection, error)`, as the SDK's webSocketError does, before the close; a failing
 * onConnect closes the socket (1011) with a generic reason, its message only in the server's log
 * unless the host exposes errors (`hearth dev`).
 */
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, Connection, type ConnectionContext } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

const seen: string[] = [];

class Strict extends Agent {
  override onError(connectionOrError: unknown, error?: unknown): void {
    if (connectionOrError instanceof Connection) seen.push(`onError(${connectionOrError.id}, ${(error as Error).message})`);
    else seen.push(`onError(${String(connectionOrError)})`);
  }
  onClose(connection: Connection, code: number): void {
    seen.push(`onClose(${connection.id}, ${code})`);
  }
}

const SECRET = "SELECT * FROM users -- postgres://admin:hunter2@10.0.0.5";

class Gatekeeper extends Agent {
  onConnect(_connection: Connection, ctx: ConnectionContext): void {
    if (new URL(ctx.request.url).searchParams.get("token") !== "good") throw new Error(SECRET);
  }
  override onError(): void {} // swallows: the host still logs what the client is not told
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  seen.length = 0;
  vi.restoreAllMocks();
});

/** Opens a WebSocket by hand on a raw TCP socket, to send a frame no WebSocket client would. */
async function rawSocket(url: string, path: string): Promise<net.Socket> {
  const { hostname, port, host } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve) => socket.once("connect", resolve));
  const answered = new Promise<string>((resolve) => socket.once("data", (data: Buffer) => resolve(data.toString("latin1"))));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  expect(await answered).toMatch(/^HTTP\/1\.1 101 /);
  return socket;
}

/** A masked text frame whose payload is not UTF-8. */
function invalidUtf8Frame(): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const payload = Buffer.from([0xff, 0xfe]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!))]);
}

describe("agent WebSocket failures", () => {
  it("passes a client's protocol error to onError(connection, error), then the close to onClose", async () => {
    harness = await startHarness({ Strict });
    const socket = await rawSocket(harness.url, "/agents/strict/s?_pk=raw");
    await expect.poll(() => harness!.host.stats.sockets).toBe(1);
    socket.write(invalidUtf8Frame());
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    socket.destroy();
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(2);
    expect(seen[0]).toMatch(/^onError\(raw, .*UTF-8/);
    expect(seen[1]).toMatch(/^onClose\(raw, \d+\)$/);
  });

  it("closes a socket whose onConnect failed with a generic reason, and logs the exception", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    harness = await startHarness({ Gatekeeper });
    const refused = await TestSocket.open(`${harness.wsUrl}/agents/gatekeeper/g?token=bad`);
    expect(await refused.waitClosed()).toEqual({ code: 1011, reason: "Agent failed in onConnect" });
    expect(logged.mock.calls.some((args) => args.some((arg) => arg instanceof Error && arg.message === SECRET))).toBe(true);
    const admitted = await TestSocket.open(`${harness.wsUrl}/agents/gatekeeper/g?token=good`);
    await admitted.waitForType("cf_agent_mcp_servers");
    admitted.close();
  });

  it("shows the exception's message in the reason when the host exposes errors (hearth dev)", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    harness = await startHarness({ Gatekeeper }, { exposeErrors: true });
    const refused = await TestSocket.open(`${harness.wsUrl}/agents/gatekeeper/g?token=bad`);
    expect(await refused.waitClosed()).toEqual({ code: 1011, reason: `Agent failed in onConnect: ${SECRET}` });
  });
});
