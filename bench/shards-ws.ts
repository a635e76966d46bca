/**
 * Threads and WebSockets: `hearth start --threads 1` and `--threads 2` (each a process of its own, data
 * on disk) with `--sockets` clients, each holding a WebSocket to an agent of its own and calling
 * `increment(1)` (setState + INSERT) with a few calls in flight, from a load generator in another
 * process. The kernel gives each connection to either thread; with two, about half the upgrades arrive
 * at the thread that does not hold their agent and are moved to the one that does (decision 0025).
 * Reports calls per second, the server's CPU per call and the ratio 2 threads / 1 thread, rounds in
 * turn, medians. The load generator shares the machine's cores with the server: `--client lean`
 * (lib/ws-load-lean.ts, plain sockets, a few µs per call) leaves the server more of them than `--client
 * ws` (lib/ws-load.ts, the `ws` library); both by default, each with its own ratio and its own CPU per call.
 *
 *   npm run build && npx node bench/shards-ws.ts [--sockets 200] [--inflight 4] [--duration 5] [--rounds 3] [--client lean,ws]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, emit, flag, log, removeDir, runChild, type Row } from "./lib/common.ts";
import { availableParallelism } from "node:os";
import { scalingCeiling, startEntry } from "./lib/do-server.ts";
import type { WsLoadInput, WsLoadResult } from "./lib/ws-load.ts";

const SOCKETS = Number(flag("sockets") ?? 200);
const INFLIGHT = Number(flag("inflight") ?? 4);
const DURATION = Number(flag("duration") ?? 5);
const ROUNDS = Number(flag("rounds") ?? 3);
const THREADS = (flag("threads") ?? "1,2").split(",").map(Number);
const CLIENTS = (flag("client") ?? "lean,ws").split(",") as Client[];
type Client = "lean" | "ws";
const GENERATOR: Record<Client, string> = { lean: "ws-load-lean.ts", ws: "ws-load.ts" };
for (const client of CLIENTS) if (!(client in GENERATOR)) throw new Error(`--client: lean or ws, got ${client}`);

interface Measured {
  rate: number;
  cpuUs: number;
  clientCpuUs: number;
  p99: number;
}

async function measure(threads: number, client: Client): Promise<Measured> {
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
    const result = await runChild<WsLoadResult>(GENERATOR[client], input, (DURATION + 60) * 1000);
    if (result.errors > 0) throw new Error(`--threads ${threads}: ${result.errors} calls failed`);
    if (result.calls === 0) throw new Error(`--threads ${threads}, ${client} client: no call completed`);
    const cpuUs = result.serverCpuSeconds === undefined ? Number.NaN : (result.serverCpuSeconds * 1e6) / result.calls;
    const clientCpuUs = result.clientCpuSeconds === undefined ? Number.NaN : (result.clientCpuSeconds * 1e6) / result.calls;
    log(
      `  ${client} client, --threads ${threads}: ${Math.round(result.rate)} calls/s, ${cpuUs.toFixed(1)} µs server CPU per call, ` +
        `${clientCpuUs.toFixed(1)} µs client CPU per call, p99 ${result.latencyP99.toFixed(1)} ms`,
    );
    // Every reply counted must be a real increment: the agents' counts (warm-up included) cover them.
    const counts = await Promise.all(input.names.map(async (name) => ((await (await fetch(`${server.url}/agents/counter/${name}`)).json()) as { count: number }).count));
    const total = counts.reduce((sum, count) => sum + count, 0);
    if (total < result.calls) throw new Error(`--threads ${threads}, ${client} client: ${result.calls} replies counted, but the agents counted ${total} increments`);
    return { rate: result.rate, cpuUs, clientCpuUs, p99: result.latencyP99 };
  } finally {
    await server.close();
    removeDir(dataDir);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results = new Map<string, Measured[]>();
const key = (client: Client, threads: number) => `${client}/${threads}`;
for (let round = 1; round <= ROUNDS; round++) {
  log(`round ${round}`);
  for (const client of CLIENTS) {
    for (const threads of THREADS) {
      const runs = results.get(key(client, threads)) ?? [];
      runs.push(await measure(threads, client));
      results.set(key(client, threads), runs);
    }
  }
}
const rows: Row[] = [];
for (const client of CLIENTS) {
  for (const threads of THREADS) {
    const runs = results.get(key(client, threads))!;
    rows.push({
      bench: "shards-ws",
      metric: `WebSocket RPC increment(1), ${SOCKETS} clients each with its own agent, ${INFLIGHT} in flight each, ${client} client, --threads ${threads}`,
      value: Math.round(median(runs.map((r) => r.rate))),
      unit: "calls/s",
      note:
        `median of ${runs.length} (${runs.map((r) => Math.round(r.rate)).join(", ")}); server CPU ${median(runs.map((r) => r.cpuUs)).toFixed(1)} µs per call; ` +
        `load generator ${median(runs.map((r) => r.clientCpuUs)).toFixed(1)} µs per call; p99 ${median(runs.map((r) => r.p99)).toFixed(1)} ms`,
    });
  }
  if (THREADS.includes(1) && THREADS.includes(2)) {
    const rate = (threads: number) => median(results.get(key(client, threads))!.map((r) => r.rate));
    rows.push({
      bench: "shards-ws",
      metric: `2 threads / 1 thread, WebSocket RPC over many agents, ${client} client`,
      value: Number((rate(2) / rate(1)).toFixed(2)),
      unit: "×",
      goal: { op: ">=", value: 1.7 },
    });
    const ceiling = (threads: number) =>
      scalingCeiling({
        threads: 2,
        cores: availableParallelism(),
        oneThreadRate: rate(1),
        serverUs: median(results.get(key(client, threads))!.map((r) => r.cpuUs)),
        clientUs: median(results.get(key(client, threads))!.map((r) => r.clientCpuUs)),
      });
    const ideal = ceiling(1);
    const measured = ceiling(2);
    if (ideal !== undefined && measured !== undefined) {
      rows.push({
        bench: "shards-ws",
        metric: `the most 2 threads / 1 thread can be on ${availableParallelism()} cores shared with the ${client} client`,
        value: Number(ideal.toFixed(2)),
        unit: "×",
        note: `cores ÷ (server + load generator CPU per call with 1 thread) ÷ the 1-thread rate: threads that cost nothing extra stop here; at the CPU per call measured with 2 threads, ${measured.toFixed(2)}×`,
      });
    }
  }
}
emit(rows);
