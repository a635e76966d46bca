// addMcpServer(name, env.MY_MCP, { props }): an MCP server of the same host mounted through its
// agent binding (the RPC transport), as the Agents SDK documents it: ready at once, props handed to
// it, the binding's env key and the props stored so the server comes back after hibernation and
// restarts, deduplicated by name. Unlike Cloudflare's one shared `rpc:<name>`, each mounting agent
// has its own session, the instance `rpc:<name>:<Class>/<agent name>`.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Agent } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import type { AddRpcMcpServerOptions } from "../../src/mcp/client/index.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Gate, gates } from "./fixtures/desk.ts";

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
    this.server.registerTool("wait", { inputSchema: z.object({ gate: z.string() }) }, async ({ gate }) => {
      await gates.get(gate)?.pass();
      return { content: [{ type: "text", text: `released ${gate}` }] };
    });
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

  remove(serverId: string) {
    return this.removeMcpServer(serverId);
  }

  async waitFor(serverId: string, gate: string) {
    const result = await this.mcp.callTool({ serverId, name: "wait", arguments: { gate } });
    return (result.content as Array<{ text: string }>)[0]!.text;
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
    expect(tools.map((tool) => tool.name)).toEqual(["whoami", "add", "wait"]);
    expect(await agent.whoami(mounted.id)).toEqual({ name: "rpc:my-counter:Mounter/a", props: { userId: "u1" } });
    expect(await agent.toolKeys()).toEqual([`tool_${mounted.id}_whoami`, `tool_${mounted.id}_add`, `tool_${mounted.id}_wait`]);
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
    expect(await agent.whoami(id)).toEqual({ name: "rpc:counter:Mounter/a", props: { userId: "u2" } });
    await t.restart();
    const woken = t.get<Mounter>("Mounter", "a");
    expect(await woken.whoami(id)).toEqual({ name: "rpc:counter:Mounter/a", props: { userId: "u2" } });
    expect((await woken.servers()).servers[id]!.state).toBe("ready");
  });

  it("gives each mounting agent its own session: props, request ids and cancellations never cross", async () => {
    const alice = t.get<Mounter>("Mounter", "alice");
    const bob = t.get<Mounter>("Mounter", "bob");
    const forAlice = await alice.mount("docs", { props: { userId: "alice" } });
    const forBob = await bob.mount("docs", { props: { userId: "bob" } });
    expect(await alice.whoami(forAlice.id)).toEqual({ name: "rpc:docs:Mounter/alice", props: { userId: "alice" } });
    expect(await bob.whoami(forBob.id)).toEqual({ name: "rpc:docs:Mounter/bob", props: { userId: "bob" } });

    // Both clients number their requests alike: the same id is in progress in both sessions at once.
    const gateA = new Gate();
    const gateB = new Gate();
    gates.set("alice", gateA);
    gates.set("bob", gateB);
    const aliceCall = alice.waitFor(forAlice.id, "alice");
    await gateA.entered;
    const bobCall = bob.waitFor(forBob.id, "bob");
    await gateB.entered;
    gateB.release();
    gateA.release();
    expect(await Promise.all([aliceCall, bobCall])).toEqual(["released alice", "released bob"]);
  });

  it("ends the agent's session on the server when the server is removed, not when the agent hibernates", async () => {
    const agent = t.get<Mounter>("Mounter", "a");
    const { id } = await agent.mount("counter", { props: { userId: "u3" } });
    const counter = t.env.Counter as AgentNamespace<Counter>;
    expect(counter.exists("rpc:counter:Mounter/a")).toBe(true);
    expect(t.hibernate()).toBeGreaterThanOrEqual(1);
    expect(await agent.whoami(id)).toEqual({ name: "rpc:counter:Mounter/a", props: { userId: "u3" } });
    await agent.remove(id);
    expect(counter.exists("rpc:counter:Mounter/a")).toBe(false);
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
