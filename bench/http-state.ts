/**
 * Benchmark 1: one agent, HTTP POST whose onRequest does setState({ count: n + 1 }) and one SQL
 * INSERT. Requests per second with durability "relaxed" and "strict", and a bare node:http server
 * under the same load as the ceiling of the machine. The load generator (autocannon) runs in a child
 * process; the server runs here. The agent's state count is checked against its rows afterwards.
 *
 * Then the relaxed figure and the bare server again under `wrk -t1` (a C load generator that leaves
 * far more of a shared machine to the server than autocannon does), and Hearth as a % of the bare
 * server under each tool. Where wrk is missing, that part says so and autocannon's figures stand.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Host, serve, type AgentNamespace } from "../dist/index.js";
import type { Durability } from "../dist/index.js";
import { Counter } from "./lib/agents.ts";
import { emit, findWrk, flag, log, nextTurn, runChild, withDataDir, type Row, type Wrk } from "./lib/common.ts";
import type { HttpLoadInput, HttpLoadResult } from "./lib/http-load.ts";

const CONNECTIONS = Number(flag("connections") ?? 32);
const PIPELINING = Number(flag("pipelining") ?? 1);

/** The load generator of a measurement: autocannon (pipelining as --pipelining), or wrk -t1 (no pipelining). */
type Tool = { name: "autocannon" } | { name: "wrk"; wrk: Wrk };

interface Phase {
  durability: Durability;
  warmup: number;
  duration: number;
}

const PHASES: Phase[] = [
  { durability: "relaxed", warmup: 1, duration: 5 },
  { durability: "strict", warmup: 1, duration: 3 },
];
const BASELINE_SECONDS = 3;
const AUTOCANNON: Tool = { name: "autocannon" };

function toolLabel(tool: Tool): string {
  return tool.name === "wrk" ? `wrk -t1 -c${CONNECTIONS}` : `autocannon -c${CONNECTIONS}${PIPELINING > 1 ? ` -p${PIPELINING}` : ""}`;
}

function load(url: string, duration: number, tool: Tool = AUTOCANNON): Promise<HttpLoadResult> {
  const base: HttpLoadInput = { url, method: "POST", body: "{}", connections: CONNECTIONS, pipelining: PIPELINING, duration };
  const input: HttpLoadInput = tool.name === "wrk" ? { ...base, tool: "wrk", wrkBinary: tool.wrk.binary, threads: 1, pipelining: 1 } : base;
  return runChild<HttpLoadResult>("http-load.ts", input, (duration + 30) * 1000);
}

/**
 * The ceiling of this machine and load generator: a bare node:http server (no Hearth, no fetch API
 * objects, no storage) answering the same POST with a small JSON body, under the same load.
 */
async function baseline(tool: Tool = AUTOCANNON): Promise<Row> {
  let count = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const body = JSON.stringify({ count: ++count });
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await load(url, 1, tool);
    const result = await load(url, BASELINE_SECONDS, tool);
    log(`node:http baseline (${toolLabel(tool)}): ${result.ok} ok in ${result.duration}s`);
    return {
      bench: "1 http-state",
      metric: `reference: bare node:http server, same POST and load (no Hearth) — ${toolLabel(tool)}`,
      value: result.rate,
      unit: "req/s",
      note: `ceiling of this machine + load generator; latency p50 ${result.latencyP50} ms / p99 ${result.latencyP99} ms`,
    };
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

async function measure(phase: Phase, tool: Tool = AUTOCANNON): Promise<Row[]> {
  return withDataDir(`http-${phase.durability}`, undefined, async (dataDir) => {
    const host = new Host({ dataDir, agents: { Counter }, durability: phase.durability });
    const server = await serve({ host, port: 0 });
    try {
      const url = `${server.url}/agents/counter/hot`;
      await load(url, phase.warmup, tool);
      const result = await load(url, phase.duration, tool);
      const stub = (host.env.Counter as AgentNamespace<Counter>).getByName("hot");
      const totals = await stub.totals();
      log(
        `${phase.durability} (${toolLabel(tool)}): ${result.ok} ok in ${result.duration}s, non2xx ${result.non2xx}, errors ${result.errors}; ` +
          `state.count ${totals.count}, rows ${totals.rows}`,
      );
      const consistent = totals.count === totals.rows;
      const note = [
        `${toolLabel(tool)}, ${phase.duration}s`,
        `latency p50 ${result.latencyP50} ms / p99 ${result.latencyP99} ms`,
        result.non2xx + result.errors > 0 ? `${result.non2xx} non-2xx, ${result.errors} errors` : "0 errors",
        consistent ? "state.count = rows" : `INCONSISTENT: state.count ${totals.count} ≠ rows ${totals.rows}`,
      ].join("; ");
      return [
        {
          bench: "1 http-state",
          metric: `POST setState + INSERT, one agent, durability ${phase.durability}${tool.name === "wrk" ? " — wrk" : ""}`,
          value: result.rate,
          unit: "req/s",
          goal: phase.durability === "relaxed" && tool.name === "autocannon" ? { op: ">=", value: 10_000 } : undefined,
          note,
        },
      ];
    } finally {
      await server.close();
      await host.close();
    }
  });
}

const BREAKDOWN_OPS = 5_000;

/** Mean µs of `op` over BREAKDOWN_OPS runs (after a warm-up), yielding to the event loop every 100. */
async function timeOp(op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < 500; i++) await op(i);
  let elapsed = 0;
  for (let i = 0; i < BREAKDOWN_OPS; i += 100) {
    const start = process.hrtime.bigint();
    for (let j = i; j < i + 100; j++) await op(j);
    elapsed += Number(process.hrtime.bigint() - start);
    await nextTurn();
  }
  return elapsed / 1000 / BREAKDOWN_OPS;
}

/**
 * Where a request's time goes, without HTTP: the same writes in bare SQLite, the same work as an
 * in-process call, and the same POST handed to the host as a web Request (no sockets).
 */
async function breakdown(): Promise<Row[]> {
  return withDataDir("http-breakdown", undefined, async (dataDir) => {
    const raw = (synchronous: "NORMAL" | "FULL") => {
      const db = new DatabaseSync(join(dataDir, `raw-${synchronous}.sqlite`));
      db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = ${synchronous}; PRAGMA journal_mode = WAL;
        CREATE TABLE state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE hits (n INTEGER NOT NULL, at INTEGER NOT NULL);`);
      const upsert = db.prepare("INSERT OR REPLACE INTO state (chunk, data) VALUES (0, ?)");
      const trim = db.prepare("DELETE FROM state WHERE chunk > 0");
      const insert = db.prepare("INSERT INTO hits (n, at) VALUES (?, ?)");
      return {
        op: (i: number) => {
          db.exec("BEGIN");
          upsert.run(JSON.stringify({ count: i }));
          trim.run();
          insert.run(i, Date.now());
          db.exec("COMMIT");
        },
        close: () => db.close(),
      };
    };
    const relaxedRaw = raw("NORMAL");
    const rawRelaxed = await timeOp(relaxedRaw.op);
    relaxedRaw.close();
    const strictRaw = raw("FULL");
    const rawStrict = await timeOp(strictRaw.op);
    strictRaw.close();

    const host = new Host({ dataDir, agents: { Counter } });
    try {
      const stub = (host.env.Counter as AgentNamespace<Counter>).getByName("in-process");
      const call = await timeOp(() => stub.increment(1));
      const request = await timeOp(async () => {
        const response = await host.request("Counter", "in-process", new Request("http://localhost/agents/counter/in-process", { method: "POST", body: "{}" }));
        await response.text();
      });
      const note = `mean of ${BREAKDOWN_OPS.toLocaleString("en-US")}, one after another, disk`;
      return [
        { bench: "1 http-state", metric: "breakdown: bare SQLite transaction with the same writes, synchronous NORMAL", value: rawRelaxed, unit: "µs", note },
        { bench: "1 http-state", metric: "breakdown: bare SQLite transaction with the same writes, synchronous FULL (strict)", value: rawStrict, unit: "µs", note },
        { bench: "1 http-state", metric: "breakdown: same work as an in-process call, stub.increment(1)", value: call, unit: "µs", note: `${note}; relaxed` },
        {
          bench: "1 http-state",
          metric: "breakdown: same POST as a web Request to host.request() (no sockets)",
          value: request,
          unit: "µs",
          note: `${note}; relaxed; a request over HTTP above costs 1e6 / (req/s) µs of server time`,
        },
      ];
    } finally {
      await host.close();
    }
  });
}

/** Hearth's one-agent figure as a share of the bare node:http server under the same load generator. */
function shareOfBare(hearth: Row, bare: Row, tool: Tool): Row {
  return {
    bench: "1 http-state",
    metric: `one agent (relaxed) as % of the bare node:http server — ${toolLabel(tool)}`,
    value: (hearth.value / bare.value) * 100,
    unit: "%",
    goal: tool.name === "wrk" ? { op: ">=", value: 50 } : undefined,
    note: `${Math.round(hearth.value).toLocaleString("en-US")} / ${Math.round(bare.value).toLocaleString("en-US")} req/s, same load generator in the same run`,
  };
}

const rows: Row[] = [];
for (const phase of PHASES) rows.push(...(await measure(phase)));
const bare = await baseline();
rows.push(bare, shareOfBare(rows[0]!, bare, AUTOCANNON));

const found = findWrk();
if ("binary" in found) {
  const wrk: Tool = { name: "wrk", wrk: found };
  log(`wrk: ${found.version}`);
  const [hearth] = await measure(PHASES[0]!, wrk);
  const wrkBare = await baseline(wrk);
  rows.push(hearth!, wrkBare, shareOfBare(hearth!, wrkBare, wrk));
} else {
  log(found.missing);
  rows.push({ bench: "1 http-state", metric: "one agent (relaxed) as % of the bare node:http server — wrk", value: Number.NaN, unit: "%", note: found.missing });
}
rows.push(...(await breakdown()));
emit(rows);
