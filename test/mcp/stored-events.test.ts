// The events a Streamable HTTP session keeps for resuming (Last-Event-ID) stay within their bounds —
// MAX_STORED_EVENTS events and MAX_STORED_EVENT_BYTES bytes — however often its agent hibernates.
import { afterEach, expect, it } from "vitest";
import { z } from "zod";
import { MAX_STORED_EVENTS, McpAgent, McpServer } from "../../src/mcp/index.ts";
import { MAX_STORED_EVENT_BYTES } from "../../src/mcp/server/event-store.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

/** Tools that send many events, or large ones; `eventsKept()` reads what the session stored. */
export class Chatter extends McpAgent {
  server = new McpServer({ name: "chatter", version: "1.0.0" });

  init(): void {
    this.server.registerTool("chatter", { inputSchema: z.object({ count: z.number() }) }, async ({ count }, ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken;
      for (let progress = 1; progress <= count && progressToken !== undefined; progress++) {
        await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress, total: count } });
      }
      return text(`sent ${count}`);
    });
    this.server.registerTool("big", { inputSchema: z.object({ bytes: z.number() }) }, async ({ bytes }) => text("x".repeat(bytes)));
  }

  /** How many events are kept, their bytes, and the JSON-RPC id of the newest. */
  eventsKept(): { count: number; bytes: number; newest: unknown } {
    const [kept] = this.sql<{ count: number; bytes: number }>`
      SELECT count(*) AS count, coalesce(sum(length(CAST(message AS BLOB))), 0) AS bytes FROM hearth_mcp_events`;
    const [newest] = this.sql<{ id: unknown }>`SELECT json_extract(message, '$.id') AS id FROM hearth_mcp_events ORDER BY id DESC LIMIT 1`;
    return { ...kept!, newest: newest?.id ?? null };
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const VERSION = "2025-11-25";

/** A session on `url`, and a way to POST to it (the answer read whole). */
async function openSession(url: string) {
  const opened = await fetch(url, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: "t", version: "1" } } }),
  });
  await opened.text();
  const sessionId = opened.headers.get("mcp-session-id")!;
  const post = async (message: object) => {
    const response = await fetch(url, { method: "POST", headers: { ...HEADERS, "mcp-session-id": sessionId, "mcp-protocol-version": VERSION }, body: JSON.stringify(message) });
    expect(response.ok).toBe(true);
    return response.text();
  };
  await post({ jsonrpc: "2.0", method: "notifications/initialized" });
  return { name: `streamable-http:${sessionId}`, post };
}

async function start(): Promise<string> {
  const handler = Chatter.serve("/mcp");
  t = await createTestEnv({ agents: { Chatter }, fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  return `${await t.url()}/mcp`;
}

const hibernated = () => expect.poll(() => (t!.hibernate(), t!.host.stats.liveAgents)).toBe(0);

it("keeps at most MAX_STORED_EVENTS events when the session hibernates between requests", async () => {
  const session = await openSession(await start());
  // Fewer than a hundred events per wake, more than MAX_STORED_EVENTS in all.
  const rounds = Math.ceil(MAX_STORED_EVENTS / 90) + 1;
  for (let id = 1; id <= rounds; id++) {
    const answer = await session.post({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "chatter", arguments: { count: 90 }, _meta: { progressToken: id } } });
    expect(answer).toContain("sent 90");
    await hibernated();
  }
  const kept = await t!.get<Chatter>("Chatter", session.name).eventsKept();
  expect(kept.count).toBe(MAX_STORED_EVENTS);
});

it("keeps at most MAX_STORED_EVENT_BYTES bytes of events, the newest kept", async () => {
  const session = await openSession(await start());
  const size = Math.ceil(MAX_STORED_EVENT_BYTES / 5);
  for (let id = 1; id <= 7; id++) {
    expect(await session.post({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "big", arguments: { bytes: size } } })).toContain("xxxx");
    if (id % 2 === 0) await hibernated();
  }
  const kept = await t!.get<Chatter>("Chatter", session.name).eventsKept();
  expect(kept.bytes).toBeLessThanOrEqual(MAX_STORED_EVENT_BYTES);
  expect(kept.bytes).toBeGreaterThan(size);
  expect(kept.newest).toBe(7);
});
