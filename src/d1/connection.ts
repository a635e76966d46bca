import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import type { DatabaseReplication, ReplicaLink } from "../storage/replication.ts";
import { d1Error } from "./errors.ts";
import { SQLITE_LIMITS } from "./limits.ts";
import { LOCK_WAIT_MS } from "./lock-waits.ts";

const STATEMENT_CACHE_SIZE = 512;
/**
 * Hearth's own row in the file: the commit counter behind session bookmarks. The `_cf_` prefix is
 * the one D1 uses for its internal tables, so tools that list user tables (wrangler's export,
 * drizzle-kit, Prisma's D1 adapter) skip it.
 */
export const META_TABLE = "_cf_hearth_meta";
/** Bookmarks are the commit counter, zero-padded so that they sort as strings. */
export const BOOKMARK_DIGITS = 16;

/** The counters read around a statement to fill `meta`. */
export interface Counters {
  totalChanges: number;
  lastRowId: number;
  size: number;
  /** The header's schema cookie, `user_version` and `application_id`: a change to them changes no row. */
  header: string;
}

/**
 * How a connection waits for another process's write lock.
 * - `"retry"`: never inside SQLite (busy timeout 0). Transactions begin deferred and take the write
 *   lock at their first write, so a call that only reads never waits, whatever its SQL. A call that
 *   finds the database locked (or, having read, finds that another process committed since: SQLite
 *   cannot let it write on an out-of-date snapshot) fails at once with SQLITE_BUSY, rolled back whole,
 *   for `LockWaits` (lock-waits.ts) to run again from the start without holding the thread.
 * - `"blocking"`: inside SQLite's busy handler, up to {@link LOCK_WAIT_MS}, holding the thread; a
 *   transaction that may write takes the write lock as it begins (a deferred one could not wait for
 *   it: SQLite refuses to wait inside a read transaction). For callers that must run a call whole,
 *   synchronously (a cluster node, whose local copy no other process writes).
 */
export type LockWaiting = "retry" | "blocking";

/** Thrown inside a transaction when a statement read an integer above 2^53: run again reading BigInts. */
export class NeedsBigInts extends Error {}

/**
 * One SQLite connection to a D1 database file: WAL, `synchronous` per durability, D1's limits as
 * SQLite run-time limits, cached statements that return arrays, and the transaction helpers.
 * Normal (not exclusive) locking, so `hearth d1 execute` can work on the file while a server runs.
 */
export class D1Connection {
  readonly path: string;
  readonly lockWaiting: LockWaiting;
  #db: DatabaseSync | undefined;
  readonly #statements = new Map<string, StatementSync>();
  /** Statements that once read an integer beyond 2^53: they read BigInts from then on. */
  readonly #bigIntStatements = new Set<string>();
  readonly #internal: {
    begin: StatementSync;
    commit: StatementSync;
    rollback: StatementSync;
    counters: StatementSync;
    countersWithHeader: StatementSync;
    bump: StatementSync;
    bookmark: StatementSync;
  };
  /** In a cluster: the replica log each commit goes to before its result may leave. */
  readonly #link: ReplicaLink | undefined;
  /** The latest commit's way to the log: what a caller waits for before answering. */
  #replicated: Promise<void> | undefined;

  /** `replication`: in a cluster, every commit is also shipped to the database's log (see {@link replicated}). */
  constructor(path: string, durability: Durability = "relaxed", replication?: DatabaseReplication, lockWaiting: LockWaiting = "blocking") {
    this.path = path;
    this.lockWaiting = lockWaiting;
    mkdirSync(dirname(path), { recursive: true });
    // Opening waits inside SQLite whatever the mode: it runs once, synchronously, in a constructor.
    const db = new DatabaseSync(path, { timeout: LOCK_WAIT_MS, limits: SQLITE_LIMITS, enableForeignKeyConstraints: true });
    try {
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${durability === "strict" ? "FULL" : "NORMAL"};`);
      this.#link = replication?.attach(db);
      // Made in a transaction of its own so that, replicated, the new table reaches the log (as a snapshot).
      db.exec("BEGIN IMMEDIATE");
      db.exec(`CREATE TABLE IF NOT EXISTS ${META_TABLE} (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT OR IGNORE INTO ${META_TABLE} (key, value) VALUES ('commits', 0);`);
      this.#link?.beforeCommit();
      db.exec("COMMIT");
      this.#track(this.#link?.committed());
      if (lockWaiting === "retry") db.exec("PRAGMA busy_timeout = 0");
      const readCounters = (withHeader: boolean): StatementSync => {
        const statement = db.prepare(
          withHeader
            ? "SELECT total_changes(), last_insert_rowid(), page_count * page_size, schema_version || '/' || user_version || '/' || application_id " +
                "FROM pragma_page_count(), pragma_page_size(), pragma_schema_version(), pragma_user_version(), pragma_application_id()"
            : "SELECT total_changes(), last_insert_rowid(), page_count * page_size, '' FROM pragma_page_count(), pragma_page_size()",
        );
        statement.setReturnArrays(true);
        statement.setReadBigInts(true);
        return statement;
      };
      const bookmark = db.prepare(`SELECT value FROM ${META_TABLE} WHERE key = 'commits'`);
      bookmark.setReturnArrays(true);
      this.#internal = {
        begin: db.prepare(lockWaiting === "retry" ? "BEGIN" : "BEGIN IMMEDIATE"),
        commit: db.prepare("COMMIT"),
        rollback: db.prepare("ROLLBACK"),
        counters: readCounters(false),
        countersWithHeader: readCounters(true),
        bump: db.prepare(`UPDATE ${META_TABLE} SET value = value + 1 WHERE key = 'commits'`),
        bookmark,
      };
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      this.#link?.detach();
      db.close();
      const message = error instanceof Error ? error.message : String(error);
      throw d1Error("D1_ERROR", `cannot open the D1 database ${path}: ${message}`, error);
    }
    this.#db = db;
  }

  get isOpen(): boolean {
    return this.#db !== undefined;
  }

  /** A cached statement (result rows as arrays). */
  statement(text: string): StatementSync {
    const db = this.#open();
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = db.prepare(text);
      statement.setReturnArrays(true);
      if (this.#bigIntStatements.has(text)) statement.setReadBigInts(true);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear();
      this.#statements.set(text, statement);
    }
    return statement;
  }

  /** Remembers that `text` reads integers beyond 2^53; false if it was known already. */
  readBigIntsFor(text: string): boolean {
    if (this.#bigIntStatements.has(text)) return false;
    this.#bigIntStatements.add(text);
    this.#statements.get(text)?.setReadBigInts(true);
    return true;
  }

  /** Runs a script (several statements, no parameters, no result). */
  execScript(text: string): void {
    this.#open().exec(text);
  }

  /**
   * What {@link Counters} holds now; `withHeader` false leaves the header's versions out ("" before and
   * after: three pragma reads fewer for a statement that cannot change them, one without a PRAGMA).
   */
  counters(withHeader = true): Counters {
    const row = (withHeader ? this.#internal.countersWithHeader : this.#internal.counters).get() as unknown as [bigint, bigint, bigint, string];
    return { totalChanges: Number(row[0]), lastRowId: Number(row[1]), size: Number(row[2]), header: row[3] };
  }

  /**
   * Runs `body` in a transaction when `inTransaction` (BEGIN … COMMIT, rolled back if it throws; see
   * {@link LockWaiting} for the kind of BEGIN), else as it is. A {@link NeedsBigInts} from the body
   * rolls back and runs it again.
   */
  transaction<T>(inTransaction: boolean, body: () => T): T {
    const db = this.#open();
    for (;;) {
      if (inTransaction) this.#internal.begin.run();
      try {
        const result = body();
        if (inTransaction) {
          this.#link?.beforeCommit();
          this.#internal.commit.run();
          this.#track(this.#link?.committed());
        }
        return result;
      } catch (error) {
        if (inTransaction && db.isTransaction) this.#internal.rollback.run();
        if (!(error instanceof NeedsBigInts)) throw error;
      }
    }
  }

  /** Advances the commit counter (inside the transaction that changed the database). */
  bumpBookmark(): void {
    this.#internal.bump.run();
  }

  /** The commit counter as a bookmark: monotonic, and lexicographically sortable. */
  bookmark(): string {
    this.#open();
    const row = this.#internal.bookmark.get() as unknown as [number] | undefined;
    return String(row?.[0] ?? 0).padStart(BOOKMARK_DIGITS, "0");
  }

  /** The whole database file as bytes (sqlite3_serialize). */
  serialize(): Uint8Array {
    return this.#open().serialize();
  }

  /**
   * Settles when every commit made so far is in the replica log (at once without replication); rejects
   * when one could not be made durable. A result is answered only after this: a read may have seen a
   * commit still on its way.
   */
  replicated(): Promise<void> {
    return this.#replicated ?? Promise.resolve();
  }

  #track(committed: Promise<void> | undefined): void {
    if (committed === undefined) return;
    committed.catch(() => undefined); // awaited by whoever answers next; not an unhandled rejection here
    this.#replicated = committed;
  }

  close(): void {
    if (this.#db === undefined) return;
    this.#link?.detach();
    this.#statements.clear();
    this.#db.close();
    this.#db = undefined;
  }

  #open(): DatabaseSync {
    if (this.#db === undefined) {
      throw d1Error("D1_ERROR", `the D1 database ${this.path} is closed (close() was called, or the server is shutting down)`);
    }
    return this.#db;
  }
}
