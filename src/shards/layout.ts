import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * Where each shard keeps the host's own files (schedule index, catalog, task journal): one directory
 * per shard under `<dataDir>/shards/`, since those files are opened by one thread each. Agents' files
 * stay where they always are: which shard opens one is decided by hashing, not by where it lies.
 */
export function shardStateDir(dataDir: string, index: number, count: number): string {
  return count <= 1 ? dataDir : join(dataDir, "shards", `${count}`, `${index}`);
}

/** The workflow engine's file: kept by the first shard's host (the one that runs the engine). */
const WORKFLOW_STORE = "workflows.sqlite";

/** The files of a host's state that are rebuilt from the agents' files when missing. */
const REBUILT_FILES = ["host.sqlite", "host.sqlite-wal", "catalog.sqlite", "catalog.sqlite-wal"];

/**
 * Gets a data directory ready for `count` shards before any host opens it. The schedule index and the
 * catalog of a layout other than the last one used are stale (agents wrote schedules through other
 * indexes meanwhile), so they are removed and each host rebuilds its own from the agents' files: once,
 * when the number of threads changes. Returns whether that happened.
 */
export function prepareShardLayout(dataDir: string, count: number): boolean {
  const shardsDir = join(dataDir, "shards");
  const marker = join(shardsDir, "layout");
  const last = existsSync(marker) ? Number(readFileSync(marker, "utf8").trim()) : existsSync(shardsDir) ? Number.NaN : 1;
  if (last === count) {
    // A move the last start began and did not finish (see below).
    if (count > 1) moveWorkflowStore(dataDir, shardStateDir(dataDir, 0, count));
    return false;
  }
  // The workflow instances are not rebuilt: their file goes to the data directory (where one thread
  // keeps it) before the shards' directories go, then on to the new first shard's directory once the
  // new layout is recorded, so a start that stops half-way finds it and finishes the move.
  if (last > 1) moveWorkflowStore(shardStateDir(dataDir, 0, last), dataDir);
  // A change: every index and catalog, the single host's and the shards', is rebuilt.
  for (const file of REBUILT_FILES) rmSync(join(dataDir, file), { force: true });
  rmSync(shardsDir, { recursive: true, force: true });
  if (count > 1) {
    mkdirSync(shardsDir, { recursive: true });
    for (let index = 0; index < count; index++) mkdirSync(shardStateDir(dataDir, index, count), { recursive: true });
    writeFileSync(marker, `${count}\n`);
    moveWorkflowStore(dataDir, shardStateDir(dataDir, 0, count));
  }
  return true;
}

/**
 * Moves the workflow store from one state directory to another as one file: its WAL is checkpointed
 * into it first, so the rename carries every commit (a crash between the steps leaves it whole in
 * one place or the other, and the next start moves it on).
 */
function moveWorkflowStore(from: string, to: string): void {
  const source = join(from, WORKFLOW_STORE);
  const target = join(to, WORKFLOW_STORE);
  if (!existsSync(source)) return;
  if (existsSync(target)) throw new Error(`Two workflow stores: ${source} and ${target}. Keep the one with your instances and remove the other.`);
  const db = new DatabaseSync(source);
  try {
    const { busy } = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    if (busy !== 0) throw new Error(`${source} is in use by another process: stop it before changing the number of threads`);
  } finally {
    db.close();
  }
  // Emptied by the checkpoint (and normally removed by the close).
  for (const suffix of ["-wal", "-shm"]) rmSync(source + suffix, { force: true });
  renameSync(source, target);
}
