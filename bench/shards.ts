/**
 * Threads: the same HTTP workload served by `hearth start --threads 1` and `--threads 2` (each a
 * process of its own, data on disk), loaded by wrk in a third process: POSTs (setState + INSERT) spread
 * at random over 1,000 agents, and the same POST to one agent. Then the POST over 200 keep-alive
 * connections each keeping to an agent of its own (a user's browser and its agent), loaded by
 * lib/http-load-lean.ts (wrk cannot tie a connection to an agent); and new agents on disk, each POST to
 * a name never used (wrk -c16). Reports requests per second, the
 * server's CPU per request, the ratio 2 threads / 1 thread — and that the load generator shares the
 * machine's cores with the server.
 *
 *   npm run build && npx node bench/shards.ts [--duration 5] [--agents 1000] [--threads 1,2] [--rounds 3]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, emit, findWrk, flag, log, removeDir, runChild, type Row } from "./lib/common.ts";
import { exitedChildrenCpuSeconds, scalingCeiling, startEntry, usageOf } from "./lib/do-server.ts";
import type { HttpLeanInput, HttpLeanResult } from "./lib/http-load-lean.ts";

const DURATION = Number(flag("duration") ?? 5);
const AGENTS = Number(flag("agents") ?? 1_000);
const THREADS = (flag("threads") ?? "1,2").split(",").map(Number);
const CONNECTIONS = 64;
/** Connections of the workload where each keeps to its own agent (one of the first agents each). */
const STICKY = 200;
/** Connections of the new-agents workload (each request a name never used: its agent is created). */
const FRESH_CONNECTIONS = 16;
/** Rounds, each running every thread count once in turn: this VM's rates vary by ±30 % run to run, so the medians are reported. */
const ROUNDS = Number(flag("rounds") ?? 3);

interface Served {
  url: string;
  pid: number;
  close(): Promise<void>;
}

function startServer(threads: number, dataDir: string): Promise<Served> {
  return startEntry(join(BENCH_DIR, "lib", "shard-app.ts"), threads, dataDir, "/agents/counter/warm");
}

interface Load {
  requests: number;
  seconds: number;
  errors: number;
  p99ms: number;
  /** The load generator's CPU (seconds) over the run, when known. */
  clientCpuSeconds?: number;
}

/**
 * wrk POSTing to `/agents/counter/<name>`: one name, one of `agents` names at random per request, or
 * (`{ fresh }`) a name never used before per request, each creating an agent.
 */
async function wrk(binary: string, url: string, agents: number | undefined | { fresh: string }, seconds: number, connections = CONNECTIONS): Promise<Load> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-shards-wrk-"));
  try {
    const script = join(dir, "load.lua");
    writeFileSync(
      script,
      [
        'wrk.method = "POST"',
        'wrk.body = "{}"',
        'wrk.headers["Content-Type"] = "application/json"',
        agents === undefined
          ? 'function request() return wrk.format(nil, "/agents/counter/solo") end'
          : typeof agents === "object"
            ? `local n = 0\nfunction request() n = n + 1; return wrk.format(nil, "/agents/counter/${agents.fresh}" .. n) end`
            : `function request() return wrk.format(nil, "/agents/counter/a" .. math.random(${agents})) end`,
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format(\'\\n{"requests":%d,"duration":%d,"errors":%d,"p99":%d}\\n\', summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(99)))',
        "end",
      ].join("\n"),
    );
    const clientBefore = exitedChildrenCpuSeconds();
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(binary, ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", script, url], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.on("error", reject);
      child.on("close", () => resolve(out));
    });
    const line = output.split("\n").find((text) => text.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${output}`);
    const summary = JSON.parse(line) as { requests: number; duration: number; errors: number; p99: number };
    const clientAfter = exitedChildrenCpuSeconds();
    const clientCpuSeconds = clientBefore === undefined || clientAfter === undefined ? undefined : clientAfter - clientBefore;
    return { requests: summary.requests, seconds: summary.duration / 1e6, errors: summary.errors, p99ms: summary.p99 / 1000, clientCpuSeconds };
  } finally {
    removeDir(dir);
  }
}

/** Each of {@link STICKY} connections POSTing to an agent of its own, one request in flight each. */
async function sticky(server: Served): Promise<Load & { cpuUs: number; clientUs: number }> {
  const input: HttpLeanInput = {
    origin: server.url,
    paths: Array.from({ length: STICKY }, (_, i) => `/agents/counter/a${i + 1}`),
    connections: STICKY,
    body: "{}",
    warmup: 2,
    duration: DURATION,
    serverPid: server.pid,
  };
  const result = await runChild<HttpLeanResult>("http-load-lean.ts", input, (DURATION + 60) * 1000);
  const per = (seconds: number | undefined) => ((seconds ?? Number.NaN) * 1e6) / Math.max(1, result.requests);
  return { requests: result.requests, seconds: result.duration, errors: result.errors, p99ms: result.latencyP99, cpuUs: per(result.serverCpuSeconds), clientUs: per(result.clientCpuSeconds) };
}

type Timed = Load & { cpuUs: number; clientUs?: number };

async function measure(binary: string, threads: number): Promise<{ many: Timed; sticky: Timed; one: Timed; fresh: Timed }> {
  const dataDir = mkdtempSync(join(tmpdir(), `hearth-shards-${threads}-`));
  const server = await startServer(threads, dataDir);
  try {
    log(`${threads} thread(s): creating ${AGENTS} agents (unmeasured)`);
    await wrk(binary, server.url, AGENTS, 3);
    // A warm-up at the measured load: connections parked while agents were being created are open again.
    await wrk(binary, server.url, AGENTS, 4);
    const timed = async (agents: number | undefined | { fresh: string }, connections?: number): Promise<Timed> => {
      const before = usageOf(server.pid)?.cpuSeconds ?? 0;
      const load = await wrk(binary, server.url, agents, DURATION, connections);
      const after = usageOf(server.pid)?.cpuSeconds ?? 0;
      const per = (seconds: number) => (seconds * 1e6) / Math.max(1, load.requests);
      return { ...load, cpuUs: per(after - before), clientUs: load.clientCpuSeconds === undefined ? undefined : per(load.clientCpuSeconds) };
    };
    log(`${threads} thread(s): ${AGENTS} agents, ${DURATION}s`);
    const many = await timed(AGENTS);
    log(`${threads} thread(s): ${STICKY} connections, each to its own agent, ${DURATION}s`);
    const own = await sticky(server);
    log(`${threads} thread(s): one agent, ${DURATION}s`);
    await wrk(binary, server.url, undefined, 1);
    const one = await timed(undefined);
    log(`${threads} thread(s): new agents, ${DURATION}s`);
    await wrk(binary, server.url, { fresh: "warm-" }, 2, FRESH_CONNECTIONS);
    const fresh = await timed({ fresh: "new-" }, FRESH_CONNECTIONS);
    return { many, sticky: own, one, fresh };
  } finally {
    await server.close();
    removeDir(dataDir);
  }
}

const found = findWrk();
if ("missing" in found) {
  emit([{ bench: "shards", metric: "skipped", value: 0, unit: "", note: found.missing }]);
} else {
  const rows: Row[] = [];
  const rate = (load: Load): number => load.requests / load.seconds;
  type Measured = Awaited<ReturnType<typeof measure>>;
  const runs = new Map<number, Measured[]>(THREADS.map((threads) => [threads, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const threads of THREADS) runs.get(threads)!.push(await measure(found.binary, threads));
  }
  /** The run whose rate is the median of the rounds (its p99, errors and CPU with it). */
  const median = (list: Measured[], pick: (one: Measured) => Timed) => pick([...list].sort((a, b) => rate(pick(a)) - rate(pick(b)))[Math.floor(list.length / 2)]!);
  const results = new Map<number, Measured>();
  for (const [threads, list] of runs) {
    const result = { many: median(list, (one) => one.many), sticky: median(list, (one) => one.sticky), one: median(list, (one) => one.one), fresh: median(list, (one) => one.fresh) };
    results.set(threads, result);
    const spread = (pick: (one: Measured) => Load) => list.map((one) => Math.round(rate(pick(one))).toLocaleString("en-US")).join(", ");
    const note = (load: Timed, all: string, client = `wrk -t1 -c${CONNECTIONS}`) =>
      `${client}, ${DURATION}s; median of ${list.length} rounds (${all}); p99 ${load.p99ms.toFixed(1)} ms; ${load.errors} errors; server CPU ${load.cpuUs.toFixed(0)} µs per request` +
      (load.clientUs === undefined ? "" : `; load generator ${load.clientUs.toFixed(1)} µs per request`);
    rows.push({ bench: "shards", metric: `POST setState + INSERT over ${AGENTS} agents, --threads ${threads}`, value: rate(result.many), unit: "req/s", note: note(result.many, spread((one) => one.many)) });
    rows.push({
      bench: "shards",
      metric: `the same POST over ${STICKY} connections, each to an agent of its own, --threads ${threads}`,
      value: rate(result.sticky),
      unit: "req/s",
      note: note(result.sticky, spread((one) => one.sticky), `lib/http-load-lean.ts, ${STICKY} connections, one request in flight each`),
    });
    rows.push({ bench: "shards", metric: `the same POST to one agent, --threads ${threads}`, value: rate(result.one), unit: "req/s", note: note(result.one, spread((one) => one.one)) });
    rows.push({
      bench: "shards",
      metric: `new agents on disk (the same POST, each to a name never used), --threads ${threads}`,
      value: rate(result.fresh),
      unit: "agents/s",
      goal: { op: ">=", value: 2_000 },
      note: note(result.fresh, spread((one) => one.fresh), `wrk -t1 -c${FRESH_CONNECTIONS}`),
    });
  }
  const base = results.get(1);
  for (const [threads, result] of results) {
    if (threads === 1 || !base) continue;
    rows.push({
      bench: "shards",
      metric: `${AGENTS} agents: --threads ${threads} / --threads 1`,
      value: rate(result.many) / rate(base.many),
      unit: "×",
      goal: { op: ">=", value: 1.7 },
      note: `${availableParallelism()} cores, shared with wrk (one thread)`,
    });
    rows.push({
      bench: "shards",
      metric: `${STICKY} connections each to its own agent: --threads ${threads} / --threads 1`,
      value: rate(result.sticky) / rate(base.sticky),
      unit: "×",
      goal: { op: ">=", value: 1.7 },
      note: `${availableParallelism()} cores, shared with the load generator (one Node process)`,
    });
    for (const [what, pick, client] of [
      [`${AGENTS} agents`, (one: Measured) => one.many, "wrk"],
      [`${STICKY} connections each to its own agent`, (one: Measured) => one.sticky, "the load generator"],
      ["new agents", (one: Measured) => one.fresh, "wrk"],
    ] as const) {
      const ceiling = (load: Timed) =>
        scalingCeiling({ threads, cores: availableParallelism(), oneThreadRate: rate(pick(base)), serverUs: load.cpuUs, clientUs: load.clientUs ?? Number.NaN });
      const ideal = ceiling(pick(base));
      const measured = ceiling(pick(result));
      if (ideal === undefined || measured === undefined) continue;
      rows.push({
        bench: "shards",
        metric: `${what}: the most --threads ${threads} / --threads 1 can be on ${availableParallelism()} cores shared with ${client}`,
        value: Number(ideal.toFixed(2)),
        unit: "×",
        note: `cores ÷ (server + load generator CPU per request with 1 thread) ÷ the 1-thread rate: threads that cost nothing extra stop here; at the CPU per request measured with ${threads} threads, ${measured.toFixed(2)}×`,
      });
    }
    rows.push({ bench: "shards", metric: `one agent: --threads ${threads} / --threads 1`, value: rate(result.one) / rate(base.one), unit: "×", note: "the second thread parses HTTP for half the connections" });
  }
  emit(rows);
}
