/**
 * 1,000,000 agents registered across a three-node cluster: a lease row and a first commit each, and
 * how large Postgres is then. Three real memberships (`Membership.join`: heartbeat rows, incarnations)
 * in this process share the agents round-robin.
 *
 * - **Claims, batched**: for never-seen agents, one statement per 10,000 inserts their lease rows
 *   (owner, incarnation, epoch 1) and their epoch_start markers at seq 1 (`leaseInBulk`). A conflict
 *   would mean another node has the agent; the runtime's `Leases.claim` does one agent per transaction.
 * - **First commit**: a changeset at seq 2 through the real `GroupCommitter` (2,000 entries per fenced
 *   INSERT, several in flight). Its bytes are a real changeset: a new agent file replicated through
 *   `replicate()` with one row written, captured once and sent for every agent.
 * - A new agent's very first commit makes its tables, which ships the whole file as a snapshot (one
 *   transaction each, not batched). That is measured on a sample and extrapolated, labelled as such.
 *
 * Runs until the count or the time budget is reached, and extrapolates to 1,000,000 when the budget
 * ends first (labelled).
 *
 *   npm run build && npx node bench/cluster-register.ts [--quick] [--agents 1000000] [--budget 480] [--sample 5000]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogAppender, LogEntry } from "../dist/cluster/log.js";
import { GroupCommitter, Membership } from "../dist/cluster/pg/index.js";
import { replicate } from "../dist/cluster/replica/capture.js";
import { AgentDatabase } from "../dist/storage/database.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { emit, flag, hasFlag, log, removeDir, type Row } from "./lib/common.ts";
import { clusterSize, freshCluster, leaseInBulk, loadNote, megabytes, postgresUnavailable, startBenchPostgres, walPosition } from "./lib/cluster-common.ts";

const CHUNK = 10_000;

/** A new agent's first two entries, captured from a real replicated AgentDatabase: its tables (a snapshot) and one row (a changeset). */
async function firstEntries(): Promise<{ snapshot: Uint8Array; changeset: Uint8Array }> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cluster-register-"));
  const entries: LogEntry[] = [];
  const appender: LogAppender = { append: (entry) => (entries.push(entry), Promise.resolve()) };
  let current: object | undefined;
  const db = new AgentDatabase({ path: join(dir, "a.sqlite"), durability: "relaxed", identity: "list-agent/a", currentOwner: () => current, replication: replicate({ actorId: "list-agent/a", epoch: 1, startSeq: 1, appender }) });
  try {
    for (const write of [() => db.execScript("CREATE TABLE items (position INTEGER PRIMARY KEY, value TEXT NOT NULL)"), () => db.statement("INSERT INTO items (value) VALUES (?)").run("first value")]) {
      const owner = {};
      current = owner;
      write();
      current = undefined;
      await db.endEvent(owner, false);
    }
  } finally {
    db.close();
    await whenFilesSettled();
    removeDir(dir);
  }
  const snapshot = entries.find((entry) => entry.kind === "snapshot");
  const changeset = entries.find((entry) => entry.kind === "changeset");
  if (!snapshot || !changeset) throw new Error(`expected a snapshot and a changeset, got ${entries.map((entry) => entry.kind).join(", ")}`);
  return { snapshot: snapshot.payload, changeset: changeset.payload };
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const target = Number(flag("agents") ?? (quick ? 50_000 : 1_000_000));
  const budgetMs = Number(flag("budget") ?? (quick ? 60 : 480)) * 1_000;
  const sampleSize = Number(flag("sample") ?? (quick ? 1_000 : 5_000));
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) {
    const rows: Row[] = [{ bench: "cluster-register", metric: "skipped", value: 0, unit: "", note: unavailable }];
    emit(rows);
    return rows;
  }
  const payloads = await firstEntries();
  const postgres = await startBenchPostgres(true);
  const { pool, schema } = await freshCluster(postgres.url);
  const nodes: Membership[] = [];
  const committer = new GroupCommitter({ pool, schema });
  const rows: Row[] = [];
  try {
    for (const nodeId of ["a", "b", "c"]) nodes.push(await Membership.join({ pool, nodeId, address: `http://127.0.0.1:0/${nodeId}`, schema }));
    const emptySize = await clusterSize(pool, schema);
    const walStart = await walPosition(pool);

    // The million: batched claims, then a first changeset each, chunk by chunk.
    let registered = 0;
    let claimMs = 0;
    let commitMs = 0;
    const started = performance.now();
    while (registered < target && performance.now() - started < budgetMs) {
      const count = Math.min(CHUNK, target - registered);
      const ids = Array.from({ length: count }, (_, i) => `list-agent/a${registered + i}`);
      const claimStart = performance.now();
      for (const [n, node] of nodes.entries()) {
        await leaseInBulk(pool, schema, ids.filter((_, i) => (registered + i) % nodes.length === n), node.nodeId, node.incarnation);
      }
      const commitStart = performance.now();
      claimMs += commitStart - claimStart;
      await Promise.all(ids.map((actorId) => committer.append({ actorId, seq: 2, epoch: 1, kind: "changeset", payload: payloads.changeset })));
      commitMs += performance.now() - commitStart;
      registered += count;
      if (registered % 100_000 === 0 || registered === target) log(`${registered.toLocaleString("en-US")} agents in ${((performance.now() - started) / 1000).toFixed(0)} s (${loadNote()})`);
    }
    const seconds = (performance.now() - started) / 1_000;
    const size = await clusterSize(pool, schema);
    const walBytes = Number((await walPosition(pool)) - walStart);
    const note = loadNote();

    // The sample: the schema-creating first commit, a snapshot per agent (one transaction each).
    const sampleIds = Array.from({ length: sampleSize }, (_, i) => `list-agent/s${i}`);
    await leaseInBulk(pool, schema, sampleIds, nodes[0]!.nodeId, nodes[0]!.incarnation);
    const beforeSample = await clusterSize(pool, schema);
    const sampleStart = performance.now();
    // In waves of 64 new agents: each snapshot is a transaction of its own, and thousands at once would
    // wait longer for one of the pool's 8 connections than an attempt may take (5 s).
    let failed = 0;
    for (let i = 0; i < sampleIds.length; i += 64) {
      const wave = sampleIds.slice(i, i + 64).map((actorId) => committer.append({ actorId, seq: 2, epoch: 1, kind: "snapshot", payload: payloads.snapshot }));
      failed += (await Promise.allSettled(wave)).filter((outcome) => outcome.status === "rejected").length;
    }
    const sampleSeconds = (performance.now() - sampleStart) / 1_000;
    const afterSample = await clusterSize(pool, schema);
    const snapshotBytesPerAgent = (afterSample.database - beforeSample.database) / sampleSize;

    const perAgent = (size.database - emptySize.database) / registered;
    const extrapolated = registered >= 1_000_000 ? "" : ` (extrapolated from ${registered.toLocaleString("en-US")}${registered < target ? `, all that the ${budgetMs / 1000} s budget allowed` : ""})`;
    const scale = 1_000_000 / registered;
    const tableNote = Object.entries(size.tables).map(([name, bytes]) => `${name} ${megabytes(bytes)}`).join(", ");
    rows.push({
      bench: "cluster-register",
      metric: `agents registered (lease + epoch_start + first changeset), 3 nodes`,
      value: registered,
      unit: "agents",
      note: `${seconds.toFixed(0)} s: ${(registered / seconds).toFixed(0)} agents/s; batched claims ${claimMs.toFixed(0)} ms, first commits ${commitMs.toFixed(0)} ms (${committer.stats.statements} INSERTs); ${note}`,
    });
    rows.push({ bench: "cluster-register", metric: `time for 1,000,000 agents${extrapolated}`, value: seconds * scale, unit: "s", note: `changeset of ${payloads.changeset.byteLength} B each, Postgres fsync on; ${note}` });
    rows.push({
      bench: "cluster-register",
      metric: `Postgres database size at 1,000,000 agents${extrapolated}`,
      value: (emptySize.database + perAgent * 1_000_000) / 1024 / 1024,
      unit: "MiB",
      note: `${perAgent.toFixed(0)} B per agent; at ${registered.toLocaleString("en-US")}: ${tableNote}; WAL written ${megabytes(walBytes)}`,
    });
    rows.push({
      bench: "cluster-register",
      metric: `first commit as a snapshot (the agent's new tables): ${sampleSize.toLocaleString("en-US")} agents`,
      value: sampleSize / sampleSeconds,
      unit: "agents/s",
      note: `${failed > 0 ? `**${failed} failed**; ` : ""}${payloads.snapshot.byteLength} B image each, one transaction each, 64 at a time; TOAST compresses it: ${snapshotBytesPerAgent.toFixed(0)} B of database per agent, so ≈ ${megabytes(snapshotBytesPerAgent * 1_000_000)} and ≈ ${(1_000_000 / (sampleSize / sampleSeconds) / 60).toFixed(0)} min more for 1,000,000 (extrapolated); ${loadNote()}`,
    });
  } finally {
    await committer.close().catch(() => undefined);
    for (const node of nodes) await node.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    postgres.stop();
  }
  emit(rows);
  return rows;
}

if (import.meta.main) await main();
