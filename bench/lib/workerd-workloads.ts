/**
 * The workloads of bench/workerd-compare.ts, each run on one runtime with a fresh data directory on
 * disk and the server in its own process. Every one checks the agent's state against its stored rows
 * afterwards, so a runtime that answers without storing is caught.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { percentile, runChild, sleep, withDataDir, type Wrk } from "./common.ts";
import { usageOf, type ServerProcess } from "./do-server.ts";
import type { HttpLoadInput, HttpLoadResult } from "./http-load.ts";
import { SDK_AGENT_PATH } from "./sdk-agent-projects.ts";
import { startRuntime, type Runtime } from "./workerd-runtimes.ts";
import { sequentialClient } from "./workerd-requests.ts";
import type { Workerd } from "./workerd.ts";
import type { WsLoadInput, WsLoadResult } from "./ws-load.ts";

/** A figure on one runtime, with what a reader needs to trust it; `extra` is a second figure of the same run. */
export interface Measured {
  value: number;
  note: string;
  /** Server CPU (user + system, the whole process) per operation over the measurement, µs. */
  cpuUs?: number;
  extra?: Measured;
}

/** The HTTP load generator: wrk where installed, autocannon otherwise. */
export type LoadTool = { name: "wrk"; binary: string; label: string } | { name: "autocannon"; label: string };

/** One-agent HTTP connections (wrk -c). */
export const CONNECTIONS = 32;
/** New-agent connections, as bench/new-agents.ts. */
const NEW_AGENT_CONNECTIONS = 16;
const WARMUP_SECONDS = 1;
const RESTART_SETTLE_MS = 1_000;

export function loadTool(wrk: Wrk | { missing: string }): LoadTool {
  return "binary" in wrk ? { name: "wrk", binary: wrk.binary, label: `wrk -t1 -c${CONNECTIONS}` } : { name: "autocannon", label: `autocannon -c${CONNECTIONS}` };
}

/** What every workload needs to start a runtime. */
export interface WorkloadContext {
  compatibilityDate: string;
  workerd: Workerd | undefined;
  tool: LoadTool;
  /** Seconds of each measurement. */
  duration: number;
}

/** POSTs `{}` to `url` for `seconds` from a child process (every request to a new name with `distinctPrefix`). */
export function httpLoad(tool: LoadTool, url: string, seconds: number, distinctPrefix?: string, connections = CONNECTIONS): Promise<HttpLoadResult> {
  const input: HttpLoadInput = { url, method: "POST", body: "{}", connections, pipelining: 1, duration: seconds, distinctPrefix };
  const withTool: HttpLoadInput = tool.name === "wrk" ? { ...input, tool: "wrk", wrkBinary: tool.binary, threads: 1 } : input;
  return runChild<HttpLoadResult>("http-load.ts", withTool, (seconds + 30) * 1000);
}

async function withRuntime<T>(runtime: Runtime, context: WorkloadContext, label: string, fn: (server: ServerProcess, dir: string) => Promise<T>): Promise<T> {
  return withDataDir(`vs-workerd-${label}`, undefined, async (dir) => {
    const server = await startRuntime({ runtime, dir, compatibilityDate: context.compatibilityDate, workerd: context.workerd });
    try {
      return await fn(server, dir);
    } finally {
      await server.close();
    }
  });
}

/** GET of an agent: its state's count and its stored rows. */
async function totals(url: string): Promise<{ count: number; rows: number }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { count: number; rows: number };
}

/** POST to `url`, then GET it: the totals of an agent after one write. */
async function postThenTotals(url: string): Promise<{ count: number; rows: number }> {
  const response = await fetch(url, { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  await response.arrayBuffer();
  return totals(url);
}

function consistency({ count, rows }: { count: number; rows: number }): string {
  return count === rows ? `state.count = rows = ${count}` : `INCONSISTENT: state.count ${count} ≠ rows ${rows}`;
}

/**
 * SQLite files of agents under a runtime's data dir: Hearth keeps them under `agents/`; workerd keeps
 * one per object beside its namespace's `metadata.sqlite`.
 */
function agentFiles(runtime: Runtime, dataDir: string): number {
  const root = runtime === "workerd" ? dataDir : join(dataDir, "agents");
  try {
    return readdirSync(root, { recursive: true, encoding: "utf8" }).filter((path) => path.endsWith(".sqlite") && !path.endsWith("metadata.sqlite")).length;
  } catch {
    return 0;
  }
}

/** Server CPU per operation over a measurement, µs (the whole server process, from /proc). */
function cpuPerOp(before: ReturnType<typeof usageOf>, after: ReturnType<typeof usageOf>, operations: number): number | undefined {
  if (!before || !after || operations === 0) return undefined;
  return ((after.cpuSeconds - before.cpuSeconds) / operations) * 1e6;
}

function cpuNote(cpuUs: number | undefined, operation = "request"): string {
  return cpuUs === undefined ? "" : `; server CPU ${cpuUs.toFixed(0)} µs per ${operation}`;
}

function latencyNote(result: HttpLoadResult): string {
  const errors = result.non2xx + result.errors + result.timeouts;
  return `latency p50 ${result.latencyP50.toFixed(2)} ms / p99 ${result.latencyP99.toFixed(2)} ms; ${errors === 0 ? "0 errors" : `${errors} errors or non-2xx`}`;
}

/** (a) One agent, POST → setState + INSERT under the load tool. */
export function oneAgentHttp(runtime: Runtime, context: WorkloadContext): Promise<Measured> {
  return withRuntime(runtime, context, "http", async (server) => {
    const url = `${server.url}${SDK_AGENT_PATH}hot`;
    await httpLoad(context.tool, url, WARMUP_SECONDS);
    const before = usageOf(server.pid);
    const result = await httpLoad(context.tool, url, context.duration);
    const after = usageOf(server.pid);
    const check = await totals(url);
    const cpuUs = cpuPerOp(before, after, result.ok);
    return { value: result.rate, cpuUs, note: `${latencyNote(result)}${cpuNote(cpuUs)}; ${consistency(check)}` };
  });
}

/** (b) Every POST to a never-seen name; a second of it first, to warm the code paths. */
export function newAgents(runtime: Runtime, context: WorkloadContext): Promise<Measured> {
  return withRuntime(runtime, context, "new", async (server, dir) => {
    const base = `${server.url}${SDK_AGENT_PATH}`;
    const warm = await httpLoad(context.tool, base, WARMUP_SECONDS, "warm", NEW_AGENT_CONNECTIONS);
    const before = usageOf(server.pid);
    const result = await httpLoad(context.tool, base, context.duration, "fresh", NEW_AGENT_CONNECTIONS);
    const after = usageOf(server.pid);
    const probe = await postThenTotals(`${base}probe-after-load`);
    const files = agentFiles(runtime, join(dir, "data"));
    const stored = `${files} agent files on disk for ${warm.ok + result.ok + 1} answered creations (requests still in flight at the end add files); a new agent after the load answers ${consistency(probe)}`;
    const cpuUs = cpuPerOp(before, after, result.ok);
    return { value: result.rate, cpuUs, note: `${result.ok} agents; ${latencyNote(result)}${cpuNote(cpuUs, "new agent")}; ${stored}` };
  });
}

function wsInput(server: ServerProcess, method: string, args: unknown[], sockets: number, inflight: number, duration: number): WsLoadInput {
  return {
    baseUrl: `${server.url.replace(/^http/, "ws")}${SDK_AGENT_PATH}`,
    names: ["hot"],
    sockets,
    inflight,
    method,
    args,
    warmup: WARMUP_SECONDS,
    duration,
    connectConcurrency: 50,
    serverPid: server.pid,
  };
}

function wsCpu(result: WsLoadResult): number | undefined {
  return result.serverCpuSeconds === undefined || result.calls === 0 ? undefined : (result.serverCpuSeconds / result.calls) * 1e6;
}

function wsNote(result: WsLoadResult): string {
  return (
    `latency p50 ${result.latencyP50.toFixed(2)} ms / p99 ${result.latencyP99.toFixed(2)} ms; ${result.errors} errors; ` +
    `${result.otherFrames} other frames${cpuNote(wsCpu(result), "call")}`
  );
}

/** (c) RPC round trips to one agent: ping() on 4 sockets × 64 in flight, then increment(1) on 1 × 256 (in `extra`). */
export function wsRpc(runtime: Runtime, context: WorkloadContext): Promise<Measured> {
  return withRuntime(runtime, context, "ws", async (server) => {
    const timeout = (context.duration + 60) * 1000;
    const ping = await runChild<WsLoadResult>("ws-load.ts", wsInput(server, "ping", [], 4, 64, context.duration), timeout);
    const increment = await runChild<WsLoadResult>("ws-load.ts", wsInput(server, "increment", [1], 1, 256, context.duration), timeout);
    const check = await totals(`${server.url}${SDK_AGENT_PATH}hot`);
    return {
      value: ping.rate,
      cpuUs: wsCpu(ping),
      note: wsNote(ping),
      extra: { value: increment.rate, cpuUs: wsCpu(increment), note: `${wsNote(increment)}; ${consistency(check)}` },
    };
  });
}

/**
 * (d) `agents` agents get one POST each; the server is stopped and started again on the same data and
 * left alone for a second; a warm-up agent is called; then each agent gets one GET, one at a time on
 * one keep-alive connection.
 * p50 in `value`, p99 in `extra`; a second pass over the same (now loaded) agents is in the note.
 */
export function wake(runtime: Runtime, context: WorkloadContext, agents: number): Promise<Measured> {
  return withDataDir("vs-workerd-wake", undefined, async (dir) => {
    const setup = { runtime, dir, compatibilityDate: context.compatibilityDate, workerd: context.workerd };
    const names = ["warm-up", ...Array.from({ length: agents }, (_, i) => `sleeper-${i}`)];
    const first = await startRuntime(setup);
    const creating = sequentialClient();
    try {
      for (const name of names) {
        const { status, body } = await creating.send("POST", `${first.url}${SDK_AGENT_PATH}${name}`, "{}");
        if (status !== 200) throw new Error(`POST ${name}: ${status} ${body}`);
      }
    } finally {
      creating.close();
      await first.close();
    }
    const server = await startRuntime(setup);
    // Work a runtime does right after it starts (indexes, catalogues) is not the wake being measured.
    await sleep(RESTART_SETTLE_MS);
    const client = sequentialClient();
    try {
      const cold: number[] = [];
      const warm: number[] = [];
      let wrong = 0;
      const cpu: number[] = [];
      for (const pass of [cold, warm]) {
        const before = usageOf(server.pid);
        for (const name of names) {
          const { status, body, ms } = await client.send("GET", `${server.url}${SDK_AGENT_PATH}${name}`);
          const { count, rows } = JSON.parse(body) as { count: number; rows: number };
          if (status !== 200 || count !== 1 || rows !== 1) wrong++;
          if (name !== "warm-up") pass.push(ms);
        }
        cpu.push(cpuPerOp(before, usageOf(server.pid), names.length) ?? Number.NaN);
      }
      cold.sort((a, b) => a - b);
      warm.sort((a, b) => a - b);
      const note =
        `${agents} agents; mean ${(cold.reduce((sum, ms) => sum + ms, 0) / cold.length).toFixed(2)} ms${cpuNote(cpu[0], "wake")}; ` +
        `the same GET to the same agents once loaded: p50 ${percentile(warm, 50).toFixed(2)} ms${cpuNote(cpu[1])}; ` +
        (wrong === 0 ? "every agent answered count 1 and 1 row" : `${wrong} answers were not count 1 and 1 row`);
      const cpuUs = Number.isFinite(cpu[0]) ? cpu[0] : undefined;
      return { value: percentile(cold, 50), cpuUs, note, extra: { value: percentile(cold, 99), cpuUs, note } };
    } finally {
      client.close();
      await server.close();
    }
  });
}
