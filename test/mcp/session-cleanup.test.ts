// Session agents that can never be used again are removed with their storage: one whose init()
// failed while it opened, and a legacy SSE session whose stream a restart cut off.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, expect, it, vi } from "vitest";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { MCP_SSE_SESSION_CHECK_MS } from "../../src/mcp/server/mcp-agent.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Notes } from "./fixtures/notes.ts";

let initFails = false;

/** An MCP server whose configuration can be unavailable: its init() throws then. */
export class Flaky extends McpAgent {
  server = new McpServer({ name: "flaky", version: "1.0.0" });
  init(): void {
    if (initFails) throw new Error("upstream configuration unavailable");
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  initFails = false;
  await t?.close();
  t = undefined;
});

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

/** The SQLite files of the agents of one class. */
function databasesOf(t: TestEnv, slug: string): string[] {
  const dir = join(t.dataDir, "agents", slug);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".sqlite"));
}

/** Opens a legacy SSE session and returns its agent's name once the stream names its message endpoint. */
async function openSseSession(url: string, signal: AbortSignal): Promise<string> {
  const stream = await fetch(url, { headers: { accept: "text/event-stream" }, signal });
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  while (!/sessionId=[^\s&]+/.test(seen)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`The SSE stream ended before its endpoint event: ${JSON.stringify(seen)}`);
    seen += decoder.decode(value, { stream: true });
  }
  return `sse:${decodeURIComponent(seen.match(/sessionId=([^\s&]+)/)![1]!)}`;
}

it("leaves no agent behind when init() fails while a session opens, on either transport", async () => {
  const streamable = Flaky.serve("/mcp", { maxSessions: 2 });
  const sse = Flaky.serveSSE("/sse", { maxSessions: 2 });
  t = await createTestEnv({
    agents: { Flaky },
    fetch: (request, env, ctx) => (new URL(request.url).pathname.startsWith("/sse") ? sse : streamable).fetch(request, env, ctx),
  });
  const url = await t.url();
  const logged: string[] = [];
  const log = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
  try {
    initFails = true;
    for (let i = 0; i < 4; i++) {
      const opened = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: INITIALIZE });
      expect(opened.status).toBe(500);
      await opened.text();
      const stream = await fetch(`${url}/sse`, { headers: { accept: "text/event-stream" } });
      expect(stream.status).toBe(500);
      await stream.text();
    }
    await expect.poll(() => databasesOf(t!, "flaky")).toEqual([]);
  } finally {
    log.mockRestore();
  }
  expect(logged.filter((line) => line.includes("upstream configuration unavailable"))).toHaveLength(8);
  initFails = false;
  const opened = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: INITIALIZE });
  expect(opened.status).toBe(200);
  await opened.text();
});

it("removes a legacy SSE session whose stream a restart ended, and keeps one whose stream is open", async () => {
  const sse = Notes.serveSSE("/sse");
  t = await createTestEnv({ agents: { Notes }, fetch: (request, env, ctx) => sse.fetch(request, env, ctx) });
  const env = () => t!.env as { Notes: { exists(name: string): boolean } };

  const cutOff = new AbortController();
  const lost = await openSseSession(`${await t.url()}/sse`, cutOff.signal);
  expect(env().Notes.exists(lost)).toBe(true);
  await t.restart();
  cutOff.abort();
  expect(env().Notes.exists(lost)).toBe(true);
  // Found gone at the session's next check.
  await t.clock.advance(MCP_SSE_SESSION_CHECK_MS);
  expect(env().Notes.exists(lost)).toBe(false);

  // An open stream is the session in use: it outlives every check.
  const open = new AbortController();
  const live = await openSseSession(`${await t.url()}/sse`, open.signal);
  await t.clock.advance(3 * MCP_SSE_SESSION_CHECK_MS);
  expect(env().Notes.exists(live)).toBe(true);
  const ping = await fetch(`${await t.url()}/sse/message?sessionId=${encodeURIComponent(live.slice("sse:".length))}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  expect(ping.status).toBe(202);
  open.abort();
  await expect.poll(() => env().Notes.exists(live)).toBe(false);
});
