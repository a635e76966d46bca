/**
 * MCP: tool calls per second through Streamable HTTP — to one session, and spread over 1,000
 * sessions (1,000 session agents) — and the memory a session costs, live and hibernated (goal ≈ 0).
 * The load comes from a separate process (bench/lib/mcp-load.ts); the server is this process.
 */
import { z } from "zod";
import { Host, serve } from "../dist/index.js";
import { McpAgent, McpServer } from "../dist/mcp/index.js";
import { emit, flag, log, runChild, withDataDir, type Row } from "./lib/common.ts";
import type { McpLoadInput, McpLoadResult } from "./lib/mcp-load.ts";

const SESSIONS = Number(flag("--sessions") ?? 1_000);
const DURATION = Number(flag("--duration") ?? 5);
const CONCURRENCY = Number(flag("--concurrency") ?? 32);

class Calc extends McpAgent {
  server = new McpServer({ name: "calc", version: "1.0.0" });
  init(): void {
    this.server.registerTool("add", { inputSchema: z.object({ a: z.number(), b: z.number() }) }, async ({ a, b }) => ({
      content: [{ type: "text", text: String(a + b) }],
    }));
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
async function rssKb(): Promise<{ rss: number; heap: number }> {
  // Interleaved with turns of the event loop: WeakRefs (request signals' listeners) clear only between jobs.
  for (let i = 0; i < 4; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss / 1024, heap: usage.heapUsed / 1024 };
}

await withDataDir("mcp", undefined, async (dataDir) => {
  const host = new Host({ dataDir, agents: { Calc }, maxLiveAgents: SESSIONS + 100 });
  const handler = Calc.serve("/mcp");
  const server = await serve({ host, port: 0, fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  const url = `${server.url}/mcp`;
  const rows: Row[] = [];
  try {
    const load = (input: Omit<McpLoadInput, "url">) => runChild<McpLoadResult>("mcp-load.ts", { url, ...input }, 300_000);
    await load({ sessions: 1, concurrency: 4, duration: 1 }); // warm-up
    host.hibernateIdleAgents();

    const one = await load({ sessions: 1, concurrency: CONCURRENCY, duration: DURATION });
    log(`one session: ${one.calls} calls, ${one.errors} errors, ${one.rate.toFixed(0)}/s, p50 ${one.latencyP50.toFixed(2)} ms, p99 ${one.latencyP99.toFixed(2)} ms`);
    rows.push({
      bench: "mcp",
      metric: "tools/call per second, one session",
      value: one.rate,
      unit: "calls/s",
      note: `${CONCURRENCY} in flight, Streamable HTTP (SSE replies); p50 ${one.latencyP50.toFixed(1)} ms, p99 ${one.latencyP99.toFixed(1)} ms; ${one.errors} errors`,
    });
    host.hibernateIdleAgents();

    const before = await rssKb();
    const many = await load({ sessions: SESSIONS, concurrency: CONCURRENCY * 2, duration: DURATION });
    log(`${SESSIONS} sessions opened in ${many.openSeconds.toFixed(1)} s; ${many.rate.toFixed(0)} calls/s, p99 ${many.latencyP99.toFixed(1)} ms, ${many.errors} errors`);
    rows.push({
      bench: "mcp",
      metric: `tools/call per second, across ${SESSIONS.toLocaleString("en-US")} sessions`,
      value: many.rate,
      unit: "calls/s",
      note: `${CONCURRENCY * 2} in flight, round robin over ${SESSIONS} session agents; p50 ${many.latencyP50.toFixed(1)} ms, p99 ${many.latencyP99.toFixed(1)} ms; ${many.errors} errors`,
    });
    rows.push({
      bench: "mcp",
      metric: "sessions opened per second (initialize + initialized)",
      value: SESSIONS / many.openSeconds,
      unit: "sessions/s",
      note: "50 at a time; each creates its agent and its SQLite file",
    });
    const live = await rssKb();
    const liveAgents = host.stats.liveAgents;
    host.hibernateIdleAgents();
    const plateau = await rssKb();
    // As many sessions again, each opened and left to hibernate: what stays per session after that.
    await load({ sessions: SESSIONS, concurrency: 1, duration: 0 });
    const hibernated = host.hibernateIdleAgents();
    const after = await rssKb();
    log(
      `live ${liveAgents}: heap +${(live.heap - before.heap).toFixed(0)} KB, RSS +${(live.rss - before.rss).toFixed(0)} KB; ` +
        `after ${SESSIONS} more sessions hibernated: heap ${(after.heap - plateau.heap).toFixed(0)} KB, RSS ${(after.rss - plateau.rss).toFixed(0)} KB`,
    );
    rows.push({
      bench: "mcp",
      metric: "memory per idle live session",
      value: (live.heap - before.heap) / liveAgents,
      unit: "KB heap",
      note: `RSS ${((live.rss - before.rss) / liveAgents).toFixed(1)} KB per session (${liveAgents} live session agents: transport, McpServer, open SQLite file)`,
    });
    rows.push({
      bench: "mcp",
      metric: "memory per hibernated session",
      value: Math.max(0, after.heap - plateau.heap) / SESSIONS,
      unit: "KB heap",
      goal: { op: "<=", value: 1 },
      note: `${SESSIONS} more sessions opened, then hibernated (${hibernated}); RSS ${((after.rss - plateau.rss) / SESSIONS).toFixed(2)} KB per session`,
    });
  } finally {
    await server.close();
    await host.close();
  }
  emit(rows);
});
