/**
 * RSS of bare node:sqlite connections (no Hearth), run in its own process by {@link runChild} with
 * --expose-gc: how much of a live agent's memory is SQLite's.
 */
import { DatabaseSync } from "node:sqlite";
import { childMain, removeDir, tempDataDir } from "./common.ts";
import { join } from "node:path";

export interface SqliteMemoryInput {
  dir: string | undefined;
  connections: number;
  /**
   * "open": connections just opened; "used": opened, set up and written the way Hearth does;
   * "shrunk": as "used", then PRAGMA shrink_memory on each right away (what it would save).
   */
  mode: "open" | "used" | "shrunk";
}

export interface SqliteMemoryResult {
  connections: number;
  /** RSS per connection, KB. */
  kb: number;
  sqliteVersion: string;
}

const gc = (globalThis as { gc?: () => void }).gc;

function rss(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().rss;
}

function openUsed(path: string, i: number): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = NORMAL; PRAGMA journal_mode = WAL;
    CREATE TABLE _hearth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE _hearth_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;`);
  db.prepare("INSERT OR REPLACE INTO _hearth_state (chunk, data) VALUES (0, ?)").run(`{"n":${i}}`);
  db.prepare("SELECT data FROM _hearth_state ORDER BY chunk").all();
  return db;
}

/** One mode per process: memory freed by one case would otherwise be reused by the next. */
async function run(input: SqliteMemoryInput): Promise<SqliteMemoryResult> {
  if (!gc) throw new Error("needs --expose-gc");
  const dir = tempDataDir("sqlite-memory", input.dir);
  const dbs: DatabaseSync[] = [];
  try {
    const n = input.connections;
    const before = rss();
    for (let i = 0; i < n; i++) {
      const path = join(dir, `${i}.sqlite`);
      const db = input.mode === "open" ? new DatabaseSync(path) : openUsed(path, i);
      if (input.mode === "shrunk") db.exec("PRAGMA shrink_memory");
      dbs.push(db);
    }
    const after = rss();
    const version = String(dbs[0]!.prepare("SELECT sqlite_version() AS v").get()?.v);
    return { connections: n, kb: (after - before) / 1024 / n, sqliteVersion: version };
  } finally {
    for (const db of dbs) db.close();
    removeDir(dir);
  }
}

childMain(run);
