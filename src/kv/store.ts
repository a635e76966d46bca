import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Clock } from "../time/clock.ts";
import type { KvBackend, StoredEntry, StoredKey, StoredValue } from "./backend.ts";
import { ExpiryPurger } from "./expiry.ts";
import { GroupCommit } from "./group-commit.ts";
import type { Durability } from "../limits.ts";
import { openHostDatabase } from "../storage/host-database.ts";

const SCHEMA_VERSION = 1;
/** Expired keys deleted per purge statement: keeps one purge from holding the thread for long. */
const PURGE_BATCH = 1_000;

export type { StoredEntry, StoredKey, StoredValue } from "./backend.ts";

export interface KvStoreOptions {
  path: string;
  durability: Durability;
  clock: Clock;
}

/**
 * One KV namespace's SQLite file: the table, cached statements, group commit and the background purge
 * of expired keys. Keys are TEXT with SQLite's binary collation, which orders them by their UTF-8 bytes,
 * as Cloudflare's `list` does. Strings are stored as TEXT (read back without decoding), other values
 * as BLOBs. Expired rows are filtered out of every read until the purge removes them.
 */
export class KvStore implements KvBackend {
  readonly path: string;
  readonly durability: Durability;
  readonly clock: Clock;
  #db: DatabaseSync | undefined;
  readonly #commit: GroupCommit;
  readonly #purger: ExpiryPurger;
  readonly #get: StatementSync;
  readonly #put: StatementSync;
  readonly #delete: StatementSync;
  readonly #deleteIfExpired: StatementSync;
  readonly #listBounded: StatementSync;
  readonly #listOpen: StatementSync;
  readonly #purge: StatementSync;
  readonly #earliest: StatementSync;

  constructor(options: KvStoreOptions) {
    this.path = options.path;
    this.durability = options.durability;
    this.clock = options.clock;
    const db = openHostDatabase(options.path, options.durability, "KV namespace", "");
    try {
      migrate(db, options.path);
      this.#get = db.prepare("SELECT value, expiration, metadata FROM kv WHERE key = ?");
      this.#get.setReturnArrays(true);
      this.#put = db.prepare(
        "INSERT INTO kv (key, value, expiration, metadata) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expiration = excluded.expiration, metadata = excluded.metadata",
      );
      this.#delete = db.prepare("DELETE FROM kv WHERE key = ?");
      this.#deleteIfExpired = db.prepare("DELETE FROM kv WHERE key = ? AND expiration <= ?");
      const list = "SELECT key, expiration, metadata FROM kv WHERE key >= ? AND key > ?";
      const live = "AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?";
      this.#listBounded = db.prepare(`${list} AND key < ? ${live}`);
      this.#listOpen = db.prepare(`${list} ${live}`);
      this.#listBounded.setReturnArrays(true);
      this.#listOpen.setReturnArrays(true);
      this.#purge = db.prepare(
        "DELETE FROM kv WHERE key IN (SELECT key FROM kv WHERE expiration <= ? ORDER BY expiration LIMIT ?)",
      );
      this.#earliest = db.prepare("SELECT MIN(expiration) AS earliest FROM kv WHERE expiration IS NOT NULL");
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#commit = new GroupCommit(db);
    this.#purger = new ExpiryPurger(options.clock, {
      purgeExpired: (nowSeconds) => this.#purgeExpired(nowSeconds),
      earliestExpiration: () => this.#earliestExpiration(),
    });
    this.#purger.start();
  }

  get label(): string {
    return this.path;
  }

  get isOpen(): boolean {
    return this.#db !== undefined;
  }

  /** The live entry for `key`, or undefined (missing or expired). */
  get(key: string, nowSeconds: number): StoredEntry | undefined {
    this.#check();
    const row = this.#get.get(key) as unknown as [StoredValue, number | null, string | null] | undefined;
    if (row === undefined) return undefined;
    const expiration = row[1];
    if (expiration !== null && expiration <= nowSeconds) {
      // Found expired before the purge reached it: remove it now, with the next writes.
      this.#commit.write(() => this.#deleteIfExpired.run(key, nowSeconds)).catch(() => {});
      return undefined;
    }
    return { value: row[0], expiration, metadata: row[2] };
  }

  /** The live entries for `keys`, in order: one indexed lookup each (SQLite is in-process). */
  getMany(keys: readonly string[], nowSeconds: number): Array<StoredEntry | undefined> {
    return keys.map((key) => this.get(key, nowSeconds));
  }

  put(key: string, value: StoredValue, expiration: number | null, metadata: string | null): Promise<void> {
    this.#check();
    const written = this.#commit.write(() => this.#put.run(key, value, expiration, metadata));
    if (expiration !== null) this.#purger.noteExpiration(expiration);
    return written;
  }

  delete(key: string): Promise<void> {
    this.#check();
    return this.#commit.write(() => this.#delete.run(key));
  }

  /**
   * Up to `limit` live keys in UTF-8 byte order, at or after `from`, strictly after `after` and before
   * `before` (when given).
   */
  list(from: string, after: string, before: string | undefined, nowSeconds: number, limit: number): StoredKey[] {
    this.#check();
    const rows = (
      before === undefined ? this.#listOpen.all(from, after, nowSeconds, limit) : this.#listBounded.all(from, after, before, nowSeconds, limit)
    ) as unknown as Array<[string, number | null, string | null]>;
    return rows.map(([name, expiration, metadata]) => ({ name, expiration, metadata }));
  }

  /** Commits pending writes, stops the purge timer and closes the file. Idempotent. */
  close(): void {
    const db = this.#db;
    if (db === undefined) return;
    this.#purger.stop();
    try {
      this.#commit.flush();
    } finally {
      this.#db = undefined;
      db.close();
    }
  }

  async #purgeExpired(nowSeconds: number): Promise<boolean> {
    if (this.#db === undefined) return false;
    let changes = 0;
    await this.#commit.write(() => {
      changes = Number(this.#purge.run(nowSeconds, PURGE_BATCH).changes);
    });
    return changes >= PURGE_BATCH;
  }

  #earliestExpiration(): number | undefined {
    if (this.#db === undefined) return undefined;
    const earliest = this.#earliest.get()?.earliest;
    return typeof earliest === "number" ? earliest : undefined;
  }

  #check(): void {
    if (this.#db === undefined) throw new Error(`KV namespace ${this.path} is closed`);
  }
}

function migrate(db: DatabaseSync, path: string): void {
  const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(`KV namespace ${path} was written by a newer Hearth (schema ${version}, this one knows ${SCHEMA_VERSION})`);
  }
  db.exec(`BEGIN;
    CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expiration INTEGER, metadata TEXT) WITHOUT ROWID;
    CREATE INDEX kv_expiration ON kv (expiration) WHERE expiration IS NOT NULL;
    PRAGMA user_version = ${SCHEMA_VERSION};
    COMMIT;`);
}
