// The MCP endpoint against misuse: routes around it, someone else's session, failed handshakes,
// odd bodies, tokens for another resource, and the public name of the resource.
import { Client, SSEClientTransport } from "@modelcontextprotocol/client";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeAgentRequest } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { startOAuthServer, type OAuthServer } from "../support/oauth-server.ts";
import { Notes } from "./fixtures/notes.ts";

const JSON_AND_SSE = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = (id = 1) =>
  JSON.stringify({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } } });

function countFiles(dir: string): number {
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) count++;
  return count;
}

let issuer: OAuthServer;
let harness: Harness;
let base: string;

beforeAll(async () => {
  issuer = await startOAuthServer();
  const auth = { authorizationServers: [issuer.url], jwks: { url: issuer.jwksUrl } };
  const open = Notes.serve("/mcp");
  const guarded = Notes.serve("/secure", { auth });
  const sse = Notes.serveSSE("/sse", { auth });
  harness = await startHarness(
    { Notes },
    {
      fetch: async (request, env, ctx) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/agents/")) return (await routeAgentRequest(request, env)) ?? new Response("no", { status: 404 });
        if (path.startsWith("/sse")) return sse.fetch(request, env, ctx);
        if (path.includes("secure")) return guarded.fetch(request, env, ctx);
        return open.fetch(request, env, ctx);
      },
    },
  );
  base = harness.url;
});
afterAll(async () => {
  await harness.close();
  await issuer.close();
});

describe("the MCP endpoint is the only way in", () => {
  it("refuses WebSockets to a session's agent through the agent router", async () => {
    const opened = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_AND_SSE, body: initialize() });
    const sessionId = opened.headers.get("mcp-session-id")!;
    await opened.text();
    const socket = new WebSocket(`${base.replace("http", "ws")}/agents/notes/${encodeURIComponent(`streamable-http:${sessionId}`)}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
    );
    expect(closed).toEqual({ code: 1008, reason: "MCP sessions are reached through their MCP endpoint" });
  });

  it("leaves nothing behind when the SDK refuses an initialize", async () => {
    const agentsDir = join(harness.dataDir, "agents");
    const before = countFiles(agentsDir);
    for (let i = 0; i < 5; i++) {
      const refused = await fetch(`${base}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: initialize() });
      expect(refused.status).toBe(406);
      const badVersion = await fetch(`${base}/mcp`, {
        method: "POST",
        headers: JSON_AND_SSE,
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { nonsense: true } }),
      });
      await badVersion.text();
    }
    await expect.poll(() => countFiles(agentsDir)).toBe(before);
  });

  it("answers bodies that are not JSON-RPC objects with 400", async () => {
    for (const body of ['"abc"', "42", "[]", "[1,2]", "null"]) {
      const response = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_AND_SSE, body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: -32600 } });
    }
  });

  it("answers JSON nested deeper than MAX_MCP_JSON_DEPTH with a parse error, and serves what is nested less", async () => {
    const nestedInitialize = (depth: number) =>
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: { experimental: {} }, clientInfo: { name: "t", version: "1" } } })
        .replace('"experimental":{}', `"experimental":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
    const deep = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_AND_SSE, body: nestedInitialize(5_000) });
    expect(deep.status).toBe(400);
    expect(await deep.json()).toMatchObject({ error: { code: -32700, message: expect.stringContaining("MAX_MCP_JSON_DEPTH") } });
    const shallow = await fetch(`${base}/mcp`, { method: "POST", headers: JSON_AND_SSE, body: nestedInitialize(100) });
    expect(shallow.status).toBe(200);
    await shallow.text();
  });
});

describe("protected endpoints", () => {
  it("checks the token's audience against the endpoint's URL by default", async () => {
    const post = (token: string) => fetch(`${base}/secure`, { method: "POST", headers: { ...JSON_AND_SSE, authorization: `Bearer ${token}` }, body: initialize() });
    const foreign = await post(await issuer.issueAccessToken({ sub: "eve", aud: "https://elsewhere.example/mcp" }));
    expect(foreign.status).toBe(401);
    const none = await post(await issuer.issueAccessToken({ sub: "eve" }));
    expect(none.status).toBe(401);
    const right = await post(await issuer.issueAccessToken({ sub: "ann", aud: `${base}/secure` }));
    expect(right.status).toBe(200);
    await right.text();
  });

  it("names the resource by the address the client used, not the listening address", async () => {
    const port = new URL(base).port;
    const viaLocalhost = `http://localhost:${port}`;
    const challenge = await fetch(`${viaLocalhost}/secure`, { method: "POST", headers: JSON_AND_SSE, body: initialize() });
    expect(challenge.status).toBe(401);
    expect(challenge.headers.get("www-authenticate")).toContain(`resource_metadata="${viaLocalhost}/.well-known/oauth-protected-resource/secure"`);
    const metadata = (await (await fetch(`${viaLocalhost}/.well-known/oauth-protected-resource/secure`)).json()) as { resource: string };
    expect(metadata.resource).toBe(`${viaLocalhost}/secure`);
  });

  it("binds a legacy SSE session to the identity that opened it", async () => {
    const alice = await issuer.issueAccessToken({ sub: "alice", aud: `${base}/sse` });
    const mallory = await issuer.issueAccessToken({ sub: "mallory", aud: `${base}/sse` });
    const client = new Client({ name: "alice", version: "1" });
    const transport = new SSEClientTransport(new URL(`${base}/sse`), {
      requestInit: { headers: { authorization: `Bearer ${alice}` } },
      eventSourceInit: {
        fetch: async (url, init) => {
          const response = await fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), authorization: `Bearer ${alice}` } });
          return response;
        },
      },
    });
    transport.onmessage = () => {};
    await client.connect(transport);
    const endpoint = (transport as unknown as { _endpoint?: URL })._endpoint?.href ?? "";
    expect(endpoint).toContain("/sse/message?sessionId=");
    const hijack = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${mallory}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "add_note", arguments: { text: "mallory was here" } } }),
    });
    expect(hijack.status).toBe(404);
    const notes = (await client.callTool({ name: "list_notes", arguments: {} })) as { content: Array<{ text: string }> };
    expect(notes.content[0]!.text).toBe("");
    await client.close();
  });
});
