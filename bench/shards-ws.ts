/**
 * Threads and WebSockets: `hearth start --threads 1` and `--threads 2` (each a process of its own, data
 * on disk) with `--sockets` clients, each holding a WebSocket to an agent of its own and calling
 * `increment(1)` (setState + INSERT) with a few calls in flight, from a load generator in another
 * process. The kernel gives each connection to either thread; with two, about half the upgrades arrive
 * at the thread that does not hold their agent and are moved to the one that does (decision 0025).
 * Reports calls per second, the server's CPU per call and the ratio 2 threads / 1 thread, rounds in
 * turn, medians. The load generator shares the machine's cores with the server.
 *
 *   npm run build && npx node bench/shards-ws.ts [--sockets 200] [--inflight 4] [--duration 5] [--rounds 3]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, emit, flag, log, removeDir, runChild, type Row } from "./lib/common.ts";
import { startEntry } from "./lib/do-server.ts";
import type { WsLoadInput, WsLoadResult } from "./lib/ws-load.ts";

const SOCKETS = Number(flag("sockets") ?? 200);
const INFLIGHT = Number(flag("inflight") ?? 4);
const DURATION = Number(flag("duration") ?? 5);
const ROUNDS = Number(flag("rounds") ?? 3);
const THREADS = (flag("threads") ?? "1,2").split(",").map(Number);

interface Measured {
  rate: number;
  cpuUs: number;
  p99: number;
}

async function measure(threads: number): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), `hearth-shards-ws-${threads}-`));
  const server = await startEntry(join(BENCH_DIR, "lib", "shard-app.ts"), threads, dataDir, "/agents/counter/warm");
  try {
    const input: WsLoadInput = {
      baseUrl: `${server.url.replace(/^http/, "ws")}/agents/counter/`,
      names: Array.from({ length: SOCKETS }, (_, i) => `user-${i}`),
      sockets: SOCKETS,
      inflight: INFLIGHT,
      method: "increment",
      args: [1],
      warmup: 2,
      duration: DURATION,
      connectConcurrency: 16,
      serverPid: server.pid,
    };
    const result = await runChild<WsLoadResult>("ws-load.ts", input, (DURATION + 60) * 1000);
    if (result.errors > 0) throw new Error(`--threads ${threads}: ${result.errors} calls failed`);
    const cpuUs = result.serverCpuSeconds === undefined ? Number.NaN : (result.serverCpuSeconds * 1e6) / result.calls;
    log(`  --threads ${threads}: ${Math.round(result.rate)} calls/s, ${cpuUs.toFixed(1)} µs server CPU per call, p99 ${result.latencyP99.toFixed(1)} ms`);
    return { rate: result.rate, cpuUs, p99: result.latencyP99 };
  } finally {
    await server.close();
    removeDir(dataDir);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results = new Map<number, Measured[]>(THREADS.map((threads) => [threads, []]));
for (let round = 1; round <= ROUNDS; round++) {
  log(`round ${round}`);
  for (const threads of THREADS) results.get(threads)!.push(await measure(threads));
}
const rows: Row[] = [];
for (const [threads, runs] of results) {
  rows.push({
    bench: "shards-ws",
    metric: `WebSocket RPC increment(1), ${SOCKETS} clients each with its own agent, ${INFLIGHT} in flight each, --threads ${threads}`,
    value: Math.round(median(runs.map((r) => r.rate))),
    unit: "calls/s",
    note: `median of ${runs.length} (${runs.map((r) => Math.round(r.rate)).join(", ")}); server CPU ${median(runs.map((r) => r.cpuUs)).toFixed(1)} µs per call; p99 ${median(runs.map((r) => r.p99)).toFixed(1)} ms`,
  });
}
if (THREADS.includes(1) && THREADS.includes(2)) {
  const ratio = median(results.get(2)!.map((r) => r.rate)) / median(results.get(1)!.map((r) => r.rate));
  rows.push({ bench: "shards-ws", metric: "2 threads / 1 thread, WebSocket RPC over many agents", value: Number(ratio.toFixed(2)), unit: "×", goal: { op: ">=", value: 1.7 } });
}
emit(rows);
