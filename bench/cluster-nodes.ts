/**
 * Throughput with 1, 2 and 3 cluster nodes on this machine: node processes from the built CLI
 * (`hearth start --cluster`), one Postgres (fsync on), and wrk as the load generator — all sharing the
 * machine's cores. POSTs (setState + INSERT, acknowledged only once durable in Postgres) spread over
 * 1,000 agents, two ways:
 *
 * - to any node: each node gets its share of the connections and picks agents at random, so
 *   (n − 1) / n of the requests are forwarded to the owner (one more HTTP hop);
 * - to the owner: each node gets only the agents it owns (what a load balancer with owner affinity
 *   does), so nothing is forwarded.
 *
 * A plain `hearth start` (no cluster, no Postgres) is the reference.
 *
 * Each figure is the median of 3 windows (1 with --quick), after a first POST to every agent and 5 s of
 * unmeasured load.
 *
 *   npm run build && npx node bench/cluster-nodes.ts [--quick] [--nodes 1,2,3] [--duration 10] [--windows 3] [--agents 1000]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { emit, findWrk, flag, hasFlag, log, removeDir, type Row } from "./lib/common.ts";
import { loadNote, postgresUnavailable, startBenchPostgres, type BenchPostgres } from "./lib/cluster-common.ts";
import { ACTOR_PREFIX, AGENT_PATH, cpuOf, postgresCpu, startClusterNode, type ClusterNodeProcess } from "./lib/cluster-nodes.ts";

const CONNECTIONS = 64;
const WINDOWS = Number(flag("windows") ?? (hasFlag("quick") ? 1 : 3));

interface Load {
  requests: number;
  errors: number;
  p99ms: number;
}

/** One wrk process against `url`, POSTing to one of `names` at random per request. */
async function wrk(binary: string, url: string, names: readonly string[], connections: number, seconds: number): Promise<Load> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cluster-wrk-"));
  try {
    const script = join(dir, "load.lua");
    writeFileSync(
      script,
      [
        'wrk.method = "POST"',
        `local names = {${names.map((name) => JSON.stringify(name)).join(",")}}`,
        `function request() return wrk.format(nil, "${AGENT_PATH}/" .. names[math.random(#names)]) end`,
        "function done(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format(\'\\n{"requests":%d,"errors":%d,"p99":%d}\\n\', summary.requests, e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(99)))',
        "end",
      ].join("\n"),
    );
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(binary, ["-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      child.on("error", reject);
      child.on("close", () => resolve(out));
    });
    const line = output.split("\n").find((text) => text.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary:\n${output}`);
    const summary = JSON.parse(line) as { requests: number; errors: number; p99: number };
    return { requests: summary.requests, errors: summary.errors, p99ms: summary.p99 / 1000 };
  } finally {
    removeDir(dir);
  }
}

interface Measured {
  rate: number;
  errors: number;
  p99ms: number;
  cpuUsPerRequest: number;
  pgCpuUsPerRequest: number;
  note: string;
}

/**
 * {@link loadAll} in `windows` windows one after another: the median window by rate, with the range
 * in its note (other work on the machine makes single windows swing widely).
 */
async function loadWindows(windows: number, ...args: Parameters<typeof loadAll>): Promise<Measured> {
  const results: Measured[] = [];
  for (let i = 0; i < windows; i++) results.push(await loadAll(...args));
  const ordered = [...results].sort((a, b) => a.rate - b.rate);
  const median = ordered[Math.floor((ordered.length - 1) / 2)]!;
  if (results.length === 1) return median;
  return { ...median, note: `median of ${results.length} windows (${results.map((result) => result.rate.toFixed(0)).join(", ")} req/s); ${median.note}` };
}

/** All wrk processes at once, one per node, with the connections split between them. */
async function loadAll(binary: string, nodes: readonly ClusterNodeProcess[], namesOf: (node: ClusterNodeProcess) => string[], seconds: number, pgdata: string | undefined): Promise<Measured> {
  const pids = nodes.map((node) => node.pid);
  const cpuBefore = cpuOf(pids);
  const pgBefore = pgdata === undefined ? 0 : postgresCpu(pgdata);
  const per = Math.max(1, Math.floor(CONNECTIONS / nodes.length));
  const loads = await Promise.all(nodes.map((node) => wrk(binary, node.url, namesOf(node), per, seconds)));
  const note = loadNote();
  const requests = loads.reduce((sum, load) => sum + load.requests, 0);
  return {
    rate: requests / seconds,
    errors: loads.reduce((sum, load) => sum + load.errors, 0),
    p99ms: Math.max(...loads.map((load) => load.p99ms)),
    cpuUsPerRequest: ((cpuOf(pids) - cpuBefore) * 1e6) / Math.max(1, requests),
    pgCpuUsPerRequest: pgdata === undefined ? 0 : ((postgresCpu(pgdata) - pgBefore) * 1e6) / Math.max(1, requests),
    note,
  };
}

/** A first POST to every agent, 16 at a time, spread over the nodes; returns agents created per second. */
async function createAgents(nodes: readonly ClusterNodeProcess[], names: readonly string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < names.length; i = next++) {
        const response = await fetch(`${nodes[i % nodes.length]!.url}${AGENT_PATH}/${names[i]}`, { method: "POST", signal: AbortSignal.timeout(30_000) });
        if (!response.ok) throw new Error(`creating ${names[i]}: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  return names.length / ((performance.now() - started) / 1_000);
}

async function owners(connectionString: string): Promise<Map<string, string>> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ actor_id: string; owner: string | null }>("SELECT actor_id, owner FROM hearth.actor_lease WHERE owner IS NOT NULL");
    return new Map(rows.filter((row) => row.actor_id.startsWith(ACTOR_PREFIX)).map((row) => [row.actor_id.slice(ACTOR_PREFIX.length), row.owner!]));
  } finally {
    await client.end();
  }
}

async function measure(binary: string, count: number, postgres: BenchPostgres | undefined, agents: number, seconds: number): Promise<{ any: Measured; owner?: Measured; created: number }> {
  const connectionString = postgres === undefined ? undefined : await postgres.server.database(`nodes_${count}_${Date.now() % 100_000}`);
  const nodes: ClusterNodeProcess[] = [];
  try {
    for (const id of ["a", "b", "c", "d", "e"].slice(0, count)) nodes.push(await startClusterNode(id, connectionString));
    const names = Array.from({ length: agents }, (_, i) => `a${i}`);
    log(`${count} node(s)${connectionString ? "" : " (no cluster)"}: creating ${agents} agents`);
    const created = await createAgents(nodes, names);
    await loadAll(binary, nodes, () => names, 5, undefined);
    const pgdata = postgres?.server.dataDir;
    log(`${count} node(s): to any node, ${seconds}s`);
    const any = await loadWindows(WINDOWS, binary, nodes, () => names, seconds, pgdata);
    if (connectionString === undefined) return { any, created };
    const owned = await owners(connectionString);
    const namesOf = (node: ClusterNodeProcess): string[] => {
      const mine = names.filter((name) => owned.get(name) === node.id);
      return mine.length > 0 ? mine : names;
    };
    log(`${count} node(s): to the owner, ${seconds}s (${nodes.map((node) => `${node.id}: ${namesOf(node).length}`).join(", ")})`);
    const owner = await loadWindows(WINDOWS, binary, nodes, namesOf, seconds, pgdata);
    return { any, owner, created };
  } finally {
    for (const node of nodes) await node.close().catch(() => undefined);
  }
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const counts = (flag("nodes") ?? "1,2,3").split(",").map(Number);
  const seconds = Number(flag("duration") ?? (quick ? 3 : 8));
  const agents = Number(flag("agents") ?? 1_000);
  const found = findWrk();
  const unavailable = postgresUnavailable();
  if ("missing" in found || unavailable !== undefined) {
    const rows: Row[] = [{ bench: "cluster-nodes", metric: "skipped", value: 0, unit: "", note: "missing" in found ? found.missing : unavailable }];
    emit(rows);
    return rows;
  }
  const rows: Row[] = [];
  const describe = (what: string, result: Measured, count: number): Row => ({
    bench: "cluster-nodes",
    metric: what,
    value: result.rate,
    unit: "req/s",
    note: `p99 ${result.p99ms.toFixed(1)} ms; ${result.errors} errors; nodes' CPU ${result.cpuUsPerRequest.toFixed(0)} µs/req${result.pgCpuUsPerRequest > 0 ? `, Postgres ${result.pgCpuUsPerRequest.toFixed(0)} µs/req` : ""}; ${count} wrk -t1 process(es), ${CONNECTIONS} connections in all; ${availableParallelism()} cores shared by all; ${result.note}`,
  });
  const single = await measure(found.binary, 1, undefined, agents, seconds);
  rows.push(describe(`no cluster (plain hearth start), ${agents} agents`, single.any, 1));
  rows.push({ bench: "cluster-nodes", metric: "no cluster: new agents (first POST), 16 at a time", value: single.created, unit: "agents/s", note: loadNote() });
  const postgres = await startBenchPostgres(true);
  const byCount = new Map<number, { any: Measured; owner?: Measured; created: number }>();
  try {
    for (const count of counts) {
      const result = await measure(found.binary, count, postgres, agents, seconds);
      byCount.set(count, result);
      rows.push(describe(`${count} node(s), to any node (${count > 1 ? `${Math.round(((count - 1) / count) * 100)} % forwarded` : "none forwarded"})`, result.any, count));
      if (result.owner) rows.push(describe(`${count} node(s), to the owner (none forwarded)`, result.owner, count));
      rows.push({ bench: "cluster-nodes", metric: `${count} node(s): new agents (first POST: claim, restore, first snapshot), 16 at a time`, value: result.created, unit: "agents/s", note: loadNote() });
    }
  } finally {
    postgres.stop();
  }
  const base = byCount.get(1);
  for (const [count, result] of byCount) {
    if (count === 1 || base?.owner === undefined || result.owner === undefined) continue;
    rows.push({ bench: "cluster-nodes", metric: `${count} nodes / 1 node, to the owner`, value: result.owner.rate / base.owner.rate, unit: "×", note: `${availableParallelism()} cores for the nodes, Postgres and wrk together` });
  }
  emit(rows);
  return rows;
}

if (import.meta.main) await main();
