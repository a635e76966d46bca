/**
 * Commit latency and throughput with 100 / 1,000 / 10,000 active agents, and Postgres WAL bytes per
 * commit. In one process: real `AgentDatabase`s (files on disk) whose commits go through `replicate()`
 * to a real `GroupCommitter` on a real Postgres (fsync and synchronous_commit on), in three ways:
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
 *   npm run build && npx node bench/cluster-commit.ts [--quick] [--agents 100,1000,10000] [--duration 5]
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { GroupCommitter } from "../dist/cluster/pg/index.js";
import { replicate } from "../dist/cluster/replica/capture.js";
import { AgentDatabase } from "../dist/storage/database.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { emit, flag, hasFlag, log, percentile, removeDir, type Row } from "./lib/common.ts";
import { freshCluster, leaseInBulk, loadNote, postgresUnavailable, sorted, startBenchPostgres, walPosition } from "./lib/cluster-common.ts";

type Mode = "single node, relaxed" | "single node, strict" | "batched (GroupCommitter)" | "one INSERT per commit";
const MODES: Mode[] = ["single node, relaxed", "single node, strict", "batched (GroupCommitter)", "one INSERT per commit"];

/** Open files this process may hold (the soft limit, 20,000 here): an open agent file in WAL mode takes 3. */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((text) => text.startsWith("Max open files"));
  return Number(line?.split(/\s{2,}/)[1] ?? 1024);
}

interface Result {
  mode: Mode;
  agents: number;
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
  note: string;
}

let current: object | undefined;

async function measure(mode: Mode, agents: number, seconds: number, url: string | undefined): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cluster-commit-"));
  const cluster = mode.startsWith("single") || url === undefined ? undefined : await freshCluster(url);
  const committer = cluster === undefined ? undefined : new GroupCommitter({ pool: cluster.pool, schema: cluster.schema, ...(mode === "one INSERT per commit" ? { maxBatchEntries: 1 } : {}) });
  const ids = Array.from({ length: agents }, (_, i) => `counter/a${i}`);
  const dbs: AgentDatabase[] = [];
  try {
    if (cluster !== undefined) await leaseInBulk(cluster.pool, cluster.schema, ids);
    // More agents than the open-file limit allows: each connection is parked (closed) after its commit.
    const park = agents * 3 + 1_000 > openFileLimit();
    for (const [i, id] of ids.entries()) {
      const replication = committer === undefined ? undefined : replicate({ actorId: id, epoch: 1, startSeq: 1, appender: committer });
      const db = new AgentDatabase({ path: join(dir, `a${i}.sqlite`), durability: mode === "single node, strict" ? "strict" : "relaxed", identity: id, currentOwner: () => current, ...(replication ? { replication } : {}) });
      db.execScript("CREATE TABLE counters (k TEXT PRIMARY KEY, n INTEGER NOT NULL); CREATE TABLE hits (id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
      db.flush();
      dbs.push(db);
      if (i % 500 === 499) {
        await Promise.all(dbs.slice(-500).map((each) => each.whenCommitted()));
        if (park) for (const each of dbs.slice(-500)) each.park();
      }
    }
    await Promise.all(dbs.map((db) => db.whenCommitted()));
    if (park) for (const db of dbs) db.park();
    log(`${mode}, ${agents} agents: set up`);

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
      const durable = db.endEvent(owner, false);
      // Parked right after the local commit, not once durable: 10,000 agents waiting for the log at
      // once would otherwise hold 30,000 descriptors open (their output waits beyond the connection).
      if (park) {
        db.flush();
        db.park();
      }
      await durable;
      const ms = performance.now() - start;
      // Without a log to wait for, every loop would run on in microtasks and never let the timer end the window.
      if (park) await new Promise((resolve) => setImmediate(resolve));
      return ms;
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
    if (!park) {
      // Warm-up: every agent's loop for a second, unmeasured (with parking, a round takes far longer).
      const warm = dbs.map((db) => loop(db, false));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      running = false;
      await Promise.all(warm);
    }

    const walBefore = cluster === undefined ? undefined : await walPosition(cluster.pool);
    const statementsBefore = committer?.stats.statements ?? 0;
    const entriesBefore = committer?.stats.entries ?? 0;
    running = true;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const loops = dbs.map((db) => loop(db, true));
    await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
    running = false;
    await Promise.all(loops);
    const elapsed = (performance.now() - started) / 1_000;
    const used = process.cpuUsage(cpu);
    const note = loadNote();
    const walAfter = cluster === undefined ? undefined : await walPosition(cluster.pool);
    const commits = latencies.length;
    const shipped = (committer?.stats.entries ?? 0) - entriesBefore;
    const statements = (committer?.stats.statements ?? 0) - statementsBefore;
    const ordered = sorted(latencies);
    return {
      mode,
      agents,
      commits,
      seconds: elapsed,
      p50: percentile(ordered, 50),
      p99: percentile(ordered, 99),
      cpuUsPerCommit: (used.user + used.system) / Math.max(1, commits),
      ...(walBefore !== undefined && walAfter !== undefined ? { walBytesPerCommit: Number(walAfter - walBefore) / Math.max(1, commits) } : {}),
      ...(committer ? { commitsPerStatement: shipped / Math.max(1, statements) } : {}),
      failures: failures.length,
      ...(failures[0] !== undefined ? { firstFailure: failures[0] } : {}),
      note: `${note}${park ? `; **every commit reopens its file**: ${agents} agents × 3 fds exceed the open-file limit of ${openFileLimit()}, so each connection is parked after its commit` : ""}`,
    };
  } finally {
    for (const db of dbs) db.close();
    await committer?.close().catch(() => undefined);
    await (cluster?.pool as pg.Pool | undefined)?.end().catch(() => undefined);
    await whenFilesSettled();
    removeDir(dir);
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
        const base = `${result.seconds.toFixed(1)} s, ${result.commits} commits${failed}; p50 ${result.p50.toFixed(2)} ms; CPU ${result.cpuUsPerCommit.toFixed(0)} µs/commit in this process${batching}; ${result.note}`;
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

if (import.meta.main) await main();
