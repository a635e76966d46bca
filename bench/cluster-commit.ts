/**
 * Commit latency and throughput with 100 / 1,000 / 10,000 active agents, and Postgres WAL bytes per
 * commit: real `AgentDatabase`s (files on disk) whose commits go through `replicate()` to a real
 * `GroupCommitter` on a real Postgres (fsync and synchronous_commit on), in three ways:
 *
 * - single node: no replication (relaxed and strict durability), the reference;
 * - batched: one GroupCommitter, every commit of an event-loop turn in one fenced INSERT;
 * - one INSERT per commit: the same committer with `maxBatchEntries: 1` (each commit its own fenced
 *   statement, up to 8 at once on the pool).
 *
 * Every agent runs a closed loop: an event (one counter upsert + one row INSERT), then waits until it is
 * durable (the output gate's promise), then the next. Latency is from the event's first statement to
 * that promise; throughput is acknowledged commits per second over all agents.
 *
 * An open agent file in WAL mode holds 3 descriptors. When the agents need more than this process may
 * open (this VM's limit is 20,000, not raisable), they are split over as many processes as needed
 * (10,000 agents: 2 × 5,000), each with its own committer and pool — as the same agents on two nodes —
 * and every mode of that row is split the same way, so its ratios compare like with like. The
 * processes set up, then start their measured windows together.
 *
 *   npm run build && npx node bench/cluster-commit.ts [--quick] [--agents 100,1000,10000] [--duration 5]
 */
import { fork } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { createClusterPool, GroupCommitter } from "../dist/cluster/pg/index.js";
import { replicate } from "../dist/cluster/replica/capture.js";
import { AgentDatabase } from "../dist/storage/database.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { emit, flag, hasFlag, log, percentile, removeDir, type Row } from "./lib/common.ts";
import { freshCluster, leaseInBulk, loadNote, postgresUnavailable, sorted, startBenchPostgres, walPosition } from "./lib/cluster-common.ts";

type Mode = "single node, relaxed" | "single node, strict" | "batched (GroupCommitter)" | "one INSERT per commit";
const MODES: Mode[] = ["single node, relaxed", "single node, strict", "batched (GroupCommitter)", "one INSERT per commit"];

/** Descriptors an open agent file holds in WAL mode (the file, -wal, -shm). */
const FDS_PER_AGENT = 3;
/** Descriptors kept free for everything else in a process (Postgres connections, modules, stdio). */
const FDS_SPARE = 1_500;

/** Open files a process may hold (the soft limit, 20,000 here). */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((text) => text.startsWith("Max open files"));
  return Number(line?.split(/\s{2,}/)[1] ?? 1024);
}

/** How many processes `agents` open files need. */
function processesFor(agents: number): number {
  const perProcess = Math.max(1, Math.floor((openFileLimit() - FDS_SPARE) / FDS_PER_AGENT));
  return Math.ceil(agents / perProcess);
}

/** One process's share of a measurement: agents `offset` … `offset + agents - 1`. */
interface Part {
  mode: Mode;
  agents: number;
  offset: number;
  seconds: number;
  /** The cluster's Postgres and schema (leases made by the parent); absent for single node. */
  cluster?: { url: string; schema: string };
}

interface PartResult {
  latencies: number[];
  failures: string[];
  cpuUs: number;
  seconds: number;
  entries: number;
  statements: number;
}

let current: object | undefined;

/**
 * Sets up one share of the agents (files, tables, a committer), runs a second of unmeasured warm-up,
 * waits for `go` (every process's set-up done), then measures.
 */
async function runPart(part: Part, go: () => Promise<void>): Promise<PartResult> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cluster-commit-"));
  const pool = part.cluster === undefined ? undefined : createClusterPool({ connectionString: part.cluster.url, max: 8, applicationName: "hearth-bench" });
  const committer = pool === undefined ? undefined : new GroupCommitter({ pool, schema: part.cluster!.schema, ...(part.mode === "one INSERT per commit" ? { maxBatchEntries: 1 } : {}) });
  const dbs: AgentDatabase[] = [];
  try {
    for (let i = part.offset; i < part.offset + part.agents; i++) {
      const id = `counter/a${i}`;
      const replication = committer === undefined ? undefined : replicate({ actorId: id, epoch: 1, startSeq: 1, appender: committer });
      const db = new AgentDatabase({ path: join(dir, `a${i}.sqlite`), durability: part.mode === "single node, strict" ? "strict" : "relaxed", identity: id, currentOwner: () => current, ...(replication ? { replication } : {}) });
      db.execScript("CREATE TABLE counters (k TEXT PRIMARY KEY, n INTEGER NOT NULL); CREATE TABLE hits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
      db.flush();
      dbs.push(db);
      if (dbs.length % 500 === 0) await Promise.all(dbs.slice(-500).map((each) => each.whenCommitted()));
    }
    await Promise.all(dbs.map((db) => db.whenCommitted()));

    const latencies: number[] = [];
    const failures: string[] = [];
    let running = true;
    const event = async (db: AgentDatabase): Promise<number> => {
      const owner = {};
      const start = performance.now();
      current = owner;
      try {
        db.statement("INSERT INTO counters (k, n) VALUES ('c', 1) ON CONFLICT (k) DO UPDATE SET n = n + 1").run();
        db.statement("INSERT INTO hits (at) VALUES (?)").run(Date.now());
      } finally {
        current = undefined;
      }
      await db.endEvent(owner, false);
      return performance.now() - start;
    };
    // A failed commit breaks the agent's replication for good (docs/cluster/replication.md): its loop ends.
    // A commit counts when its event started inside the window; the window ends when the last one settles.
    const loop = async (db: AgentDatabase, record: boolean): Promise<void> => {
      while (running) {
        let ms: number;
        try {
          ms = await event(db);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
          return;
        }
        if (record) latencies.push(ms);
      }
    };
    const warm = dbs.map((db) => loop(db, false));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    running = false;
    await Promise.all(warm);

    await go();
    const entriesBefore = committer?.stats.entries ?? 0;
    const statementsBefore = committer?.stats.statements ?? 0;
    running = true;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const loops = dbs.map((db) => loop(db, true));
    await new Promise((resolve) => setTimeout(resolve, part.seconds * 1_000));
    running = false;
    await Promise.all(loops);
    const used = process.cpuUsage(cpu);
    return {
      latencies,
      failures,
      cpuUs: used.user + used.system,
      seconds: (performance.now() - started) / 1_000,
      entries: (committer?.stats.entries ?? 0) - entriesBefore,
      statements: (committer?.stats.statements ?? 0) - statementsBefore,
    };
  } finally {
    for (const db of dbs) db.close();
    await committer?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await whenFilesSettled();
    removeDir(dir);
  }
}

type ToPart = { type: "start"; part: Part } | { type: "go" };
type FromPart = { type: "ready" } | { type: "result"; result: PartResult } | { type: "error"; error: string };

/** Runs the parts in child processes: each sets up, they all start measuring at once, their results come back. */
async function runInProcesses(parts: Part[], walBefore: () => Promise<void>): Promise<PartResult[]> {
  const children = parts.map((part) => {
    const child = fork(fileURLToPath(import.meta.url), ["--part"], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    const ready = Promise.withResolvers<void>();
    const done = Promise.withResolvers<PartResult>();
    child.on("message", (message: FromPart) => {
      if (message.type === "ready") ready.resolve();
      else if (message.type === "result") done.resolve(message.result);
      else done.reject(new Error(message.error));
    });
    child.on("exit", (code) => {
      const error = new Error(`a measuring process exited with code ${code} before its result`);
      ready.reject(error);
      done.reject(error);
    });
    child.send({ type: "start", part } satisfies ToPart);
    return { child, ready: ready.promise, done: done.promise };
  });
  try {
    await Promise.all(children.map((each) => each.ready));
    await walBefore();
    for (const { child } of children) child.send({ type: "go" } satisfies ToPart);
    return await Promise.all(children.map((each) => each.done));
  } finally {
    for (const { child } of children) if (child.exitCode === null) child.kill();
  }
}

/** The child side of {@link runInProcesses}. */
function partMain(): void {
  const go = Promise.withResolvers<void>();
  process.on("message", (message: ToPart) => {
    if (message.type === "go") {
      go.resolve();
      return;
    }
    runPart(message.part, () => {
      process.send!({ type: "ready" } satisfies FromPart);
      return go.promise;
    }).then(
      (result) => process.send!({ type: "result", result } satisfies FromPart, () => process.exit(0)),
      (error: unknown) => process.send!({ type: "error", error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies FromPart, () => process.exit(1)),
    );
  });
}

interface Result {
  commits: number;
  seconds: number;
  p50: number;
  p99: number;
  cpuUsPerCommit: number;
  walBytesPerCommit?: number;
  commitsPerStatement?: number;
  /** Agents whose commit failed (their loop ended there), warm-up included. */
  failures: number;
  firstFailure?: string;
  processes: number;
  note: string;
}

async function measure(mode: Mode, agents: number, seconds: number, url: string | undefined): Promise<Result> {
  const cluster = mode.startsWith("single") || url === undefined ? undefined : await freshCluster(url, 2);
  try {
    if (cluster !== undefined) await leaseInBulk(cluster.pool, cluster.schema, Array.from({ length: agents }, (_, i) => `counter/a${i}`));
    const processes = processesFor(agents);
    const share = Math.ceil(agents / processes);
    const parts: Part[] = Array.from({ length: processes }, (_, i) => ({
      mode,
      agents: Math.min(share, agents - i * share),
      offset: i * share,
      seconds,
      ...(cluster !== undefined ? { cluster: { url: url!, schema: cluster.schema } } : {}),
    }));
    let walBefore: bigint | undefined;
    const readWal = async () => {
      if (cluster !== undefined) walBefore = await walPosition(cluster.pool);
    };
    log(`${mode}, ${agents} agents${processes > 1 ? ` in ${processes} processes` : ""}: setting up`);
    const results = processes === 1 ? [await runPart(parts[0]!, readWal)] : await runInProcesses(parts, readWal);
    const walAfter = cluster === undefined ? undefined : await walPosition(cluster.pool);
    const latencies = results.flatMap((result) => result.latencies);
    const failures = results.flatMap((result) => result.failures);
    const commits = latencies.length;
    const sum = (pick: (result: PartResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const ordered = sorted(latencies);
    return {
      commits,
      seconds: Math.max(...results.map((result) => result.seconds)),
      p50: percentile(ordered, 50),
      p99: percentile(ordered, 99),
      cpuUsPerCommit: sum((result) => result.cpuUs) / Math.max(1, commits),
      ...(walBefore !== undefined && walAfter !== undefined ? { walBytesPerCommit: Number(walAfter - walBefore) / Math.max(1, commits) } : {}),
      ...(cluster !== undefined ? { commitsPerStatement: sum((result) => result.entries) / Math.max(1, sum((result) => result.statements)) } : {}),
      failures: failures.length,
      ...(failures[0] !== undefined ? { firstFailure: failures[0] } : {}),
      processes,
      note: loadNote(),
    };
  } finally {
    await (cluster?.pool as pg.Pool | undefined)?.end().catch(() => undefined);
  }
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const counts = (flag("agents") ?? (quick ? "100,1000" : "100,1000,10000")).split(",").map(Number);
  const seconds = Number(flag("duration") ?? (quick ? 2 : 5));
  const unavailable = postgresUnavailable();
  const postgres = unavailable === undefined ? await startBenchPostgres(true) : undefined;
  if (unavailable) log(`Postgres: ${unavailable}; only single-node figures`);
  const rows: Row[] = [];
  try {
    for (const agents of counts) {
      for (const mode of MODES) {
        if (!mode.startsWith("single") && postgres === undefined) continue;
        const result = await measure(mode, agents, seconds, postgres?.url);
        const rate = result.commits / result.seconds;
        log(`${mode}, ${agents} agents: ${rate.toFixed(0)} commits/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms`);
        const where = `${agents.toLocaleString("en-US")} agents, ${mode}`;
        const batching = result.commitsPerStatement === undefined ? "" : `; ${result.commitsPerStatement.toFixed(1)} commits per INSERT`;
        const failed = result.failures === 0 ? "" : `; **${result.failures} agents' commits failed** (${result.firstFailure?.slice(0, 160)})`;
        const split = result.processes === 1 ? "" : `; agents split over ${result.processes} processes (${FDS_PER_AGENT} descriptors per open file, a limit of ${openFileLimit()} per process), each with its own committer, measuring at once`;
        const base = `${result.seconds.toFixed(1)} s, ${result.commits} commits${failed}; p50 ${result.p50.toFixed(2)} ms; CPU ${result.cpuUsPerCommit.toFixed(0)} µs/commit in the measuring process(es)${batching}${split}; ${result.note}`;
        rows.push({ bench: "cluster-commit", metric: `${where}: throughput`, value: rate, unit: "commits/s", note: base });
        rows.push({ bench: "cluster-commit", metric: `${where}: latency p99`, value: result.p99, unit: "ms", note: `p50 ${result.p50.toFixed(2)} ms` });
        if (result.walBytesPerCommit !== undefined) {
          rows.push({ bench: "cluster-commit", metric: `${where}: Postgres WAL per commit`, value: result.walBytesPerCommit, unit: "B", note: `pg_current_wal_insert_lsn() difference / commits${batching}` });
        }
      }
    }
  } finally {
    postgres?.stop();
  }
  emit(rows);
  return rows;
}

if (hasFlag("part")) partMain();
else if (import.meta.main) await main();
