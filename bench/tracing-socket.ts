/**
 * What tracing costs a served request over real sockets: `hearth start --threads 1` (`--threads N`) on
 * examples/counter, one agent (`POST /agents/counter/hot`), `wrk -t1 -c32`, with the defaults (traces
 * kept in memory, 1 % in the file; metrics and logs on) and with `--no-traces`, servers alternating
 * `--pairs` times so a slow phase of a shared VM hits both. Each server is its own process: its CPU
 * (from /proc/<pid>/stat) divided by the requests served is what it spent per request, whatever the
 * load generator took. `--repo <dir>` measures another checkout's dist/ (a worktree of an older commit)
 * with the same load. Issue 16's goal: tracing ≤ 5 % of the req/s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, emit, findWrk, flag, log, tempDataDir, removeDir, sleep, type Row, type Wrk } from "./lib/common.ts";
import { freePort, usageOf } from "./lib/do-server.ts";

const REPO = flag("repo") ?? join(BENCH_DIR, "..");
const PAIRS = Number(flag("pairs") ?? 3);
const SECONDS = Number(flag("seconds") ?? 5);
const CONNECTIONS = Number(flag("connections") ?? 32);
/** `--threads` of both servers: 1 by default (one thread, the agent's, does all), 2 is `hearth start`'s default on two cores. */
const THREADS = Number(flag("threads") ?? 1);

const found = findWrk();
if ("missing" in found) throw new Error(`bench tracing-socket needs wrk: ${found.missing}`);
const wrk: Wrk = found;

/** User + system CPU seconds of process `pid` so far (Linux). */
function cpuSeconds(pid: number): number {
  const usage = usageOf(pid);
  if (usage === undefined) throw new Error(`cannot read the CPU time of process ${pid}`);
  return usage.cpuSeconds;
}

function runWrk(url: string, script: string, seconds: number): Promise<{ requests: number; non2xx: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrk.binary, ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "-s", script, url], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", () => {
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      resolve({ requests, non2xx });
    });
  });
}

async function started(url: string, server: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (server.exitCode !== null) throw new Error(`hearth start exited with ${server.exitCode}`);
    try {
      if ((await fetch(url, { method: "POST", body: "{}" })).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`hearth start did not answer ${url}`);
}

interface Measure {
  rate: number;
  cpuMicros: number;
}

async function measure(traces: boolean): Promise<Measure> {
  const dataDir = tempDataDir("tracing-socket");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/agents/counter/hot`;
  const script = join(dataDir, "post.lua");
  writeFileSync(script, 'wrk.method = "POST"\nwrk.body = "{}"\n');
  const args = [join(REPO, "dist/cli/main.js"), "start", join(REPO, "examples/counter/src/index.ts"), "--port", String(port), "--threads", String(THREADS), "--data", join(dataDir, "data")];
  if (!traces) args.push("--no-traces");
  const server = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] });
  try {
    await started(url, server);
    await runWrk(url, script, 1); // warm-up: compiles the hot path
    const before = cpuSeconds(server.pid!);
    const { requests, non2xx } = await runWrk(url, script, SECONDS);
    const cpu = cpuSeconds(server.pid!) - before;
    if (non2xx > 0) throw new Error(`${non2xx} responses were not 2xx`);
    return { rate: requests / SECONDS, cpuMicros: (cpu * 1e6) / requests };
  } finally {
    server.kill("SIGINT");
    await new Promise((resolve) => (server.exitCode === null ? server.once("exit", resolve) : resolve(undefined)));
    removeDir(dataDir);
  }
}

const runs: Record<"on" | "off", Measure[]> = { on: [], off: [] };
for (let pair = 0; pair < PAIRS; pair++) {
  for (const mode of ["on", "off"] as const) {
    const result = await measure(mode === "on");
    runs[mode].push(result);
    log(`${mode === "on" ? "defaults   " : "--no-traces"}: ${result.rate.toFixed(0)} req/s, ${result.cpuMicros.toFixed(1)} µs of server CPU per request`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const rate = (mode: "on" | "off") => median(runs[mode].map((run) => run.rate));
const cpu = (mode: "on" | "off") => median(runs[mode].map((run) => run.cpuMicros));
const note = `${PAIRS} pairs alternating, wrk -t1 -c${CONNECTIONS} ${SECONDS} s, ${wrk.version}; ${REPO}`;
const rows: Row[] = [
  { bench: "16 tracing over sockets", metric: `hearth start --threads ${THREADS}, defaults: req/s (median)`, value: Math.round(rate("on")), unit: "req/s", note: `CPU ${cpu("on").toFixed(1)} µs per request` },
  { bench: "16 tracing over sockets", metric: `hearth start --threads ${THREADS}, --no-traces: req/s (median)`, value: Math.round(rate("off")), unit: "req/s", note: `CPU ${cpu("off").toFixed(1)} µs per request` },
  {
    bench: "16 tracing over sockets",
    metric: "fewer req/s with traces kept (medians)",
    value: Number(((1 - rate("on") / rate("off")) * 100).toFixed(1)),
    unit: "%",
    note: `${(cpu("on") - cpu("off")).toFixed(1)} µs more server CPU per request; ${note}`,
    goal: { op: "<=", value: 5 },
  },
];
emit(rows);
