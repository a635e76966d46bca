// What clients see of a mounted server in the cf_agent_mcp_servers frame: its `error` (text a
// server chose) stripped of control characters and cut at 500 characters, as the Agents SDK sends
// it, and its `server_url` without the credentials it may carry (the stored URL keeps them).
import { afterEach, beforeEach, expect, it } from "vitest";
import { frameText } from "../../src/mcp/client/errors.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant } from "./fixtures/remote-assistant.ts";
import { json, startScriptedServer, type ScriptedServer } from "./fixtures/remote-hostile.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

export class Viewer extends Assistant {
  storedUrls(): string[] {
    return this.sql<{ url: string }>`SELECT url FROM hearth_mcp_servers`.map((row) => row.url);
  }

  listed() {
    return this.mcp.listServers().map((server) => ({ server_url: server.server_url, error: server.error }));
  }
}

let t: TestEnv;
const cleanup: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  t = await createTestEnv({ agents: { Viewer }, time: "system" });
});

afterEach(async () => {
  await t.close();
  for (const server of cleanup.splice(0)) await server.close();
});

it("strips control characters from a server's error text and cuts it at 500 characters", async () => {
  const hostile: ScriptedServer = await startScriptedServer((request, res) => {
    if (request.method !== "tools/list") return false;
    json(res, request.id!, {}, -32000, "\u001b[2J\u001b[31mPWNED\u0007\u0000\u007f<img src=x onerror=alert(1)>\tok\n" + "A".repeat(800));
    return true;
  });
  cleanup.push(hostile);
  const agent = t.get<Viewer>("Viewer", "a");
  const outcome = await agent.tryMount("ctl", hostile.url);
  const error = (await agent.servers()).servers[(outcome as { serverId: string }).serverId]!.error!;
  const controls = [...error].filter((c) => (c < " " && !"\t\n\r".includes(c)) || c === "\u007f");
  expect(controls).toEqual([]);
  expect(error).toContain("[2J[31mPWNED<img src=x onerror=alert(1)>\tok\n");
  expect(error.length).toBe(503);
  expect(error.endsWith("A...")).toBe(true);
  expect((await agent.listed())[0]!.error).toBe(error);
});

it("shows the server URL without its credentials, in server_url and in error, and keeps them stored", async () => {
  const remote: RemoteServer = await startRemoteServer();
  cleanup.push(remote);
  const withCredentials = remote.url.replace("http://", "http://alice:s3cret@");
  const agent = t.get<Viewer>("Viewer", "a");
  await agent.tryMount("remote", withCredentials);
  const [server] = Object.values((await agent.servers()).servers);
  expect(server!.server_url).toBe(remote.url);
  expect(JSON.stringify(await agent.servers())).not.toContain("s3cret");
  expect(JSON.stringify(await agent.listed())).not.toContain("s3cret");
  expect(await agent.storedUrls()).toEqual([withCredentials]);
});

it("drops the whole user information of a URL in an error, even with an @ in the password", () => {
  expect(frameText("fetch failed for https://alice:p@ss@mcp.example.com/mcp (after 2 tries)", 500)).toBe(
    "fetch failed for https://mcp.example.com/mcp (after 2 tries)",
  );
  expect(frameText("see http://bob@a.example/x?next=c@d and https://carol:w@rd@b.example", 500)).toBe("see http://a.example/x?next=c@d and https://b.example");
});
