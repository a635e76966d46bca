// Mounted MCP servers are untrusted: a server that never answers, answers too much, breaks JSON-RPC,
// lists too many tools, reuses another server's tool names or drops the connection mid-stream costs
// one clear error each. The agent keeps serving, nothing crashes, no rejection goes unhandled.
import type { McpServer } from "@modelcontextprotocol/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant } from "./fixtures/remote-assistant.ts";
import { json, startScriptedServer, type ScriptedServer } from "./fixtures/remote-hostile.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

let t: TestEnv;
const cleanup: Array<{ close(): Promise<void> }> = [];

beforeEach(async () => {
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
});

afterEach(async () => {
  await t.close();
  for (const server of cleanup.splice(0)) await server.close();
});

async function remoteWith(register: (server: McpServer) => void): Promise<RemoteServer> {
  const server = await startRemoteServer({ register });
  cleanup.push(server);
  return server;
}

async function scripted(script: Parameters<typeof startScriptedServer>[0]): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  cleanup.push(server);
  return server;
}

describe("slow servers", () => {
  it("times out a call that never returns, with the limit in the message, while the agent keeps serving", async () => {
    const remote = await remoteWith((server) => {
      server.registerTool("hang", { description: "Never answers" }, () => new Promise(() => {}));
      server.registerTool("quick", { description: "Answers" }, () => ({ content: [{ type: "text", text: "fast" }] }));
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("slow", remote.url, { limits: { callTimeoutMs: 800 } });

    const hanging = agent.attempt(id, "hang", {});
    // Meanwhile the agent answers other calls, to this server and to its own methods.
    expect(await agent.call(id, "quick", {})).toEqual({ content: [{ type: "text", text: "fast" }] });
    expect((await agent.servers()).servers[id]!.state).toBe("ready");

    const outcome = await hanging;
    expect(outcome).toMatchObject({ ok: false, code: "timeout" });
    expect(outcome.error).toMatch(/MCP server "slow" did not finish tools\/call "hang" within 800 ms \(callTimeoutMs\)/);
    expect(outcome.ms).toBeLessThan(5_000);
    // The server is still usable afterwards.
    expect(await agent.call(id, "quick", {})).toEqual({ content: [{ type: "text", text: "fast" }] });
  });

  it("fails a server that never answers initialize within connectTimeoutMs", async () => {
    const server = await scripted((request) => request.method === "initialize"); // taken, never answered
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("mute", server.url, { limits: { connectTimeoutMs: 500 } });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/did not finish initialize within 500 ms \(connectTimeoutMs\)/);
    expect((await agent.servers()).servers[outcome.serverId!]).toMatchObject({ state: "failed" });
  });
});

describe("huge responses", () => {
  it("cuts off an answer over maxResponseBytes (8 MiB by default) with a clear error", async () => {
    const remote = await remoteWith((server) => {
      server.registerTool("huge", { description: "9 MiB of text" }, () => ({ content: [{ type: "text", text: "x".repeat(9 * 1024 * 1024) }] }));
      server.registerTool("small", { description: "Small" }, () => ({ content: [{ type: "text", text: "ok" }] }));
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("big", remote.url);
    const outcome = await agent.attempt(id, "huge", {});
    expect(outcome).toMatchObject({ ok: false, code: "limit" });
    expect(outcome.error).toMatch(/MCP server "big" sent an event larger than 8388608 bytes \(maxResponseBytes\)/);
    expect(outcome.ms).toBeLessThan(5_000);
    expect(await agent.call(id, "small", {})).toEqual({ content: [{ type: "text", text: "ok" }] });
  });

  it("caps plain JSON answers too", async () => {
    const server = await scripted((request, res) => {
      if (request.method !== "tools/call") return false;
      json(res, request.id!, { content: [{ type: "text", text: "y".repeat(4096) }] });
      return true;
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("json", server.url, { limits: { maxResponseBytes: 1024 } });
    const outcome = await agent.attempt(id, "drop", {});
    expect(outcome).toMatchObject({ ok: false, code: "limit" });
    expect(outcome.error).toMatch(/sent a response larger than 1024 bytes \(maxResponseBytes\)/);
  });

  it("refuses a server listing more than maxListItems tools", async () => {
    const remote = await remoteWith((server) => {
      for (let i = 0; i <= 1000; i++) server.registerTool(`t${i}`, { description: "one of many" }, () => ({ content: [] }));
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("many", remote.url);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/lists more than 1000 tools \(maxListItems\)/);
    expect((await agent.servers()).servers[outcome.serverId!]!.state).toBe("failed");
    expect(await agent.tools()).toEqual([]);
  });
});

describe("broken protocol", () => {
  it("fails a server that answers initialize with something that is not JSON-RPC", async () => {
    const server = await scripted((request, res) => {
      if (request.method !== "initialize") return false;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ hello: "world" }));
      return true;
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("garbage", server.url);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/MCP server "garbage" sent an invalid JSON-RPC message/);
    const state = (await agent.servers()).servers[outcome.serverId!]!;
    expect(state.state).toBe("failed");
    expect(state.error).toMatch(/invalid JSON-RPC/);
  });

  it("fails a call answered with invalid JSON inside an event stream, at once", async () => {
    const server = await scripted((request, res) => {
      if (request.method !== "tools/call") return false;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("event: message\ndata: {not json at all\n\n");
      return true; // the stream stays open: only the parse error can end the call early
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("babble", server.url, { limits: { callTimeoutMs: 10_000 } });
    const outcome = await agent.attempt(id, "drop", {});
    expect(outcome).toMatchObject({ ok: false, code: "protocol" });
    expect(outcome.error).toMatch(/invalid JSON-RPC message/);
    expect(outcome.ms).toBeLessThan(5_000);
  });

  it("reports a server that drops the connection in the middle of an answer", async () => {
    const server = await scripted((request, res) => {
      if (request.method !== "tools/call") return false;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('event: message\ndata: {"jsonrpc":"2.0","id":');
      setTimeout(() => res.destroy(), 20);
      return true;
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("flaky", server.url, { limits: { callTimeoutMs: 10_000 } });
    const outcome = await agent.attempt(id, "drop", {});
    expect(outcome).toMatchObject({ ok: false, code: "connection" });
    expect(outcome.error).toMatch(/MCP server "flaky" dropped the connection/);
    expect(outcome.ms).toBeLessThan(5_000);
  });
});

describe("tool name collisions", () => {
  it("keeps same-named tools of two servers apart, and both callable through getAITools", async () => {
    const named = (label: string) => (server: McpServer) => {
      server.registerTool("search", { inputSchema: z.object({ q: z.string() }) }, ({ q }) => ({ content: [{ type: "text", text: `${label}:${q}` }] }));
      server.registerTool("files.read", {}, () => ({ content: [{ type: "text", text: `${label}:dot` }] }));
      server.registerTool("files_read", {}, () => ({ content: [{ type: "text", text: `${label}:underscore` }] }));
      server.registerTool(`a${"very-long-name".repeat(8)}`, {}, () => ({ content: [{ type: "text", text: `${label}:long` }] }));
    };
    const one = await remoteWith(named("one"));
    const two = await remoteWith(named("two"));
    const agent = t.get<Assistant>("Assistant", "a");
    const first = await agent.mount("one", one.url);
    const second = await agent.mount("two", two.url);
    const keys = await agent.aiToolNames();
    expect(keys).toHaveLength(8);
    expect(new Set(keys).size).toBe(8);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(keys).toContain(`tool_${first.id}_search`);
    expect(keys).toContain(`tool_${second.id}_search`);
    expect(await agent.runAITool(`tool_${first.id}_search`, { q: "x" })).toEqual({ content: [{ type: "text", text: "one:x" }] });
    expect(await agent.runAITool(`tool_${second.id}_search`, { q: "x" })).toEqual({ content: [{ type: "text", text: "two:x" }] });
    const dotted = keys.filter((k) => k.startsWith(`tool_${second.id}_files_read`));
    expect(dotted).toHaveLength(2);
    const outputs = await Promise.all(dotted.map((key) => agent.runAITool(key, {})));
    expect(outputs.map((o) => (o as { content: Array<{ text: string }> }).content[0]!.text).sort()).toEqual(["two:dot", "two:underscore"]);
  });
});
