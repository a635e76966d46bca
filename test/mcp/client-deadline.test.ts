// A call's own `timeout` and `signal` bound the whole call, the wait for a server that is still
// reconnecting included: after a wake, the server's port accepts connections and never answers, so
// the restore's handshake hangs until connectTimeoutMs (6 s here); the call gives up at its own time.
import { createServer, type Server } from "node:http";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

export class Caller extends Assistant {
  async timedCall(serverId: string, timeout: number | undefined, abortAfterMs?: number) {
    const started = Date.now();
    const signal = abortAfterMs === undefined ? undefined : AbortSignal.timeout(abortAfterMs);
    try {
      await this.mcp.callTool({ serverId, name: "add", arguments: { a: 1, b: 2 } }, { ...(timeout === undefined ? {} : { timeout }), ...(signal ? { signal } : {}) });
      return { ok: true, ms: Date.now() - started };
    } catch (error) {
      return { ok: false, ms: Date.now() - started, error: (error as Error).message, name: (error as Error).name, code: (error as { code?: string }).code };
    }
  }

  stateOf(id: string) {
    return this.getMcpServers().servers[id]?.state;
  }
}

let t: TestEnv;
let remote: RemoteServer;
let hole: Server | undefined;

beforeEach(async () => {
  remote = await startRemoteServer();
  t = await createTestEnv({ agents: { Caller }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
  hole?.closeAllConnections();
  hole?.close();
  hole = undefined;
});

/** Mounts, then puts a server that never answers on its port and wakes the agent: the restore hangs. */
async function wokenWhileReconnectHangs(): Promise<{ agent: ReturnType<typeof t.get<Caller>>; id: string }> {
  const { id } = await t.get<Caller>("Caller", "a").mount("remote", remote.url, { limits: { connectTimeoutMs: 6_000 } });
  const port = remote.port;
  await remote.stop();
  hole = createServer(() => {}); // accepts, never answers
  await new Promise<void>((resolve) => hole!.listen(port, "127.0.0.1", resolve));
  await t.restart();
  const agent = t.get<Caller>("Caller", "a");
  expect(await agent.stateOf(id)).toBe("connecting");
  return { agent, id };
}

it("a call's timeout covers the wait for the reconnect", async () => {
  const { agent, id } = await wokenWhileReconnectHangs();
  const outcome = await agent.timedCall(id, 500);
  expect(outcome).toMatchObject({ ok: false, code: "timeout" });
  expect(outcome.error).toBe(`MCP server "remote" did not finish tools/call "add" within 500 ms (the call's timeout option): it was still connecting`);
  expect(outcome.ms).toBeLessThan(3_000);
});

it("a call's signal aborts the wait for the reconnect", async () => {
  const { agent, id } = await wokenWhileReconnectHangs();
  const outcome = await agent.timedCall(id, 30_000, 500);
  expect(outcome).toMatchObject({ ok: false, name: "TimeoutError" });
  expect(outcome.ms).toBeLessThan(3_000);
});
