/**
 * The same file operations Hearth does, without Hearth: the floor set by SQLite and the file
 * system. Comparing these on disk and on tmpfs tells the disk's share of an agent's create and wake.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { AgentDatabase } from "../../dist/storage/database.js";
import { whenFilesSettled } from "../../dist/storage/settle.js";
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

/** Creating agent files through Hearth's storage (AgentDatabase), without the runtime. */
export interface HearthCreateCosts {
  /** Relaxed: template written without fsync, identity, one write, close: ms per file. */
  relaxedMs: number;
  /** CPU of {@link relaxedMs}, ms per file. */
  relaxedCpuMs: number;
  /** Strict: template fsynced and renamed, synced commits: ms per file. */
  strictMs: number;
}

/** Measures {@link HearthCreateCosts} with `count` files in a temp dir under `base`; waits for the settles. */
export async function measureHearthCreate(base: string | undefined, count: number): Promise<HearthCreateCosts> {
  const dir = tempDataDir("hearth-create", base);
  try {
    makeShards(dir);
    const relaxed = createWithHearth(dir, count, "relaxed");
    const strict = createWithHearth(dir, count, "strict");
    await whenFilesSettled();
    return { relaxedMs: relaxed.wallMs, relaxedCpuMs: relaxed.cpuMs, strictMs: strict.wallMs };
  } finally {
    removeDir(dir);
  }
}

function createWithHearth(dir: string, count: number, durability: "relaxed" | "strict"): { wallMs: number; cpuMs: number } {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const db = new AgentDatabase({ path: shardPath(dir, i, `-${durability}.sqlite`), durability, identity: `counter/agent-${i}`, currentOwner: () => undefined });
    db.statement("INSERT OR REPLACE INTO _hearth_state (chunk, data) VALUES (0, ?)").run(`{"n":${i}}`);
    db.close();
  }
  const used = process.cpuUsage(cpu);
  return { wallMs: Number(process.hrtime.bigint() - start) / 1e6 / count, cpuMs: (used.user + used.system) / 1000 / count };
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
