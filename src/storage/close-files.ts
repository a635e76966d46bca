/** What closing an agent's connection does to its files: the last syncs, and the empty -wal kept for the next open. */
import { closeSync, fsyncSync, openSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import { currentBootStamp, stampedTemplate } from "./agent-file-setup.ts";
import { HARDEN_PRAGMAS } from "./connection.ts";
import { madeOnTheSpot, takePooledWal } from "./file-pool.ts";

/**
 * The database file synced by Hearth itself (a quiet session's close, decision 0022), through a
 * descriptor of its own opened at the first sync. Closed only after the connection: closing any
 * descriptor of a file drops the process's POSIX locks on it, SQLite's included.
 */
export class DatabaseFileSync {
  readonly #path: string;
  #fd: number | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  sync(): void {
    this.#fd ??= openSync(this.#path, "r");
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/**
 * A quiet session closing on this thread: SQLite's checkpoint at close then syncs the WAL before it
 * writes the database file and the file before it deletes the WAL. (A transaction left open by a
 * failed commit is rolled back first: the setting cannot change inside one.)
 */
export function syncAtClose(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
    db.exec(HARDEN_PRAGMAS);
  } catch {
    // The connection is unusable; its close cannot checkpoint either.
  }
}

/**
 * SQLite deletes the -wal file when the connection closes and creates it again at the next open's
 * first read: a file creation on the wake's path. Made here instead, at close (hibernation, parking),
 * empty: SQLite reads an empty -wal as "nothing to replay" (docs/decisions/0016-agent-files.md).
 * From the folder's pool when it has one (decision 0024), else created (a burst of those starts the
 * pool); neither ever replaces a -wal SQLite kept (a close that could not checkpoint): the pool
 * links, and flag "a" never truncates.
 */
export function keepEmptyWal(agentsFolder: string, path: string, durability: Durability): void {
  try {
    if (takePooledWal(agentsFolder, path)) return;
    closeSync(openSync(`${path}-wal`, "a"));
    // As new files do, for relaxed durability only (a pool's databases carry this boot's stamp).
    if (durability === "relaxed") madeOnTheSpot(agentsFolder, currentBootStamp(), stampedTemplate);
  } catch {
    // The directory is gone (the agent was deleted): nothing to keep.
  }
}
