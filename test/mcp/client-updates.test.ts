// hearth/client's onMcpUpdate follows an agent's MCP servers: on connect and on every change.
import { afterEach, beforeEach, expect, it } from "vitest";
import type { McpServersState } from "../../src/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

let t: TestEnv;
let remote: RemoteServer;
beforeEach(async () => {
  remote = await startRemoteServer();
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
});
afterEach(async () => {
  await t.close();
  await remote.close();
});

it("calls onMcpUpdate on connect and when a server is added or removed", async () => {
  const updates: McpServersState[] = [];
  await t.connect("Assistant", "a", { onMcpUpdate: (mcp) => updates.push(mcp) });
  await eventually(async () => updates.length, (n) => n >= 1);
  expect(updates[0]).toEqual({ servers: {}, tools: [], prompts: [], resources: [] });

  const agent = t.get<Assistant>("Assistant", "a");
  const { id } = await agent.mount("remote", remote.url);
  const ready = await eventually(async () => updates.at(-1), (last) => last?.servers[id]?.state === "ready");
  expect(ready!.servers[id]).toMatchObject({ name: "remote", server_url: remote.url, auth_url: null });
  expect(ready!.tools.map((tool) => tool.name).sort()).toEqual(["add", "echo"]);
  expect(JSON.stringify(updates)).not.toMatch(/access_token|client_secret/);

  await agent.unmount(id);
  await eventually(async () => updates.at(-1), (last) => last !== undefined && !(id in last.servers));
});
