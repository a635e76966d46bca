import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Durability } from "../limits.ts";

/**
 * Opens one of the host's own SQLite files (the due index, the workflow store): exclusive locking
 * (one process per data directory), WAL, the durability setting, then `schema`. A file held by
 * another process gives an error that says so.
 */
export function openHostDatabase(path: string, durability: Durability, what: string, schema: string): DatabaseSync {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${durability === "strict" ? "FULL" : "NORMAL"}; ${schema}`);
    return db;
  } catch (error) {
    db.close();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      /locked|busy/i.test(message)
        ? `${path} is locked by another process. Is a second Hearth running on the same data directory?`
        : `Cannot open the ${what} ${path}: ${message}`,
      { cause: error },
    );
  }
}

/** Runs `fn` in one transaction of `db`, rolled back if it throws. */
export function inTransaction(db: DatabaseSync, fn: () => void): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    fn();
    db.exec("COMMIT");
  } catch (error) {
    // SQLite may have rolled back already (a full disk, an I/O error): a second ROLLBACK would throw
    // and hide why the transaction failed.
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}
