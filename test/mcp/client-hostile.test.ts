// Mounted MCP servers are untrusted: a server that never answers, answers too much, breaks JSON-RPC,
// lists too many tools or never stops paging, reuses another server's tool names or drops the
// connection mid-stream costs one clear error each. The agent keeps serving, nothing crashes, no
// rejection goes unhandled. A URL that points at some other service gets its status reported, never
// what it answered.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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

describe("bodies that stay out of errors", () => {
  const SECRET = "AKIA-INTERNAL-SECRET-4711";

  /** A plain HTTP service (not an MCP server) on loopback, answering every request as `answer` says. */
  async function service(answer: (req: IncomingMessage, res: ServerResponse, origin: string) => void): Promise<string> {
    const server = createServer((req, res) => answer(req, res, origin));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cleanup.push({
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    return origin;
  }

  it("a failed request keeps its status and loses its body, in the error and in the frame", async () => {
    const origin = await service((_req, res) => {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ AccessKeyId: SECRET, Token: SECRET }));
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("internal", `${origin}/latest/meta-data`);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/HTTP 500 Internal Server Error/);
    expect(outcome.error).not.toContain(SECRET);
    const frame = (await agent.servers()).servers[outcome.serverId!]!;
    expect(frame.state).toBe("failed");
    expect(frame.error).toMatch(/HTTP 500/);
    expect(frame.error).not.toContain(SECRET);
  });

  it("a body that is not JSON is not quoted", async () => {
    const origin = await service((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(`${SECRET} is not JSON`);
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("internal", `${origin}/mcp`);
    expect(outcome.error).toMatch(/sent an invalid JSON-RPC message.*: not valid JSON$/);
    expect(outcome.error).not.toContain("AKIA");
  });

  it("a 4xx answer loses its body and reason phrase too, on both transports", async () => {
    const origin = await service((_req, res) => {
      res.writeHead(403, "Forbidden " + SECRET, { "content-type": "text/plain" }).end(`forbidden: ${SECRET}`);
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("internal", `${origin}/mcp`);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/403/);
    expect(outcome.error).not.toContain(SECRET);
    expect((await agent.servers()).servers[outcome.serverId!]!.error).not.toContain(SECRET);
  });

  it("a failed OAuth request (client registration) loses its body too", async () => {
    const origin = await service((req, res, origin) => {
      const path = new URL(req.url!, origin).pathname;
      if (path === "/mcp") {
        return void res
          .writeHead(401, { "www-authenticate": `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"` })
          .end(`no: ${SECRET}`);
      }
      if (path === "/.well-known/oauth-protected-resource/mcp") {
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [origin] }));
      }
      if (path === "/.well-known/oauth-authorization-server") {
        return void res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            issuer: origin,
            authorization_endpoint: `${origin}/authorize`,
            token_endpoint: `${origin}/token`,
            registration_endpoint: `${origin}/register`,
            response_types_supported: ["code"],
            code_challenge_methods_supported: ["S256"],
          }),
        );
      }
      res.writeHead(path === "/register" ? 400 : 404, { "content-type": "application/json" }).end(JSON.stringify({ message: SECRET }));
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("oauth", `${origin}/mcp`, { callbackHost: "https://agent.example" });
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/400/);
    expect(outcome.error).not.toContain(SECRET);
    expect((await agent.servers()).servers[outcome.serverId!]!.error).not.toContain(SECRET);
  });
});

describe("endless listings", () => {
  it("fails discovery at once when a server sends a cursor it already sent", async () => {
    let pages = 0;
    const server = await scripted((request, res) => {
      if (request.method !== "tools/list") return false;
      pages++;
      json(res, request.id!, { tools: [{ name: "drop", inputSchema: { type: "object" } }], nextCursor: pages % 2 === 0 ? "even" : "odd" });
      return true;
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const started = Date.now();
    const outcome = await agent.tryMount("loop", server.url);
    expect(Date.now() - started).toBeLessThan(5_000); // not the 15 s discoveryTimeoutMs
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/MCP server "loop" sent the tools\/list cursor "odd" a second time/);
    expect(pages).toBe(3);
    expect((await agent.servers()).servers[outcome.serverId!]).toMatchObject({ state: "failed" });
  });

  it("fails discovery after MAX_LIST_PAGES pages of one listing", async () => {
    let pages = 0;
    const server = await scripted((request, res) => {
      if (request.method !== "tools/list") return false;
      pages++;
      json(res, request.id!, { tools: [], nextCursor: `page-${pages}` });
      return true;
    });
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("pager", server.url);
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/MCP server "pager" lists its tools in more than 100 pages \(MAX_LIST_PAGES\)/);
    expect(pages).toBe(100);
  });
});

describe("deeply nested listings", () => {
  /** A tool whose input schema nests `levels` schemas (each two levels of JSON: the schema, its properties). */
  const deepTool = (levels: number) => {
    let schema: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < levels; i++) schema = { type: "object", properties: { a: schema } };
    return { name: "deep", inputSchema: schema };
  };
  const listing = (levels: number) =>
    scripted((request, res) => {
      if (request.method !== "tools/list") return false;
      json(res, request.id!, { tools: [deepTool(levels)] });
      return true;
    });

  it("fails discovery naming the tool and MAX_MCP_JSON_DEPTH, instead of overflowing the stack", async () => {
    const server = await listing(1_000);
    const agent = t.get<Assistant>("Assistant", "a");
    const outcome = await agent.tryMount("deep", server.url);
    expect(outcome).toMatchObject({ ok: false });
    const error = (outcome as { error: string }).error;
    expect(error).toContain('MCP server "deep" lists a tool "deep" nested more than 128 levels deep (MAX_MCP_JSON_DEPTH)');
    expect(error).not.toContain("call stack");
    expect((await agent.servers()).servers[(outcome as { serverId: string }).serverId]!.error).toContain("MAX_MCP_JSON_DEPTH");
  });

  it("accepts a schema within the limit", async () => {
    const server = await listing(60);
    const agent = t.get<Assistant>("Assistant", "a");
    const { id } = await agent.mount("deep", server.url);
    expect(await agent.aiToolNames()).toEqual([`tool_${id}_deep`]);
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
