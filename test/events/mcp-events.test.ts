import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { collect, type Collected } from "./collect.ts";

type Env = { Tools: AgentNamespace<Tools> };

class Tools extends McpAgent<Env> {
  server = new McpServer({ name: "tools", version: "1.0.0" });
  init() {
    this.server.registerTool("ping", { description: "Answers pong" }, () => ({ content: [{ type: "text", text: "pong" }] }));
  }
}

class Mounter extends Agent<Env> {
  mount() {
    return this.addMcpServer("tools", this.env.Tools);
  }
  unmount(id: string) {
    return this.removeMcpServer(id);
  }
}

let t: TestEnv | undefined;
let seen: Collected | undefined;
afterEach(async () => {
  seen?.stop();
  seen = undefined;
  await t?.close();
  t = undefined;
});

describe("MCP client events", () => {
  it("preconnect, connect, discover, connect (ready) when a server is mounted; close when it is removed", async () => {
    t = await createTestEnv({ agents: { Tools, Mounter }, time: "system" });
    seen = collect();
    const mounter = t.get<Mounter>("Mounter", "m1");
    const { id } = await mounter.mount();
    await mounter.unmount(id);
    const url = (seen.events.find((event) => event.type === "mcp:client:close")!.payload as { url: string }).url;
    expect(seen.of("m1")).toEqual([
      ["mcp:client:preconnect", { serverId: id }],
      ["mcp:client:connect", { url, transport: "rpc", state: "connected" }],
      ["mcp:client:discover", { url }],
      ["mcp:client:connect", { url, transport: "rpc", state: "ready" }],
      ["mcp:client:close", { url, state: "closed" }],
    ]);
    expect(new Set(seen.events.filter((event) => event.name === "m1").map((event) => [event.agent, event.channel].join(" ")))).toEqual(
      new Set(["Mounter mcp"]),
    );
  });
});
