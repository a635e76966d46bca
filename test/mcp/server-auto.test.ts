// serve(path, { transport: "auto" }): one path for both transports, told apart as Cloudflare does —
// a GET without Mcp-Session-Id opens a legacy SSE stream whose messages are POSTed to path/message;
// POST, DELETE and a GET with Mcp-Session-Id are Streamable HTTP.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { Desk } from "./fixtures/desk.ts";
import { sseClient, startDesk, streamableClient, textOf } from "./fixtures/desk-host.ts";

const handler = Desk.serve("/mcp", { transport: "auto", keepAliveInterval: 20 });
let harness: Harness;
beforeAll(async () => {
  harness = await startDesk(handler);
});
afterAll(() => harness.close());

describe("serve({ transport: \"auto\" })", () => {
  it("says what it serves", () => {
    expect(handler.endpoint).toEqual({ path: "/mcp", transport: "auto" });
  });

  it("serves a legacy SSE client on the path (stream on GET, messages on path/message)", async () => {
    const opened = await fetch(`${harness.url}/mcp`, { headers: { accept: "text/event-stream" } });
    expect(opened.headers.get("content-type")).toBe("text/event-stream");
    const reader = opened.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^event: endpoint\ndata: \/mcp\/message\?sessionId=[\w-]+\n\n/);
    await reader.cancel();

    const { client } = await sseClient(`${harness.url}/mcp`, { user: "sse-user" });
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "sse-user" });
    await client.close();
  });

  it("serves a Streamable HTTP client on the same path, its standalone stream and DELETE included", async () => {
    const { client, transport } = await streamableClient(`${harness.url}/mcp`, { user: "http-user" });
    const sessionId = transport.sessionId!;
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "http-user" });

    // A GET naming a session is Streamable HTTP (the session's standalone stream), not a new SSE stream.
    const unknown = await fetch(`${harness.url}/mcp`, { headers: { accept: "text/event-stream", "mcp-session-id": "not-a-session" } });
    expect(unknown.status).toBe(404);
    await unknown.text();
    const raw = await fetch(`${harness.url}/mcp`, {
      method: "POST",
      headers: { accept: "application/json, text/event-stream", "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }),
    });
    const rawSession = raw.headers.get("mcp-session-id")!;
    await raw.text();
    const hangUp = new AbortController();
    const standalone = await fetch(`${harness.url}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": rawSession, "mcp-protocol-version": "2025-11-25" },
      signal: hangUp.signal,
    });
    expect(standalone.status).toBe(200);
    expect(standalone.headers.get("mcp-session-id")).toBe(rawSession);
    hangUp.abort();

    await transport.terminateSession();
    const agents = harness.host.env.Desk as { exists(name: string): boolean };
    await expect.poll(() => agents.exists(`streamable-http:${sessionId}`)).toBe(false);
    await client.close();
  });

  it("refuses an unknown transport when the handler is made", () => {
    expect(() => Desk.serve("/mcp", { transport: "websocket" as never })).toThrow(/expected "streamable-http", "sse" or "auto"/);
  });

  it("refuses other methods", async () => {
    const response = await fetch(`${harness.url}/mcp`, { method: "PUT", body: "{}" });
    expect(response.status).toBe(405);
  });
});
