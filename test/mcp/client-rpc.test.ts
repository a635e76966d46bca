// addMcpServer(name, env.MY_MCP, { props }): an MCP server of the same host mounted through its
// agent binding (the RPC transport), as the Agents SDK documents it: ready at once, the instance
// `rpc:<name>`, props handed to it, the binding's env key and the props stored so the server comes
// back after hibernation and restarts, deduplicated by name.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Agent } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import type { AddRpcMcpServerOptions } from "../../src/mcp/client/index.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

type Env = { Counter: AgentNamespace<Counter>; Mounter: AgentNamespace<Mounter> };

/** The MCP server, reached through its binding. */
class Counter extends McpAgent<Env, unknown, { userId?: string }> {
  server = new McpServer({ name: "counter", version: "1.0.0" });

  init() {
    this.server.registerTool("whoami", { description: "Who answers" }, () => ({
      content: [{ type: "text", text: JSON.stringify({ name: this.name, props: this.props ?? null }) }],
    }));
    this.server.registerTool("add", { inputSchema: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => ({
      content: [{ type: "text", text: String(a + b) }],
    }));
  }
}

class Mounter extends Agent<Env> {
  async mount(name: string, options?: AddRpcMcpServerOptions) {
    return this.addMcpServer(name, this.env.Counter, options);
  }

  async tryMount(name: string, binding: "Counter" | "Mounter" | "none", options?: AddRpcMcpServerOptions) {
    try {
      const target = binding === "none" ? ({} as AgentNamespace) : this.env[binding];
      return await this.addMcpServer(name, target as AgentNamespace, options);
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  servers() {
    return this.getMcpServers();
  }

  async whoami(serverId: string) {
    const result = await this.mcp.callTool({ serverId, name: "whoami", arguments: {} });
    return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as { name: string; props: unknown };
  }

  toolKeys() {
    return Object.keys(this.mcp.getAITools());
  }
}

let t: TestEnv;

beforeEach(async () => {
  t = await createTestEnv({ agents: { Counter, Mounter }, time: "system" });
});

afterEach(async () => {
  await t.close();
});

describe("mounting an MCP server through its binding", () => {
  it("is ready at once, talks to the instance rpc:<name>, and hands it the props", async () => {
    const agent = t.get<Mounter>("Mounter", "a");
    const mounted = await agent.mount("My Counter", { props: { userId: "u1" } });
    expect(mounted).toEqual({ id: expect.stringMatching(/^[a-z][a-z0-9]{7}$/), state: "ready" });
    const { servers, tools } = await agent.servers();
    expect(servers[mounted.id]).toMatchObject({ name: "My Counter", server_url: "rpc:my-counter", state: "ready", auth_url: null });
    expect(tools.map((tool) => tool.name)).toEqual(["whoami", "add"]);
    expect(await agent.whoami(mounted.id)).toEqual({ name: "rpc:my-counter", props: { userId: "u1" } });
    expect(await agent.toolKeys()).toEqual([`tool_${mounted.id}_whoami`, `tool_${mounted.id}_add`]);
  });

  it("returns the server already mounted under the same name, and takes a stable id", async () => {
    const agent = t.get<Mounter>("Mounter", "a");
    const first = await agent.mount("counter");
    expect(await agent.mount("counter")).toEqual(first);
    const named = await agent.mount("other counter", { id: "My-Counter" });
    expect(named).toEqual({ id: "my-counter", state: "ready" });
    expect(Object.keys((await agent.servers()).servers).sort()).toEqual([first.id, "my-counter"].sort());
  });

  it("comes back after hibernation and after a restart, props included, without user action", async () => {
    const agent = t.get<Mounter>("Mounter", "a");
    const { id } = await agent.mount("counter", { props: { userId: "u2" } });
    expect(t.hibernate()).toBeGreaterThanOrEqual(1);
    expect(await agent.whoami(id)).toEqual({ name: "rpc:counter", props: { userId: "u2" } });
    await t.restart();
    const woken = t.get<Mounter>("Mounter", "a");
    expect(await woken.whoami(id)).toEqual({ name: "rpc:counter", props: { userId: "u2" } });
    expect((await woken.servers()).servers[id]!.state).toBe("ready");
  });

  it("refuses what is not a binding, props that are not JSON, and a binding that is not an MCP server", async () => {
    const agent = t.get<Mounter>("Mounter", "a");
    expect(await agent.tryMount("x", "none")).toEqual({ error: expect.stringMatching(/second argument must be a server URL or an agent binding from env/) });
    expect(await agent.tryMount("x", "Counter", { props: { n: 1n } as never })).toEqual({ error: expect.stringMatching(/props must be JSON/) });
    expect(await agent.tryMount("x", "Counter", { props: [] as never })).toEqual({ error: expect.stringMatching(/props must be a plain object/) });
    expect(await agent.tryMount("x", "Mounter")).toEqual({ error: expect.stringMatching(/env\.Mounter is not an McpAgent/) });
    expect(Object.values((await agent.servers()).servers).map((s) => [s.name, s.state])).toEqual([["x", "failed"]]);
  });
});
