/**
 * The same file operations Hearth does, without Hearth: the floor set by SQLite and the file
 * system. Comparing these on disk and on tmpfs tells the disk's share of an agent's create and wake.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { percentile, removeDir, tempDataDir } from "./common.ts";

const SHARDS = 256;

function shardPath(dir: string, i: number, suffix: string): string {
  return join(dir, (i % SHARDS).toString(16).padStart(2, "0"), `agent-${i}${suffix}`);
}

function makeShards(dir: string): void {
  for (let i = 0; i < SHARDS; i++) mkdirSync(join(dir, i.toString(16).padStart(2, "0")));
}

/** Opens a database the way Hearth's AgentDatabase does. */
function openLikeHearth(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = NORMAL;");
  return db;
}

function createLikeHearth(path: string, identity: string): void {
  const db = openLikeHearth(path);
  db.prepare("PRAGMA user_version").get();
  db.exec(`PRAGMA journal_mode = WAL;
    BEGIN;
    CREATE TABLE _hearth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE _hearth_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
    PRAGMA user_version = 1;
    COMMIT;`);
  db.prepare("INSERT INTO _hearth_meta (key, value) VALUES ('identity', ?)").run(identity);
  db.close();
}

export interface RawCosts {
  /** Create a new agent file (open, WAL, schema, identity) and close it: ms per file. */
  createMs: number;
  /** Reopen an existing agent file and read it (which recreates the -wal file): median ms. */
  reopenMs: number;
  /** The same when an empty -wal file is already there (were it kept at close): median ms. */
  reopenKeptWalMs: number;
  /** Create one empty file (what SQLite does for the -wal file on every wake): ms per file. */
  emptyFileMs: number;
}

/** Measures {@link RawCosts} with `count` files in a temp dir under `base`. */
export function measureRawCosts(base: string | undefined, count: number): RawCosts {
  const dir = tempDataDir("raw", base);
  try {
    makeShards(dir);
    let start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) createLikeHearth(shardPath(dir, i, ".sqlite"), `counter/agent-${i}`);
    const createMs = Number(process.hrtime.bigint() - start) / 1e6 / count;

    // Same pattern as a wake round in bench/wake.ts: every file closed first (a burst of closes, as
    // hibernateIdleAgents does), then each one opened and read, one after another, and kept open.
    const reopen = (): number => {
      const times: number[] = [];
      const open: DatabaseSync[] = [];
      for (let i = 0; i < count; i++) {
        const begin = process.hrtime.bigint();
        const db = openLikeHearth(shardPath(dir, i, ".sqlite"));
        db.prepare("PRAGMA user_version").get();
        db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get();
        times.push(Number(process.hrtime.bigint() - begin) / 1e6);
        open.push(db);
      }
      for (const db of open) db.close();
      return percentile(times.sort((a, b) => a - b), 50);
    };
    const reopenMs = reopen();
    for (let i = 0; i < count; i++) closeSync(openSync(shardPath(dir, i, ".sqlite-wal"), "w"));
    const reopenKeptWalMs = reopen();

    start = process.hrtime.bigint();
    for (let i = 0; i < count; i++) closeSync(openSync(shardPath(dir, i, ".empty"), "w"));
    const emptyFileMs = Number(process.hrtime.bigint() - start) / 1e6 / count;
    return { createMs, reopenMs, reopenKeptWalMs, emptyFileMs };
  } finally {
    removeDir(dir);
  }
}
