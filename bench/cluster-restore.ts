/**
 * Restore time vs state size and log length: what a new owner does after it claims an agent, i.e.
 * `readHistory` from Postgres (the latest snapshot and the changesets after it) and `restoreAgentFile`
 * (snapshot image, changesets applied in one transaction, checkpoint, fsync, rename).
 *
 * Each log is made for real: an `AgentDatabase` replicated through `replicate()` and a `GroupCommitter`
 * to Postgres; the state (rows of 64 KiB blobs) is written, a schema change then ships it as one
 * snapshot, and N small commits (one 100-byte row each, each acknowledged before the next) follow as
 * N changesets.
 *
 *   npm run build && npx node bench/cluster-restore.ts [--quick] [--runs 3]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GroupCommitter, readHistory } from "../dist/cluster/pg/index.js";
import { replicate } from "../dist/cluster/replica/capture.js";
import { restoreAgentFile } from "../dist/cluster/replica/restore.js";
import { AgentDatabase } from "../dist/storage/database.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { emit, flag, hasFlag, log, percentile, removeDir, type Row } from "./lib/common.ts";
import { freshCluster, leaseInBulk, loadNote, megabytes, postgresUnavailable, sorted, startBenchPostgres } from "./lib/cluster-common.ts";

const BLOB = 64 * 1024;
const MB = 1024 * 1024;

interface Case {
  stateMb: number;
  changesets: number;
}

const FULL: Case[] = [
  { stateMb: 1, changesets: 0 },
  { stateMb: 10, changesets: 0 },
  { stateMb: 100, changesets: 0 },
  { stateMb: 1, changesets: 100 },
  { stateMb: 1, changesets: 1_000 },
  { stateMb: 1, changesets: 10_000 },
  { stateMb: 100, changesets: 1_000 },
];
const QUICK: Case[] = [
  { stateMb: 1, changesets: 0 },
  { stateMb: 10, changesets: 0 },
  { stateMb: 1, changesets: 1_000 },
];

let current: object | undefined;

async function event(db: AgentDatabase, write: () => void): Promise<void> {
  const owner = {};
  current = owner;
  try {
    write();
  } finally {
    current = undefined;
  }
  await db.endEvent(owner, false);
}

interface Timing {
  /** The commit that shipped the whole state as a snapshot: serialize() and the snapshot's transaction. */
  shipMs: number;
  readMs: number;
  restoreMs: number;
  snapshotBytes: number;
  changesetBytes: number;
  entries: number;
}

async function measure(url: string, { stateMb, changesets }: Case, runs: number): Promise<Timing> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cluster-restore-"));
  const { pool, schema } = await freshCluster(url);
  // A 100 MB snapshot is one bytea value sent as hex text: on a loaded machine that takes longer than
  // the committer's default 5 s per attempt and 10 s in all, so this log is written with more room.
  const committer = new GroupCommitter({ pool, schema, attemptTimeoutMs: 120_000, appendTimeoutMs: 300_000 });
  const actorId = "store/a";
  try {
    await leaseInBulk(pool, schema, [actorId]);
    const replication = replicate({ actorId, epoch: 1, startSeq: 1, appender: committer });
    const db = new AgentDatabase({ path: join(dir, "source.sqlite"), durability: "relaxed", identity: actorId, currentOwner: () => current, replication });
    await event(db, () => db.execScript("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB NOT NULL)"));
    const blob = new Uint8Array(BLOB).map((_, i) => (i * 31 + 7) & 0xff);
    const total = (stateMb * MB) / BLOB;
    for (let written = 0; written < total; ) {
      const upTo = Math.min(total, written + (4 * MB) / BLOB);
      await event(db, () => {
        const insert = db.statement("INSERT INTO blobs (body) VALUES (?)");
        for (; written < upTo; written++) insert.run(blob);
      });
    }
    // A schema change ships the whole file as one snapshot (and drops the log behind it).
    const shipStart = performance.now();
    await event(db, () => db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)"));
    const shipMs = performance.now() - shipStart;
    const note = "n".repeat(100);
    for (let i = 0; i < changesets; i++) await event(db, () => db.statement("INSERT INTO notes (text) VALUES (?)").run(note));
    db.close();
    log(`${stateMb} MB + ${changesets} changesets: log written (${committer.stats.entries} entries)`);

    const reads: number[] = [];
    const restores: number[] = [];
    let last: Awaited<ReturnType<typeof readHistory>> | undefined;
    for (let run = 0; run < runs; run++) {
      const readStart = performance.now();
      const history = await readHistory(pool, actorId, schema);
      reads.push(performance.now() - readStart);
      const restoreStart = performance.now();
      restoreAgentFile(join(dir, `restored-${run}.sqlite`), history);
      restores.push(performance.now() - restoreStart);
      last = history;
    }
    return {
      shipMs,
      readMs: percentile(sorted(reads), 50),
      restoreMs: percentile(sorted(restores), 50),
      snapshotBytes: last?.snapshot?.image.byteLength ?? 0,
      changesetBytes: last?.changesets.reduce((sum, entry) => sum + entry.payload.byteLength, 0) ?? 0,
      entries: last?.changesets.length ?? 0,
    };
  } finally {
    await committer.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await whenFilesSettled();
    removeDir(dir);
  }
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const runs = Number(flag("runs") ?? (quick ? 1 : 3));
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) {
    const rows: Row[] = [{ bench: "cluster-restore", metric: "skipped", value: 0, unit: "", note: unavailable }];
    emit(rows);
    return rows;
  }
  const postgres = await startBenchPostgres(false);
  const rows: Row[] = [];
  try {
    for (const item of quick ? QUICK : FULL) {
      const timing = await measure(postgres.url, item, runs);
      const total = timing.readMs + timing.restoreMs;
      log(`${item.stateMb} MB + ${item.changesets} changesets: read ${timing.readMs.toFixed(0)} ms, restore ${timing.restoreMs.toFixed(0)} ms`);
      rows.push({
        bench: "cluster-restore",
        metric: `${item.stateMb} MB state, snapshot + ${item.changesets.toLocaleString("en-US")} changesets: read + restore`,
        value: total,
        unit: "ms",
        note: `readHistory ${timing.readMs.toFixed(0)} ms + restoreAgentFile ${timing.restoreMs.toFixed(0)} ms; snapshot ${megabytes(timing.snapshotBytes)}, ${timing.entries} changesets (${megabytes(timing.changesetBytes)}); median of ${runs}; shipping that snapshot took ${timing.shipMs.toFixed(0)} ms; ${loadNote()}`,
      });
    }
  } finally {
    postgres.stop();
  }
  emit(rows);
  return rows;
}

if (import.meta.main) await main();
