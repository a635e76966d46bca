/**
 * MCP load generator, run in its own process by runChild: opens sessions with `initialize` and sends
 * `tools/call` requests over Streamable HTTP (raw fetch, responses read from their SSE stream).
 */
import { childMain, percentile } from "./common.ts";

export interface McpLoadInput {
  url: string;
  /** Sessions to open; calls go round-robin over them. */
  sessions: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** Seconds of calls (after the sessions are open). */
  duration: number;
}

export interface McpLoadResult {
  sessionsOpened: number;
  openSeconds: number;
  calls: number;
  errors: number;
  rate: number;
  latencyP50: number;
  latencyP99: number;
  sessionIds: string[];
}

const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

async function rpc(url: string, body: unknown, sessionId?: string): Promise<{ text: string; sessionId: string | null; status: number }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...HEADERS, ...(sessionId ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" } : {}) },
    body: JSON.stringify(body),
  });
  return { text: await response.text(), sessionId: response.headers.get("mcp-session-id"), status: response.status };
}

async function open(url: string): Promise<string> {
  const init = await rpc(url, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } },
  });
  if (init.status !== 200 || !init.sessionId) throw new Error(`initialize failed: ${init.status} ${init.text.slice(0, 200)}`);
  await rpc(url, { jsonrpc: "2.0", method: "notifications/initialized" }, init.sessionId);
  return init.sessionId;
}

async function run(input: McpLoadInput): Promise<McpLoadResult> {
  const started = performance.now();
  const sessionIds: string[] = [];
  for (let i = 0; i < input.sessions; i += 50) {
    const batch = Math.min(50, input.sessions - i);
    sessionIds.push(...(await Promise.all(Array.from({ length: batch }, () => open(input.url)))));
  }
  const openSeconds = (performance.now() - started) / 1000;

  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + input.duration * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const n = next++;
      const sessionId = sessionIds[n % sessionIds.length]!;
      const t0 = performance.now();
      const reply = await rpc(input.url, { jsonrpc: "2.0", id: n + 1, method: "tools/call", params: { name: "add", arguments: { a: n, b: 1 } } }, sessionId);
      if (reply.status === 200 && reply.text.includes(`"text":"${n + 1}"`)) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  const callsStart = performance.now();
  await Promise.all(Array.from({ length: input.concurrency }, worker));
  const seconds = (performance.now() - callsStart) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    sessionsOpened: sessionIds.length,
    openSeconds,
    calls: latencies.length,
    errors,
    rate: latencies.length / seconds,
    latencyP50: percentile(latencies, 50),
    latencyP99: percentile(latencies, 99),
    sessionIds,
  };
}

childMain(run);
