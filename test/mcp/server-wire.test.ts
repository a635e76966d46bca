// What clients see on the wire, aligned with Cloudflare's McpAgent: DELETE answers 204, CORS
// preflights 200, SSE event ids name their stream, long tool calls get `: keepalive` comments;
// and where Hearth differs on purpose (the legacy 202's content type).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MCP_SSE_KEEPALIVE_MS } from "../../src/mcp/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { Desk, Gate, gates } from "./fixtures/desk.ts";

const JSON_AND_SSE = { accept: "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-11-25" };

let harness: Harness;
beforeAll(async () => {
  const streamable = Desk.serve("/mcp", { keepAliveInterval: 20 });
  const open = Desk.serve("/open", { cors: true });
  const sse = Desk.serveSSE("/sse");
  harness = await startHarness(
    { Desk },
    {
      fetch: (request, env, ctx) => {
        const path = new URL(request.url).pathname;
        return (path.startsWith("/sse") ? sse : path.startsWith("/open") ? open : streamable).fetch(request, env, ctx);
      },
    },
  );
});
afterAll(() => harness.close());

async function openSession(path = "/mcp"): Promise<string> {
  const response = await fetch(`${harness.url}${path}`, {
    method: "POST",
    headers: JSON_AND_SSE,
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "wire", version: "1" } } }),
  });
  await response.text();
  const sessionId = response.headers.get("mcp-session-id")!;
  await (await post(path, sessionId, { jsonrpc: "2.0", method: "notifications/initialized" })).text();
  return sessionId;
}

function post(path: string, sessionId: string, body: unknown): Promise<Response> {
  return fetch(`${harness.url}${path}`, { method: "POST", headers: { ...JSON_AND_SSE, "mcp-session-id": sessionId }, body: JSON.stringify(body) });
}

/** Reads a stream as text: `until(pattern)` waits for it, and fails with what came if the stream ends first. */
function textReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  return {
    async until(pattern: RegExp | string): Promise<string> {
      const found = () => (typeof pattern === "string" ? seen.includes(pattern) : pattern.test(seen));
      while (!found()) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`The stream ended before ${String(pattern)}; it sent: ${JSON.stringify(seen)}`);
        seen += decoder.decode(value, { stream: true });
      }
      return seen;
    },
    cancel: () => reader.cancel(),
  };
}

/** Reads a stream until `pattern` appears (failing if it ends first), then stops reading. */
async function readUntil(body: ReadableStream<Uint8Array>, pattern: RegExp): Promise<string> {
  const text = textReader(body);
  try {
    return await text.until(pattern);
  } finally {
    await text.cancel();
  }
}

describe("the MCP endpoint on the wire", () => {
  it("answers DELETE of a session with 204 No Content", async () => {
    const sessionId = await openSession();
    const deleted = await fetch(`${harness.url}/mcp`, { method: "DELETE", headers: { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe("");
    const after = await post("/mcp", sessionId, { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(after.status).toBe(404);
  });

  it("answers CORS preflights with 200", async () => {
    const open = await fetch(`${harness.url}/open`, { method: "OPTIONS", headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" } });
    expect(open.status).toBe(200);
    expect(open.headers.get("access-control-allow-origin")).toBe("*");
    expect(open.headers.get("access-control-allow-methods")).toContain("DELETE");
    const closed = await fetch(`${harness.url}/mcp`, { method: "OPTIONS" });
    expect(closed.status).toBe(200);
    expect(closed.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("names each SSE event by its stream and position (<stream id>:<16 hex digits>)", async () => {
    const sessionId = await openSession();
    const call = await post("/mcp", sessionId, { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "whoami", arguments: {} } });
    const events = await readUntil(call.body!, /"id":3/);
    const ids = [...events.matchAll(/^id: (.+)$/gm)].map((match) => match[1]!);
    expect(ids.length).toBeGreaterThanOrEqual(2); // the priming event, then the answer
    for (const id of ids) expect(id).toMatch(/^[\w-]+:[0-9a-f]{16}$/);
    expect(new Set(ids.map((id) => id.slice(0, id.lastIndexOf(":")))).size).toBe(1);

    // A resume from an id of a stream nothing is kept of is refused rather than left hanging.
    const unknown = await fetch(`${harness.url}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25", "last-event-id": "no-such-stream:0000000000000001" },
    });
    expect(unknown.status).toBe(400);
    await unknown.text();
  });

  it("sends `: keepalive` comments on the response stream of a tool call that takes its time", async () => {
    expect(MCP_SSE_KEEPALIVE_MS).toBe(25_000); // Cloudflare's interval; this endpoint sets 20 ms
    const gate = new Gate();
    gates.set("slow", gate);
    const sessionId = await openSession();
    const call = await post("/mcp", sessionId, { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "wait", arguments: { gate: "slow" } } });
    const text = textReader(call.body!);
    try {
      await text.until(": keepalive\n\n");
      gate.release();
      const seen = await text.until("released slow");
      expect(seen.indexOf(": keepalive")).toBeLessThan(seen.indexOf("released slow"));
    } finally {
      gate.release();
      await text.cancel();
    }
  });

  it("acknowledges a legacy SSE message with 202 Accepted as plain text (deliberately not text/event-stream)", async () => {
    const hangUp = new AbortController();
    const stream = await fetch(`${harness.url}/sse`, { headers: { accept: "text/event-stream" }, signal: hangUp.signal });
    // The stream stays open (it is the session) while the message is posted.
    const endpoint = (await textReader(stream.body!).until(/data: \S+\n/)).match(/data: (\S+)/)![1]!;
    const accepted = await fetch(new URL(endpoint, harness.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get("content-type")).toBe("text/plain;charset=UTF-8");
    expect(await accepted.text()).toBe("Accepted");
    hangUp.abort();
  });
});
