import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { templateBytes } from "../../storage/agent-file-setup.ts";
import type { ActorHistory } from "../log.ts";
import { DEFAULT_META_TABLE, LOG_SEQ_KEY } from "./capture.ts";

/**
 * Builds an agent's local file from its log: the latest snapshot's image (or, with none, a new agent
 * file), then every changeset after it applied in one transaction. The file is built beside `path`
 * and renamed over it once complete and synced, so a crash leaves either the old file or the new one;
 * the old file's `-wal`/`-shm` are removed first (never replayed onto the new one). The result opens
 * through `openAgentFile` like any agent file (WAL, settled: no boot stamp).
 *
 * Replay runs with `defensive` off (FTS5 and other virtual tables keep their rows in shadow tables,
 * which defensive mode forbids writing), foreign keys off (the source enforced them; its changesets
 * hold the cascaded rows too), and the file's triggers dropped for the replay and made again before
 * the commit (the changesets already hold every row the source's triggers wrote).
 * @example
 * restoreAgentFile(path, await log.history("counter/a"));
 * const { db } = openAgentFile({ path, durability: "strict", identity: "counter/a", bootStamp });
 */
export function restoreAgentFile(path: string, history: ActorHistory, options: { empty?: boolean } = {}): void {
  checkOrder(history);
  mkdirSync(dirname(path), { recursive: true });
  const building = `${path}.restore`;
  removeWithSidecars(building);
  // `empty`: not an agent's file (a D1 database), which starts with no tables at all.
  writeFileSync(building, history.snapshot?.image ?? (options.empty ? new Uint8Array() : templateBytes()));
  try {
    replay(building, history, path);
    syncFile(building);
  } catch (error) {
    removeWithSidecars(building);
    throw error;
  }
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  renameSync(building, path);
  syncFile(dirname(path));
}

/**
 * The log position a local file reflects ('log_seq' in `_hearth_meta`, written by every replicated
 * commit); undefined when there is no file or it has none. The file must not be open.
 * @example
 * if (logPosition(path) !== historyPosition(history)) restoreAgentFile(path, history);
 */
export function logPosition(path: string, metaTable: string = DEFAULT_META_TABLE): number | undefined {
  if (!existsSync(path)) return undefined;
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const row = db.prepare(`SELECT value FROM "${metaTable.replaceAll('"', '""')}" WHERE key = ?`).get(LOG_SEQ_KEY);
    return row === undefined ? undefined : Number(row.value);
  } catch (error) {
    if (/no such table/i.test((error as Error).message)) return undefined;
    throw new Error(`Cannot read the log position of ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    db.close();
  }
}

/**
 * The log position a file restored from `history` has: the seq of its last snapshot or changeset
 * (`epoch_start` markers take seqs but change nothing); undefined for a log with neither. A cached
 * file is current when {@link logPosition} equals it — and only if the node that wrote the file never
 * had its replication broken (see docs/cluster/replication.md).
 * @example
 * if (logPosition(path) !== historyPosition(history)) restoreAgentFile(path, history);
 */
export function historyPosition(history: ActorHistory): number | undefined {
  return history.changesets.at(-1)?.seq ?? history.snapshot?.seq;
}

function replay(file: string, history: ActorHistory, target: string): void {
  const db = new DatabaseSync(file, { defensive: false, enableForeignKeyConstraints: false });
  try {
    try {
      // The image keeps its source's journal mode and boot stamp: make it a settled WAL agent file.
      db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA application_id = 0;");
    } catch (error) {
      const what = history.snapshot === undefined ? "the new agent file" : `the snapshot at seq ${history.snapshot.seq}`;
      throw new Error(`Cannot restore ${target}: ${what} is not a usable SQLite database (${(error as Error).message})`, { cause: error });
    }
    if (history.changesets.length > 0) applyAll(db, history);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
}

function applyAll(db: DatabaseSync, history: ActorHistory): void {
  const triggers = db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' ORDER BY rowid").all();
  db.exec("BEGIN");
  try {
    for (const { name } of triggers) db.exec(`DROP TRIGGER ${quoteIdentifier(String(name))}`);
    for (const { seq, payload } of history.changesets) {
      if (!db.applyChangeset(payload)) {
        throw new Error(`Cannot restore: the changeset at seq ${seq} conflicts with the rows before it (the log does not continue this file's state)`);
      }
    }
    for (const { sql } of triggers) db.exec(String(sql));
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

function checkOrder(history: ActorHistory): void {
  let previous = history.snapshot?.seq ?? 0;
  for (const { seq } of history.changesets) {
    if (!(seq > previous)) {
      throw new Error(`Cannot restore: changeset seq ${seq} is not after ${previous} (changesets must follow the snapshot in increasing seq order)`);
    }
    previous = seq;
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function removeWithSidecars(file: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${file}${suffix}`, { force: true });
}

function syncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Throws when `file` holds data the cluster's log has never seen — user rows, no log position, and an
 * empty history (written before this node joined a cluster): importing it is not supported.
 */
export function refuseUnloggedData(actorId: string, file: string, history: ActorHistory, metaTable?: string): void {
  if (historyPosition(history) === undefined && existsSync(file) && logPosition(file, metaTable) === undefined && hasUserRows(file)) {
    throw new Error(`${actorId}: its local file holds data the cluster's log has never seen (from before this node joined a cluster); importing it is not supported yet — move it away or run without --cluster`);
  }
}

/** Whether a local file (closed) has rows in any table but `_hearth_meta`: a fresh agent file has none. */
export function hasUserRows(file: string): boolean {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_hearth\\_meta' ESCAPE '\\'").all();
    return tables.some((table) => db.prepare(`SELECT 1 FROM "${String(table.name).replaceAll('"', '""')}" LIMIT 1`).get() !== undefined);
  } finally {
    db.close();
  }
}
