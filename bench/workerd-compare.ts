/**
 * Benchmark vs-workerd: the same Agents SDK Worker (bench/lib/sdk-agent-worker.ts, an `agents` Agent
 * class) on Hearth (`hearth start` from dist/, `agents` mapped to Hearth) and on workerd (`workerd
 * serve`, the same file bundled with the real SDK), one after the other in this run. Each server is a
 * process of its own with a fresh data directory on disk; the load generator is a third process (wrk,
 * or autocannon where wrk is missing; `ws` clients for WebSockets). Workloads:
 *  (a) one agent, HTTP POST → setState + INSERT, and a bare node:http server under the same load as
 *      the machine's ceiling;
 *  (b) new agents: every POST to a never-seen name;
 *  (c) WebSocket RPC round trips to one agent, in the SDK's frames ({type:"rpc",id,method,args});
 *  (d) wake: the server is restarted over agents that exist on disk, then each is called once.
 * Prints Hearth / workerd per workload, and a markdown "Hearth vs workerd" table (also written to
 * --markdown <path>) for docs/benchmarks.md.
 *
 *   npm run build && node bench/run.ts --only vs-workerd [--markdown /tmp/vs-workerd.md]
 *   npx node bench/workerd-compare.ts [--duration 5] [--wake-agents 200] [--no-strict] [--markdown <path>]
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { emit, findWrk, flag, hasFlag, log, type Row } from "./lib/common.ts";
import { usageOf, type ServerProcess } from "./lib/do-server.ts";
import { compareMarkdown, ratioOf, type ComparedWorkload } from "./lib/workerd-report.ts";
import { startBareServer, type Runtime } from "./lib/workerd-runtimes.ts";
import { httpLoad, loadTool, newAgents, oneAgentHttp, wake, wsRpc, type Measured } from "./lib/workerd-workloads.ts";
import { ensureWorkerd } from "./lib/workerd.ts";
import { versionsLine } from "./lib/workerd-versions.ts";

const BENCH = "vs-workerd";
const DURATION = Number(flag("duration") ?? 5);
const WAKE_AGENTS = Number(flag("wake-agents") ?? 200);
const STRICT = !hasFlag("no-strict");
/** Compatibility date for Hearth's wrangler.json when workerd (whose newest date is used) is missing. */
const FALLBACK_COMPATIBILITY_DATE = "2026-11-01";

const loadBefore = loadavg()[0]!;
const wrk = findWrk();
const installed = await ensureWorkerd();
const workerd = "binary" in installed ? installed : undefined;
const workerdMissing = "missing" in installed ? installed.missing : "";
if (workerd) log(`workerd: ${workerd.version} (${workerd.binary})`);
else log(`workerd missing: ${workerdMissing}`);
log("binary" in wrk ? `load generator: ${wrk.version}` : wrk.missing);
const tool = loadTool(wrk);
const compatibilityDate = workerd?.compatibilityDate ?? FALLBACK_COMPATIBILITY_DATE;
const context = { compatibilityDate, workerd, tool, duration: DURATION };

/** Runs `measure` on every runtime in turn (Hearth, Hearth strict where asked, workerd). */
async function onEachRuntime(strict: boolean, measure: (runtime: Runtime) => Promise<Measured>): Promise<Partial<Record<Runtime, Measured>>> {
  const out: Partial<Record<Runtime, Measured>> = {};
  const runtimes: Runtime[] = ["Hearth", ...(strict && STRICT ? (["Hearth, strict"] as const) : []), ...(workerd ? (["workerd"] as const) : [])];
  for (const runtime of runtimes) {
    out[runtime] = await measure(runtime);
    log(`${runtime}: ${out[runtime]!.value.toFixed(2)} — ${out[runtime]!.note}`);
  }
  return out;
}

const workloads: ComparedWorkload[] = [];
const rows: Row[] = [];

function record(name: string, unit: string, better: "higher" | "lower", how: string, measured: Partial<Record<Runtime, Measured>>): void {
  const missing = workerd ? "" : `; workerd: ${workerdMissing}`;
  const workload: ComparedWorkload = {
    name,
    unit,
    better,
    hearth: measured.Hearth?.value ?? Number.NaN,
    hearthStrict: measured["Hearth, strict"]?.value,
    workerd: measured.workerd?.value ?? Number.NaN,
    hearthCpuUs: measured.Hearth?.cpuUs,
    workerdCpuUs: measured.workerd?.cpuUs,
    how: how + missing,
  };
  workloads.push(workload);
  for (const [runtime, figure] of Object.entries(measured)) {
    rows.push({ bench: BENCH, metric: `${name} — ${runtime}`, value: figure.value, unit, note: figure.note });
  }
  rows.push({ bench: BENCH, metric: `${name} — Hearth / workerd`, value: ratioOf(workload), unit: "×", note: `${better} is better; same Worker, one after the other in this run` });
}

// (a) One agent, HTTP, and the bare server's ceiling under the same load.
const http = await onEachRuntime(true, (runtime) => oneAgentHttp(runtime, context));
const bare: ServerProcess = await startBareServer();
let ceiling: number;
let ceilingCpu: string;
try {
  await httpLoad(tool, bare.url, 1);
  const before = usageOf(bare.pid);
  const result = await httpLoad(tool, bare.url, DURATION);
  const after = usageOf(bare.pid);
  ceiling = result.rate;
  ceilingCpu = before && after ? ` (server CPU ${(((after.cpuSeconds - before.cpuSeconds) / result.ok) * 1e6).toFixed(0)} µs per request)` : "";
  log(`bare node:http: ${Math.round(ceiling)} req/s${ceilingCpu}`);
  rows.push({ bench: BENCH, metric: `(a) ceiling: bare node:http server answering a constant — ${tool.label}`, value: ceiling, unit: "req/s", note: `its own process${ceilingCpu}` });
} finally {
  await bare.close();
}
const share = (figure: Measured | undefined) => (figure ? (figure.value / ceiling) * 100 : Number.NaN);
rows.push({ bench: BENCH, metric: `(a) Hearth as % of the bare node:http server — ${tool.label}`, value: share(http.Hearth), unit: "%", goal: { op: ">=", value: 50 } });
if (http.workerd) rows.push({ bench: BENCH, metric: `(a) workerd as % of the bare node:http server — ${tool.label}`, value: share(http.workerd), unit: "%" });
record(
  "(a) one agent: HTTP POST → setState + one INSERT",
  "req/s",
  "higher",
  `${tool.label}, ${DURATION} s after 1 s of warm-up, all to one agent; 2xx responses per second`,
  http,
);

// (b) New agents.
record(
  "(b) new agents: each POST to a never-seen name",
  "agents/s",
  "higher",
  `${tool.label.replace(/-c\d+/, "-c16")}, ${DURATION} s; each request creates an agent (its storage, onStart's CREATE TABLE) and does the POST's setState + INSERT`,
  await onEachRuntime(true, (runtime) => newAgents(runtime, context)),
);

// (c) WebSocket RPC.
const ws = await onEachRuntime(false, (runtime) => wsRpc(runtime, context));
const wsIncrement = Object.fromEntries(Object.entries(ws).map(([runtime, figure]) => [runtime, figure.extra!])) as Partial<Record<Runtime, Measured>>;
record("(c) WebSocket RPC, one agent: ping()", "calls/s", "higher", "4 sockets × 64 calls in flight, `ws` clients in their own process; a call is one round trip of the SDK's rpc frames", ws);
record(
  "(c) WebSocket RPC, one agent: increment(1)",
  "calls/s",
  "higher",
  "1 socket × 256 in flight; setState + INSERT, and the SDK's state broadcast to the socket",
  wsIncrement,
);

// (d) Wake.
const wakes = await onEachRuntime(false, (runtime) => wake(runtime, context, WAKE_AGENTS));
record(
  "(d) wake: first request to an agent on disk, not in memory, p50",
  "ms",
  "lower",
  `${WAKE_AGENTS} agents created (one POST each); the server stopped, started again on the same data and left alone for 1 s; one warm-up agent; ` +
    "then one GET to each agent, one at a time on one keep-alive connection, timed by the client. Hearth: opens the agent's SQLite file, reads its state, " +
    "constructs the class and runs onStart (Hearth's Agent API), answers. workerd: instantiates the Durable Object in the already-loaded isolate, opens its " +
    "SQLite file, runs the SDK's constructor and onStart, answers. Both answer the state's count and the row count",
  wakes,
);
// The CPU of these wakes is on the p50 line already.
const wakeP99 = Object.fromEntries(Object.entries(wakes).map(([runtime, figure]) => [runtime, { ...figure.extra!, cpuUs: undefined }])) as Partial<
  Record<Runtime, Measured>
>;
record("(d) wake, p99", "ms", "lower", "the same requests", wakeP99);

const loadAfter = loadavg()[0]!;
const forwarded = process.argv.slice(2).join(" ");
const markdown = compareMarkdown(workloads, {
  date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}`,
  command: process.send ? `npm run bench -- --only vs-workerd${forwarded ? ` ${forwarded}` : ""}` : `npx node bench/workerd-compare.ts${forwarded ? ` ${forwarded}` : ""}`,
  versions: versionsLine(workerd, wrk),
  loadBefore,
  loadAfter,
  notes: [
    `(a) ceiling: a bare node:http server answering a constant, in its own process, under the same ${tool.label}: ${Math.round(ceiling).toLocaleString("en-US")} req/s${ceilingCpu}; ` +
      `Hearth ${share(http.Hearth).toFixed(0)}% of it${http.workerd ? `, workerd ${share(http.workerd).toFixed(0)}%` : ""}.`,
    "Each runtime is one server process with a fresh data directory on disk: Hearth with its default durability (relaxed: a commit survives a crash of the " +
      "process, not a power loss) and, where shown, with `--durability strict` (every commit synced); workerd with its SQLite-backed Durable Object storage on local disk.",
    "The Worker is bench/lib/sdk-agent-worker.ts: `hearth start` runs it unchanged (`agents` → Hearth); workerd runs it bundled with esbuild and the Agents SDK " +
      "(`cloudflare:email` stubbed: a bare workerd has no email service). So each figure is a runtime plus its implementation of the Agent API: on workerd " +
      "the SDK's own work (its tables created in the constructor, state kept in SQL, broadcasts) is part of it; bench `durable-objects` compares plain Durable Objects.",
    "Server CPU per operation: the server process's user + system time (/proc) over the measured seconds, divided by the operations answered; " +
      "less sensitive than wall-clock rates to other work on the machine. Each row's latency and consistency checks are in `node bench/run.ts --only vs-workerd`'s notes.",
    ...("binary" in wrk ? [] : [`${wrk.missing}.`]),
  ],
});
console.log(`\n${markdown}\n`);
const markdownPath = flag("markdown");
if (markdownPath) {
  writeFileSync(markdownPath, `${markdown}\n`);
  log(`markdown written to ${markdownPath}`);
}
emit(rows);
