import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** `"strict"` syncs every commit to disk (`synchronous = FULL`); `"relaxed"` survives a process crash (`NORMAL`). */
export type FileDurability = "strict" | "relaxed";

/**
 * Opens a SQLite file the way every binding store does: parent directory created, WAL, exclusive locking
 * (one process owns the file: a second Hearth on the same data directory fails instead of sharing it),
 * and the durability's `synchronous` setting. `what` names the file in errors ("KV namespace").
 */
export function openSqliteFile(path: string, durability: FileDurability, what: string): DatabaseSync {
  mkdirSync(dirname(path), { recursive: true });
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path);
    db.exec(
      `PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === "strict" ? "FULL" : "NORMAL"};`,
    );
    return db;
  } catch (error) {
    db?.close();
    const message = error instanceof Error ? error.message : String(error);
    if (/locked|busy/i.test(message)) {
      throw new Error(`${what} ${path} is locked by another process. Is a second Hearth running on the same data directory?`, {
        cause: error,
      });
    }
    throw new Error(`Cannot open ${what} ${path}: ${message}`, { cause: error });
  }
}
