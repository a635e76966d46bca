import { resolve } from "node:path";
import { D1Database, releaseHooks, type D1DatabaseOptions } from "./database.ts";

interface Shared {
  database: D1Database;
  holders: number;
}

const shared = new Map<string, Shared>();

/**
 * The process's one D1Database for a file: every binding, agent and worker naming the same
 * database gets the same instance (one SQLite connection, one statement cache). Each call counts as
 * a holder; `close()` closes the file when the last holder closes it. The first opener's
 * durability applies.
 * @example
 * const db = openD1Database(d1DatabasePath(dataDir, "app"), { durability: "relaxed" });
 * env.DB = db;
 * // …on shutdown
 * db.close();
 */
export function openD1Database(path: string, options: Omit<D1DatabaseOptions, "path"> = {}): D1Database {
  const key = resolve(path);
  const existing = shared.get(key);
  if (existing !== undefined) {
    existing.holders += 1;
    return existing.database;
  }
  const database = new D1Database({ ...options, path: key });
  const entry: Shared = { database, holders: 1 };
  shared.set(key, entry);
  releaseHooks.set(database, () => {
    entry.holders -= 1;
    if (entry.holders > 0) return false;
    shared.delete(key);
    releaseHooks.delete(database);
    return true;
  });
  return database;
}

/** Closes every database opened through openD1Database, whatever its holders (process shutdown, tests). */
export function closeAllD1Databases(): void {
  for (const entry of [...shared.values()]) {
    entry.holders = 1;
    entry.database.close();
  }
}
