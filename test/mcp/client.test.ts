// The MCP client of an agent against real MCP servers on loopback: mounting, listing, calling,
// AI SDK tools, the cf_agent_mcp_servers frame, and coming back after hibernation and restarts.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callbackUrl } from "../../src/mcp/client/callback.ts";
import { toolKey, type McpServersState } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { TestSocket } from "../support/harness.ts";
import { Assistant, eventually } from "./fixtures/remote-assistant.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

type Frame = { type: string; mcp: McpServersState };

let t: TestEnv;
let remote: RemoteServer;

beforeEach(async () => {
  remote = await startRemoteServer({ instructions: "Use add for sums." });
  t = await createTestEnv({ agents: { Assistant }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
});

describe("mounting a server", () => {
  it("connects, discovers, lists and calls", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id, state } = await agent.mount("remote", remote.url);
    expect(state).toBe("ready");
    expect(id).toMatch(/^[a-z0-9]{8}$/);
    expect(await agent.tools()).toEqual([
      { serverId: id, name: "add" },
      { serverId: id, name: "echo" },
    ]);
    expect(await agent.call(id, "add", { a: 2, b: 3 })).toEqual({ content: [{ type: "text", text: "5" }] });
    expect((await agent.read(id, "memo://readme")).contents).toEqual([{ uri: "memo://readme", text: "read me" }]);
    expect((await agent.prompt(id, "greet", { who: "Ada" })).messages[0]!.content).toEqual({ type: "text", text: "Hello, Ada!" });

    const { servers, tools, prompts, resources } = await agent.servers();
    expect(servers[id]).toMatchObject({
      name: "remote",
      server_url: remote.url,
      auth_url: null,
      state: "ready",
      error: null,
      instructions: "Use add for sums.",
    });
    expect(servers[id]!.capabilities).toMatchObject({ tools: {} });
    expect(tools.map((tool) => [tool.serverId, tool.name])).toEqual([
      [id, "add"],
      [id, "echo"],
    ]);
    expect(prompts.map((p) => p.name)).toEqual(["greet"]);
    expect(resources.map((r) => r.uri)).toEqual(["memo://readme"]);
  });

  it("mounting the same name and URL again returns the same server", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const first = await agent.mount("remote", remote.url);
    const second = await agent.mount("remote", remote.url);
    expect(second).toEqual(first);
    expect(Object.keys((await agent.servers()).servers)).toEqual([first.id]);
    expect(remote.sessionsOpened).toBe(1);
  });

  it("talks to a legacy SSE server, chosen explicitly or by auto fallback on a 4xx", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const sse = await agent.mount("legacy", remote.sseUrl, { transport: "sse" });
    expect(await agent.call(sse.id, "echo", { text: "over sse" })).toEqual({ content: [{ type: "text", text: "over sse" }] });
    const auto = await agent.mount("legacy-auto", remote.sseUrl);
    expect(auto.state).toBe("ready");
    expect(await agent.call(auto.id, "add", { a: 1, b: 1 })).toEqual({ content: [{ type: "text", text: "2" }] });
  });

  it("removes a server: its tools go, its id is unknown", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    await agent.unmount(id);
    expect(await agent.tools()).toEqual([]);
    expect((await agent.servers()).servers).toEqual({});
    await expect(agent.call(id, "add", { a: 1, b: 2 })).rejects.toThrow(/No MCP server with id/);
  });

  it("refuses bad input with clear errors", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    await expect(agent.mount("x", "ftp://example.com")).rejects.toThrow(/must be http\(s\)/);
    await expect(agent.mount("x", remote.url, { transport: "carrier-pigeon" as never })).rejects.toThrow(/transport must be one of/);
    await expect(agent.mount("x", remote.url, { id: 42 as never })).rejects.toThrow(/id must be a string/);
    await expect(agent.mount("x", remote.url, { limits: { callTimeoutMs: -1 } })).rejects.toThrow(/callTimeoutMs must be a positive number/);
  });
});

describe("AI SDK tools", () => {
  it("namespaces tool names by server and runs them through generateText", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(await agent.aiToolNames()).toEqual([`tool_${id}_add`, `tool_${id}_echo`]);
    const answer = await agent.ask(`tool_${id}_add`, { a: 20, b: 22 });
    expect(answer.toolResults).toEqual([{ toolName: `tool_${id}_add`, output: { content: [{ type: "text", text: "42" }] } }]);
    expect(answer.text).toContain("42");
    expect(remote.calls).toBe(1);
  });
});

describe("the cf_agent_mcp_servers frame", () => {
  it("is sent on connect and pushed to connected clients when servers change", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const wsUrl = `${(await t.url()).replace(/^http/, "ws")}/agents/assistant/a`;
    const socket = await TestSocket.open(wsUrl);
    const mcpFrames = () => socket.frames.filter((f): f is Frame => typeof f === "object" && f.type === "cf_agent_mcp_servers").map((f) => f.mcp);
    expect((await socket.waitForType("cf_agent_mcp_servers")).mcp).toEqual({ servers: {}, tools: [], prompts: [], resources: [] });

    const { id } = await agent.mount("remote", remote.url);
    const ready = await eventually(
      async () => mcpFrames().at(-1),
      (mcp) => mcp?.servers[id]?.state === "ready",
    );
    expect(ready!.tools.map((tool) => tool.name)).toEqual(["add", "echo"]);
    expect(mcpFrames().map((f) => f.servers[id]?.state)).toContain("connecting");

    const late = await TestSocket.open(wsUrl);
    expect((await late.waitForType("cf_agent_mcp_servers")).mcp).toEqual(await agent.servers());

    await agent.unmount(id);
    await eventually(
      async () => mcpFrames().at(-1),
      (mcp) => mcp !== undefined && Object.keys(mcp.servers).length === 0,
    );
    socket.close();
    late.close();
  });
});

describe("coming back", () => {
  it("is ready again after hibernation, without user action", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(t.hibernate()).toBeGreaterThanOrEqual(1);
    // Tools are known at once after the wake (the catalog is stored); the connection comes back by itself.
    expect(await agent.tools()).toEqual([
      { serverId: id, name: "add" },
      { serverId: id, name: "echo" },
    ]);
    await eventually(
      () => agent.servers(),
      (s) => s.servers[id]?.state === "ready",
    );
    expect(remote.sessionsOpened).toBe(2);
    expect(await agent.call(id, "add", { a: 1, b: 2 })).toEqual({ content: [{ type: "text", text: "3" }] });
    // The instance that hibernated closed its session (it noticed its database closing).
    await eventually(
      async () => remote.openSessions,
      (open) => open === 1,
    );
  });

  it("is ready again after a restart, and a call right after the wake waits for it", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    await t.restart();
    const woken = t.get<Assistant>("Assistant", "a");
    expect(await woken.call(id, "echo", { text: "back" })).toEqual({ content: [{ type: "text", text: "back" }] });
    expect((await woken.servers()).servers[id]!.state).toBe("ready");
  });

  it("starts a new session when the server no longer knows its own, and the call goes through", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(remote.sessionsOpened).toBe(1);
    // The protocol's rule: a 404 for a request with a session id means starting a new session.
    remote.forgetSessions();
    expect(await agent.call(id, "add", { a: 2, b: 5 })).toEqual({ content: [{ type: "text", text: "7" }] });
    expect(remote.sessionsOpened).toBe(2);
    expect((await agent.servers()).servers[id]!.state).toBe("ready");
    expect(await agent.call(id, "echo", { text: "still" })).toEqual({ content: [{ type: "text", text: "still" }] });
  });

  it("reconnects with backoff when a ready server drops", async () => {
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("remote", remote.url);
    await remote.stop();
    await eventually(
      () => agent.servers(),
      (s) => s.servers[id]?.state === "failed",
    );
    const failed = (await agent.servers()).servers[id]!;
    expect(failed.error).toMatch(/Connection lost|failed/);
    await expect(agent.call(id, "add", { a: 1, b: 2 })).rejects.toThrow(/not connected/);
    await remote.start();
    await eventually(
      () => agent.servers(),
      (s) => s.servers[id]?.state === "ready",
      20_000,
    );
    expect(await agent.call(id, "add", { a: 2, b: 2 })).toEqual({ content: [{ type: "text", text: "4" }] });
  });
});

describe("names", () => {
  it("keys AI tools tool_<serverId>_<name>, safe for model APIs and never colliding", () => {
    expect(toolKey("k3x9a2b1", "search")).toBe("tool_k3x9a2b1_search");
    const dotted = toolKey("k3x9a2b1", "files.read");
    expect(dotted).toMatch(/^tool_k3x9a2b1_files_read_[0-9a-f]{8}$/);
    expect(dotted).not.toBe(toolKey("k3x9a2b1", "files_read"));
    const long = toolKey("k3x9a2b1", "x".repeat(200));
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(toolKey("k3x9a2b1", "x".repeat(199)));
    expect(toolKey("k3x9a2b1", "ünïcødé")).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("builds the OAuth callback URL from callbackHost, HEARTH_PUBLIC_URL or the running event's own request, keeping its routing prefix", () => {
    expect(callbackUrl("assistant", "a b", { callbackHost: "https://app.example/" })).toBe("https://app.example/agents/assistant/a%20b/callback");
    expect(callbackUrl("assistant", "a", { callbackHost: "app.example", agentsPrefix: "bots" })).toBe("https://app.example/bots/assistant/a/callback");
    expect(callbackUrl("assistant", "a", { publicUrl: "https://example.com/hearth", eventUrl: "http://127.0.0.1:8787/agents/assistant/a" })).toBe(
      "https://example.com/hearth/agents/assistant/a/callback",
    );
    expect(callbackUrl("assistant", "a b", { eventUrl: "http://127.0.0.1:8787/api/v1/assistant/a%20b/mount" })).toBe(
      "http://127.0.0.1:8787/api/v1/assistant/a%20b/callback",
    );
    expect(callbackUrl("assistant", "a", {})).toBeUndefined();
    expect(() => callbackUrl("assistant", "a", { callbackHost: "ftp://x" })).toThrow(/http\(s\)/);
  });
});
