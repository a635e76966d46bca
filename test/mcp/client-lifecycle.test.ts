// Lifecycle defaults shared with the Agents SDK: a server that drops is retried 3 times (500 ms
// doubling up to 5 s) and then left failed, and removing a server while addMcpServer is still
// connecting to it ends that call with an error that says so.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

export class Life extends Assistant {
  /** Starts mounting, removes the server `afterMs` later, and reports how the mount ended. */
  async addThenRemove(url: string, afterMs: number) {
    const adding = this.addMcpServer("hang", url, { id: "hang" }).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error: (error as Error).message, code: (error as { code?: string }).code }),
    );
    await new Promise((resolve) => setTimeout(resolve, afterMs));
    await this.removeMcpServer("hang");
    return { outcome: await adding, servers: Object.keys(this.getMcpServers().servers) };
  }
}

let t: TestEnv;
let remote: RemoteServer;
let hole: Server | undefined;

beforeEach(async () => {
  remote = await startRemoteServer();
  t = await createTestEnv({ agents: { Life }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
  hole?.closeAllConnections();
  hole?.close();
  hole = undefined;
});

it("gives up reconnecting a dropped server after 3 attempts, as the Agents SDK does by default", async () => {
  const agent = t.get<Life>("Life", "a");
  const { id } = await agent.mount("remote", remote.url);
  await remote.stop();
  const failed = await eventually(
    () => agent.servers(),
    (s) => s.servers[id]?.error?.includes("gave up after 3 failed attempts in a row") === true,
    15_000,
  );
  expect(failed.servers[id]!.state).toBe("failed");
  // Left failed: nothing tries again until connectToServer, addMcpServer or a wake.
  await remote.start();
  const before = remote.initializeRequests;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(remote.initializeRequests).toBe(before);
  expect(await agent.mount("remote", remote.url)).toEqual({ id, state: "ready" });
});

it("ends addMcpServer with 'removed while connecting' when the server is removed meanwhile", async () => {
  hole = createServer(() => {}); // accepts, never answers
  await new Promise<void>((resolve) => hole!.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(hole.address() as AddressInfo).port}/mcp`;
  const { outcome, servers } = await t.get<Life>("Life", "b").addThenRemove(url, 300);
  expect(outcome).toEqual({ ok: false, code: "not-connected", error: 'addMcpServer: MCP server "hang" was removed while connecting' });
  expect(servers).toEqual([]);
});
