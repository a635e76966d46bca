import type { DatabaseSync, StatementSync } from "node:sqlite";
import { clearTimeout, setTimeout } from "node:timers"; // Node's own: never an application's fake one
import type { Durability } from "../limits.ts";
import { inTransaction, openHostDatabase } from "../storage/host-database.ts";
import type { Clock } from "../time/clock.ts";

const SCHEMA_VERSION = 1;

/**
 * The counters of one namespace id and period, for the current window. Counts live here, in memory;
 * the file is written from them in batches.
 */
export class WindowCounters {
  readonly namespaceId: string;
  readonly period: number;
  /** `floor(now / (period * 1000))`: the fixed window, aligned to the wall clock, these counts are for. */
  epoch: number;
  readonly counts = new Map<string, number>();
  /** Keys counted since the last write to the file. */
  readonly dirty = new Set<string>();
  /** The window moved on since the last write: older rows are to be deleted. */
  stale = false;

  constructor(namespaceId: string, period: number, epoch: number) {
    this.namespaceId = namespaceId;
    this.period = period;
    this.epoch = epoch;
  }

  /** Starts a new window: every count is zero again. */
  reset(epoch: number): void {
    this.epoch = epoch;
    this.counts.clear();
    this.dirty.clear();
    this.stale = true;
  }
}

/**
 * The rate limit counters of a data directory, in one SQLite file. Calls count in memory; the counts
 * that changed are written back together at most every `flushIntervalMs` (and on close), never one
 * write per call. A restart within a window starts from the counts last written; windows that are
 * over are deleted.
 */
export class CounterFile {
  readonly path: string;
  readonly clock: Clock;
  readonly durability: Durability;
  readonly #flushIntervalMs: number;
  #db: DatabaseSync | undefined;
  readonly #windows = new Map<string, WindowCounters>();
  readonly #load: StatementSync;
  readonly #upsert: StatementSync;
  readonly #prune: StatementSync;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(path: string, clock: Clock, durability: Durability, flushIntervalMs: number) {
    this.path = path;
    this.clock = clock;
    this.durability = durability;
    this.#flushIntervalMs = flushIntervalMs;
    const db = openHostDatabase(path, durability, "rate limit store", "");
    try {
      migrate(db, path);
      this.#load = db.prepare("SELECT key, count FROM counters WHERE namespace_id = ? AND period = ? AND window = ?");
      this.#upsert = db.prepare(
        "INSERT INTO counters (namespace_id, period, key, window, count) VALUES (?, ?, ?, ?, ?) " +
          "ON CONFLICT (namespace_id, period, key) DO UPDATE SET window = excluded.window, count = excluded.count",
      );
      this.#prune = db.prepare("DELETE FROM counters WHERE namespace_id = ? AND period = ? AND window < ?");
      // Windows that ended while the process was down.
      db.prepare("DELETE FROM counters WHERE window < CAST(? / (period * 1000) AS INTEGER)").run(clock.now());
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
  }

  get isOpen(): boolean {
    return this.#db !== undefined;
  }

  /** The counters of a namespace id and period, loaded from the file the first time they are asked for. */
  windowFor(namespaceId: string, period: number): WindowCounters {
    const id = `${period}:${namespaceId}`;
    let window = this.#windows.get(id);
    if (window === undefined) {
      const epoch = Math.floor(this.clock.now() / (period * 1000));
      window = new WindowCounters(namespaceId, period, epoch);
      for (const row of this.#open().#load.all(namespaceId, period, epoch)) window.counts.set(row.key as string, Number(row.count));
      this.#windows.set(id, window);
    }
    return window;
  }

  /** A count changed: the file is written with the next batch. */
  changed(window: WindowCounters, key: string): void {
    window.dirty.add(key);
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => this.#flushInBackground(), this.#flushIntervalMs);
      this.#flushTimer.unref();
    }
  }

  /** Writes every changed count, and deletes windows that are over, in one transaction. */
  flush(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const db = this.#db;
    if (db === undefined) return;
    inTransaction(db, () => {
      for (const window of this.#windows.values()) {
        if (window.stale) this.#prune.run(window.namespaceId, window.period, window.epoch);
        for (const key of window.dirty) {
          this.#upsert.run(window.namespaceId, window.period, key, window.epoch, window.counts.get(key) ?? 0);
        }
      }
    });
    // Only a committed batch is saved: after a failure every window of it is written at the next flush.
    for (const window of this.#windows.values()) {
      window.stale = false;
      window.dirty.clear();
    }
  }

  #flushInBackground(): void {
    try {
      this.flush();
    } catch (error) {
      // The counts stay in memory (and exact); the next flush or close tries the file again.
      console.error(`[hearth] rate limit store ${this.path}: writing counters failed:`, error);
    }
  }

  /** Writes the counts and closes the file. Idempotent. */
  close(): void {
    const db = this.#db;
    if (db === undefined) return;
    try {
      this.flush();
    } finally {
      this.#db = undefined;
      db.close();
    }
  }

  #open(): this {
    if (this.#db === undefined) throw new Error(`Rate limit store ${this.path} is closed`);
    return this;
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`Rate limit store ${path} was written by a newer Hearth (schema ${version}, this one knows ${SCHEMA_VERSION})`);
  }
  db.exec(`BEGIN;
    CREATE TABLE counters (
      namespace_id TEXT NOT NULL, period INTEGER NOT NULL, key TEXT NOT NULL,
      window INTEGER NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (namespace_id, period, key)
    ) WITHOUT ROWID;
    PRAGMA user_version = ${SCHEMA_VERSION};
    COMMIT;`);
}
