/**
 * Runs the benchmarks, each in a fresh Node process, and prints a markdown table of the results.
 *
 *   npm run bench                                 # all of them (builds first)
 *   node bench/run.ts --only wake                 # one (or a comma-separated list)
 *   node bench/run.ts --only many-agents --full   # the full 100,000-agent run, not time-bounded
 *   node bench/run.ts --only schedule-firing,schedule-boot,schedule-ops   # durable time
 *   node bench/run.ts --only workflows                                     # workflows
 *   node bench/run.ts --only sandbox                                       # sandboxes
 *   node bench/run.ts --only mcp                                           # MCP server
 *   node bench/run.ts --only kv,d1,ratelimit,queues                         # platform bindings
 *   node bench/run.ts --only durable-objects,facets                         # Durable Objects, facets, sub-agents
 *   node bench/run.ts --only vs-workerd --markdown /tmp/vs-workerd.md      # Hearth vs workerd, same Agents SDK Worker; writes the docs table
 *   node bench/run.ts --only shards,shard-transport,active-agents          # threads: scaling, crossing cost, active agents per core
 *   node bench/run.ts --only observability --before /tmp/pre16/dist      # observability's cost
 *   node bench/run.ts --only tracing-cost,tracing-socket                   # what tracing adds: in-process, and served over sockets
 *   node bench/run.ts --only cluster-commit,cluster-nodes,cluster-failover,cluster-restore,cluster-reclaim,cluster-register   # the cluster on Postgres
 *   npx tsx bench/cluster-soak.ts --rounds 10                               # the cluster's fault scenarios, longer
 *   node bench/codemode-tokens.ts                                          # code mode: tokens of the API
 *   node bench/codemode-discovery.ts                                       # code mode: tokens and round trips per mode, incl. the GitHub REST API
 *   node bench/run.ts --only cli-startup --dist /tmp/base/dist,dist           # how soon hearth dev / start serve, two builds alternating
 *   node bench/run.ts --json results.json         # also write the rows as JSON
 *
 * Other flags are passed on to every benchmark (e.g. --agents, --dir, --connections).
 * Benchmarks import the built package (dist/): run `npm run build` first when calling this directly.
 */
import { fork } from "node:child_process";
import { writeFileSync, existsSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { BENCH_DIR, benchCommit, collectDataDirs, flag, markdownTable, type Row } from "./lib/common.ts";

interface Benchmark {
  name: string;
  file: string;
  what: string;
  nodeArgs?: string[];
  /** Longer than the default 120 s bound, for a benchmark that may have to build a fixture first. */
  timeoutMs?: number;
}

const MEMORY_FLAGS = ["--expose-gc", "--min-semi-space-size=16", "--max-semi-space-size=16"];

const BENCHMARKS: Benchmark[] = [
  { name: "http-state", file: "http-state.ts", what: "HTTP POST → setState + INSERT on one agent (relaxed, strict)" },
  { name: "new-agents", file: "new-agents.ts", what: "first request to never-seen agents" },
  { name: "wake", file: "wake.ts", what: "host-side wake of a hibernated agent" },
  { name: "ws-rpc", file: "ws-rpc.ts", what: "WebSocket RPC round trips" },
  // The young generation is pinned (V8 otherwise grows it from 1 MB to ~96 MB under load, on its own).
  { name: "memory", file: "memory.ts", what: "RSS per live / hibernated agent", nodeArgs: MEMORY_FLAGS },
  // --expose-gc only so its progress lines can show the live JS heap.
  { name: "many-agents", file: "many-agents.ts", what: "create + hibernate 100,000 agents", nodeArgs: ["--expose-gc"] },
  { name: "schedule-firing", file: "schedule-firing.ts", what: "lateness of 10,000 schedules due within 1 s over 1,000 agents" },
  { name: "schedule-firing-threads", file: "schedule-firing-threads.ts", what: "the same on hearth start --threads 1 and 2, live agents, disk and tmpfs" },
  // The first run builds a 100,000-agent fixture (a few minutes), kept in bench/.data/ for later runs.
  {
    name: "schedule-boot",
    file: "schedule-boot.ts",
    what: "boot over 1,000,000 pending schedules on 100,000 hibernated agents",
    nodeArgs: ["--expose-gc"],
    timeoutMs: 900_000,
  },
  { name: "schedule-ops", file: "schedule-ops.ts", what: "schedule / cancel throughput on one agent" },
  // --expose-gc so the memory per sleeping instance is measured after a collection.
  { name: "sandbox", file: "sandbox.ts", what: "sandbox create + run + dispose, memory per sandbox, host calls, CPU vs Node", nodeArgs: ["--expose-gc"] },
  { name: "sandbox-stall", file: "sandbox-stall.ts", what: "a busy agent's HTTP latency while sandboxes burn CPU: no sandbox, in-thread engine, worker pool" },
  // --expose-gc so the memory per hibernated session is measured after a collection.
  { name: "mcp", file: "mcp.ts", what: "MCP tool calls / s (one session, 1,000 sessions), memory per live / hibernated session", nodeArgs: ["--expose-gc"] },
  { name: "kv", file: "kv.ts", what: "KV get / put per second from one caller and 100 concurrent callers, bulk get, list" },
  { name: "d1", file: "d1.ts", what: "D1 first() on an index, batch() of 100 inserts" },
  { name: "ratelimit", file: "ratelimit.ts", what: "rate limiter limit() calls per second" },
  { name: "queues", file: "queues.ts", what: "queue send → consumer handler: messages / s and latency p50 / p99" },
  { name: "workflows", file: "workflows.ts", what: "workflow instances created / s, step.do overhead, memory per sleeping instance", nodeArgs: ["--expose-gc"] },
  {
    name: "durable-objects",
    file: "durable-objects.ts",
    what: "plain Durable Objects, hibernatable WebSockets (INSERT + reply): messages / s on one object and 1,000 objects, Hearth vs workerd in one run",
    timeoutMs: 300_000,
  },
  // Three server processes in turn (hearth start, hearth start --durability strict, workerd serve) per workload.
  {
    name: "vs-workerd",
    file: "workerd-compare.ts",
    what: "the same Agents SDK Worker on Hearth and on workerd: one-agent HTTP (and a bare node:http ceiling), new agents, WebSocket RPC, wake; Hearth / workerd",
    timeoutMs: 600_000,
  },
  // Two server processes in turn (--threads 1, --threads 2), wrk in a third.
  { name: "shards", file: "shards.ts", what: "hearth start --threads 1 vs 2: POSTs over 1,000 agents at random, over 200 connections each to its own agent, to one agent, and new agents; req/s, CPU per request, ratio, and what the cores allow", timeoutMs: 300_000 },
  { name: "shards-ws", file: "shards-ws.ts", what: "WebSocket RPC over 200 agents on hearth start --threads 1 and 2 (upgrades moved to their agent's thread), lean and ws clients", timeoutMs: 300_000 },
  { name: "shard-transport", file: "shard-transport.ts", what: "a forwarded request + response between worker threads vs between processes (IPC)" },
  { name: "sqlite-open-threads", file: "sqlite-open-threads.ts", what: "bare node:sqlite: open + lock + INSERT + close of agent-like files, one thread vs two at once, SQLite's default VFS vs unix-none", timeoutMs: 300_000 },
  // Grows the number of users until reply p99 passes 50 ms: minutes, not seconds.
  {
    name: "active-agents",
    file: "active-agents.ts",
    what: "users with an agent and an open WebSocket each, one setState + INSERT RPC every 10 s: the largest number per core with reply p99 ≤ 50 ms",
    timeoutMs: 1_800_000,
  },
  // --expose-gc and the pinned young generation for the heap / RSS per hibernated facet, as in memory.ts.
  {
    name: "facets",
    file: "facets.ts",
    what: "facets and sub-agents: created / s, 10,000 under one parent (memory, disk, listing), first request p50 / p99 (worker class, sandboxed code)",
    nodeArgs: MEMORY_FLAGS,
    timeoutMs: 300_000,
  },
  // --expose-gc and the pinned young generation for the heap per run in flight, as in memory.ts.
  {
    name: "teams",
    file: "teams.ts",
    what: "agent teams: overhead per step, finishing with 1,000 runs kept, 1,000 concurrent runs on the demo model, resume after kill -9",
    nodeArgs: MEMORY_FLAGS,
    timeoutMs: 300_000,
  },
  { name: "inspector", file: "inspector.ts", what: "inspector: first-load JavaScript, overview and agents list of 100,000 agents in headless Chromium", timeoutMs: 300_000 },
  // Alternating rounds of each mode; --before <dist> adds a build without observability to compare.
  { name: "observability", file: "observability.ts", what: "hot-path cost of metrics, events, logs and traces: all on vs off (and off vs --before <old dist>)", timeoutMs: 600_000 },
  { name: "tracing-cost", file: "tracing-cost.ts", what: "what tracing adds to a request and an RPC call, in-process (no sockets), off and on alternating in child processes", timeoutMs: 600_000 },
  { name: "tracing-socket", file: "tracing-socket.ts", what: "what tracing costs a served request over sockets: hearth start --threads 1 with the defaults vs --no-traces, wrk, servers alternating", timeoutMs: 600_000 },
  { name: "cli-startup", file: "cli-startup.ts", what: "hearth dev and hearth start (one thread, two) on a one-agent project: spawn → ready, and the CPU of their processes by then" },
  { name: "tracing-hooks", file: "tracing-hooks.ts", what: "tracing's own cost per request without the host (the HTTP and agent event hooks, traces kept), builds alternating in child processes", timeoutMs: 600_000 },
  // The cluster (issue 19): each starts its own PostgreSQL (Debian's binaries, as the tests do).
  { name: "cluster-commit", file: "cluster-commit.ts", what: "cluster: commit latency and throughput, 100 / 1,000 / 10,000 agents, batched vs one INSERT per commit vs single node; WAL bytes per commit", timeoutMs: 900_000 },
  { name: "cluster-nodes", file: "cluster-nodes.ts", what: "cluster: req/s over 1,000 agents with 1, 2 and 3 node processes (to the owner, and to any node)", timeoutMs: 600_000 },
  { name: "cluster-failover", file: "cluster-failover.ts", what: "cluster: SIGKILL of an owner → first acknowledged write through another node, over 10 kills", timeoutMs: 300_000 },
  { name: "cluster-restore", file: "cluster-restore.ts", what: "cluster: rebuilding an agent's file from the log, 1 / 10 / 100 MB and 100–10,000 changesets", timeoutMs: 600_000 },
  { name: "cluster-reclaim", file: "cluster-reclaim.ts", what: "cluster: the first request after a give-back, on the node that gave the agent back (its file as it is) and on another (rebuilt), 0 / 1 / 16 MB", timeoutMs: 600_000 },
  { name: "cluster-register", file: "cluster-register.ts", what: "cluster: 1,000,000 agents registered across 3 nodes (lease + a first commit each): time and Postgres size", timeoutMs: 600_000 },
];

const OWN_FLAGS = new Set(["--only", "--json"]);

function forwardedArgs(): string[] {
  const args = process.argv.slice(2);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (OWN_FLAGS.has(args[i]!)) i++;
    else out.push(args[i]!);
  }
  return out;
}

function runOne(benchmark: Benchmark, args: string[], timeoutMs: number): Promise<Row[]> {
  const child = fork(join(BENCH_DIR, benchmark.file), args, {
    execArgv: benchmark.nodeArgs ?? [],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    const rows: Row[] = [];
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`timed out after ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on("message", (message: { type: string; rows: Row[] }) => {
      if (message.type === "rows") rows.push(...message.rows);
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && rows.length > 0) resolve(rows);
      else reject(new Error(`exited with ${signal ?? `code ${code}`}${rows.length === 0 ? ", no results" : ""}`));
    });
  });
}

const only = flag("only")?.split(",").map((name) => name.trim());
const unknown = only?.filter((name) => !BENCHMARKS.some((b) => b.name === name)) ?? [];
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(", ")}. Known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
  process.exit(2);
}
if (!existsSync(join(BENCH_DIR, "..", "dist", "index.js"))) {
  console.error("dist/ is missing: run `npm run build` first (npm run bench does).");
  process.exit(2);
}
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));
const args = forwardedArgs();
const full = args.includes("--full");


const [load1] = loadavg();
const revision = benchCommit();
console.error(
  `Hearth benchmarks — commit ${revision}, Node ${process.version}, ${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${load1!.toFixed(2)}`,
);
if (load1! > 0.5) console.error("  warning: the machine is not idle; figures will be lower and noisier than they should be");

// Each benchmark's data directories are deleted at the end, not between benchmarks (see removeDir).
const emptyTrash = collectDataDirs();
process.once("SIGINT", () => {
  emptyTrash();
  process.exit(130);
});

const rows: Row[] = [];
const failures: string[] = [];
const suiteStart = performance.now();
for (const benchmark of selected) {
  const start = performance.now();
  console.error(`\n▶ ${benchmark.name}: ${benchmark.what}`);
  try {
    rows.push(...(await runOne(benchmark, args, full ? 3_600_000 : (benchmark.timeoutMs ?? 120_000))));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    failures.push(`${benchmark.name}: ${message}`);
    console.error(`  FAILED: ${message}`);
  }
  console.error(`  (${((performance.now() - start) / 1000).toFixed(1)} s, load average now ${loadavg()[0]!.toFixed(2)})`);
}
const total = (performance.now() - suiteStart) / 1000;
emptyTrash();

console.log(`\n${markdownTable(rows)}\n`);
console.log(
  `${selected.length} benchmark(s) in ${total.toFixed(0)} s, commit ${revision}.${failures.length ? ` Failed: ${failures.join("; ")}` : ""}`,
);
const jsonPath = flag("json");
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify({ date: new Date().toISOString(), commit: revision, node: process.version, rows, failures }, null, 2));
}
if (failures.length > 0) process.exitCode = 1;
