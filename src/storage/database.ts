import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import { SqlError, StorageClosedError } from "./errors.ts";
import { ImplicitTransaction, type TransactionOwner } from "./implicit-transaction.ts";
import { splitStatements } from "./split-statements.ts";

export type { TransactionOwner } from "./implicit-transaction.ts";

const SCHEMA_VERSION = 1;
const STATEMENT_CACHE_SIZE = 256;
const knownDirs = new Set<string>();

export interface AgentDatabaseOptions {
  path: string;
  durability: Durability;
  /** Stored in the file and checked on every open: a hash collision or a moved file fails loudly. */
  identity: string;
  /** Returns the event currently running (from async context); writes are attributed to it. */
  currentOwner: () => TransactionOwner;
  /** Called after an implicit transaction rolled back, so in-memory caches can be dropped. */
  onRollback?: () => void;
}

/**
 * One agent's SQLite database: opening (pragmas, schema, identity check), cached statements, and the
 * implicit transactions of {@link ImplicitTransaction}, which every statement joins.
 */
export class AgentDatabase {
  readonly path: string;
  #db: DatabaseSync | undefined;
  #statements = new Map<string, StatementSync>();
  #transaction!: ImplicitTransaction;
  readonly #options: AgentDatabaseOptions;
  #syncDepth = 0;
  /** The file's tables, read once and kept until the schema may have changed; undefined = not read. */
  #tables: Set<string> | undefined;
  /** Cached statements that change the schema: running one again drops {@link #tables}. */
  readonly #schemaStatements = new Set<string>();

  constructor(options: AgentDatabaseOptions) {
    this.#options = options;
    this.path = options.path;
    const db = openFile(options.path);
    try {
      // Exclusive locking: one process owns an agent's file (a second host on the same data dir gets
      // SQLITE_BUSY instead of silently sharing), and WAL needs no shared-memory file.
      db.exec(
        `PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = ${options.durability === "strict" ? "FULL" : "NORMAL"};`,
      );
      this.#db = db;
      this.#migrate();
      this.#transaction = new ImplicitTransaction(db, options.currentOwner, () => {
        this.#tables = undefined; // a rolled-back CREATE TABLE is gone again
        options.onRollback?.();
      });
    } catch (error) {
      db.close();
      this.#db = undefined;
      throw describeOpenError(error, options.path);
    }
  }

  get isOpen(): boolean {
    return this.#db !== undefined;
  }

  /** A cached prepared statement; runs inside the implicit transaction. */
  statement(query: string): StatementSync {
    const db = this.#open("SQL");
    this.#transaction.join();
    let statement = this.#statements.get(query);
    if (statement !== undefined) {
      if (this.#schemaStatements.size > 0 && this.#schemaStatements.has(query)) this.#tables = undefined;
    } else {
      refuseTransactionControl(query);
      if (SCHEMA_CHANGE.test(query)) {
        this.#schemaStatements.add(query);
        this.#tables = undefined;
      }
      try {
        statement = db.prepare(query);
      } catch (error) {
        throw new SqlError(error, query);
      }
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
        this.#statements.clear();
        this.#schemaStatements.clear();
      }
      this.#statements.set(query, statement);
    }
    return statement;
  }

  /** Runs statements that take no parameters and return nothing (schema changes, several at once). */
  execScript(script: string): void {
    const db = this.#open("SQL");
    for (const statement of splitStatements(script)) refuseTransactionControl(statement);
    this.#transaction.join();
    try {
      db.exec(script);
    } catch (error) {
      throw new SqlError(error, script);
    } finally {
      this.#tables = undefined;
    }
  }

  /**
   * Whether the database has a table of this name. One read of the schema serves every check until
   * it may have changed (a script, a CREATE/DROP/ALTER statement, a rollback): the capabilities of an
   * agent each ask at start-up whether they have anything stored, and most have not.
   */
  hasTable(name: string): boolean {
    if (this.#tables === undefined) {
      const rows = this.#open("SQL").prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
      this.#tables = new Set(rows.map((row) => row.name));
    }
    return this.#tables.has(name);
  }

  /**
   * Runs `fn` atomically inside the current transaction (a savepoint): if it throws, its writes are
   * undone and the error is rethrown; the surrounding event's earlier writes stay.
   */
  transactionSync<T>(fn: () => T): T {
    const db = this.#open("transactionSync");
    this.#transaction.join();
    db.exec("SAVEPOINT hearth_tx");
    this.#syncDepth++;
    try {
      const result = fn();
      db.exec("RELEASE hearth_tx");
      return result;
    } catch (error) {
      db.exec("ROLLBACK TO hearth_tx; RELEASE hearth_tx");
      this.#tables = undefined;
      this.#options.onRollback?.();
      throw error;
    } finally {
      this.#syncDepth--;
    }
  }

  /** True while a {@link transactionSync} block runs: a commit now would break it. */
  get inTransactionSync(): boolean {
    return this.#syncDepth > 0;
  }

  /** Size of the database file in bytes (page count × page size). */
  get size(): number {
    const db = this.#open("databaseSize");
    const row = db.prepare("SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()").get();
    return Number(row?.size ?? 0);
  }

  /** Commits now (per the durability setting) and releases held output. */
  flush(): void {
    if (this.#db !== undefined) this.#transaction.commit();
  }

  /**
   * The output gate: `send` runs when the writes before it are committed, or never if the event that
   * made them fails.
   */
  output(send: () => void): void {
    if (this.#db === undefined) send();
    else this.#transaction.output(send);
  }

  /** An event settled; resolves when its writes are durable (undefined: nothing pending). */
  endEvent(owner: TransactionOwner, failed: boolean): Promise<void> | undefined {
    return this.#db === undefined ? undefined : this.#transaction.endEvent(owner, failed);
  }

  /**
   * Settles when the writes made so far are committed (rejects if that commit fails); undefined
   * when nothing is pending. Unlike {@link output}, it settles even if the event that wrote fails.
   */
  whenCommitted(): Promise<void> | undefined {
    return this.#db === undefined ? undefined : this.#transaction.committed();
  }

  /** Rolls back the running event's uncommitted writes now (before an error reply leaves). */
  rollbackCurrent(): void {
    if (this.#db !== undefined) this.#transaction.rollbackCurrent();
  }

  close(): void {
    if (this.#db === undefined) return;
    try {
      this.flush();
    } finally {
      this.#statements.clear();
      this.#db.close();
      this.#db = undefined;
    }
  }

  #open(what: string): DatabaseSync {
    if (this.#db === undefined) throw new StorageClosedError(what);
    return this.#db;
  }

  #migrate(): void {
    const db = this.#db!;
    const version = Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
    if (version === 0) {
      db.exec(`PRAGMA journal_mode = WAL;
        BEGIN;
        CREATE TABLE _hearth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
        CREATE TABLE _hearth_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
        PRAGMA user_version = ${SCHEMA_VERSION};
        COMMIT;`);
      db.prepare("INSERT INTO _hearth_meta (key, value) VALUES ('identity', ?)").run(this.#options.identity);
      return;
    }
    if (version > SCHEMA_VERSION) {
      throw new Error(`was written by a newer Hearth (schema ${version}, this one knows ${SCHEMA_VERSION})`);
    }
    const stored = db.prepare("SELECT value FROM _hearth_meta WHERE key = 'identity'").get()?.value;
    if (stored !== this.#options.identity) {
      throw new Error(`belongs to another agent (${JSON.stringify(stored)}), not ${JSON.stringify(this.#options.identity)}`);
    }
  }
}

/**
 * Opens the file, creating its directory the first time one is used. A directory deleted since (a
 * facet's parent deleted its children) is made again.
 */
/**
 * No ATTACH (nor VACUUM, which attaches): an agent's SQL reaches its own file only, never a sibling
 * facet's or its parent's by path.
 */
const OPEN_OPTIONS = { enableForeignKeyConstraints: true, limits: { attach: 0 } } as const;

function openFile(path: string): DatabaseSync {
  const dir = dirname(path);
  if (!knownDirs.has(dir)) {
    mkdirSync(dir, { recursive: true });
    knownDirs.add(dir);
  }
  try {
    return new DatabaseSync(path, OPEN_OPTIONS);
  } catch (error) {
    if (existsSync(dir)) throw error;
    mkdirSync(dir, { recursive: true });
    return new DatabaseSync(path, OPEN_OPTIONS);
  }
}

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;
/** Statements that may add, remove or rename a table (after leading comments). */
const SCHEMA_CHANGE = /^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*\s*(CREATE|DROP|ALTER)\b/i;

/** Transactions are implicit; a user's COMMIT or ROLLBACK would break every event's atomicity. */
function refuseTransactionControl(query: string): void {
  const match = TRANSACTION_CONTROL.exec(query.replace(/^(\s*(--[^\n]*\n|\/\*[\s\S]*?\*\/))*/, ""));
  if (match) {
    throw new SqlError(
      new Error(`${match[1]!.toUpperCase()} is not allowed: Hearth commits each event's writes itself; use ctx.storage.transactionSync(fn) for an atomic block`),
      query,
    );
  }
}

function describeOpenError(error: unknown, path: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (/locked|busy/i.test(message)) {
    return new Error(
      `Agent database ${path} is locked by another process. Is a second Hearth running on the same data directory?`,
      { cause: error },
    );
  }
  return new Error(`Cannot open agent database ${path}: ${message}`, { cause: error });
}
