import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { Durability } from "../limits.ts";
import { addMissingColumns, type AddedColumn } from "../storage/added-columns.ts";
import { openHostDatabase } from "../storage/host-database.ts";
import type { DatabaseReplication, ReplicaLink } from "../storage/replication.ts";
import type { SqlTag, SqlValue } from "../storage/sql.ts";
import type { WorkflowInstanceStatus } from "./types.ts";

/** An instance row. Params and output are structured-clone bytes. */
export interface InstanceRow {
  workflow: string;
  id: string;
  status: WorkflowInstanceStatus;
  params: Uint8Array | null;
  output: Uint8Array | null;
  error: string | null;
  epoch: number;
  created_at: number;
  updated_at: number;
  agent_class: string | null;
  agent_name: string | null;
  /** `retention` of `create`, in ms; null: kept. */
  success_retention: number | null;
  error_retention: number | null;
  /** When the record of this finished instance is removed; null while it runs, or when it is kept. */
  expires_at: number | null;
  /** The W3C traceparent of the span that created the instance (steps continue its trace); null without tracing. */
  traceparent?: string | null;
}

/** A recorded step: its key is the step's name and occurrence; `seq` its place in the run. */
export interface StepRow {
  key: string;
  seq: number;
  kind: "do" | "sleep" | "event";
  status: "done" | "failed" | "retrying" | "sleeping" | "waiting";
  result: Uint8Array | null;
  error: string | null;
  attempts: number;
  wake_at: number | null;
}

export interface EventRow {
  seq: number;
  type: string;
  payload: Uint8Array | null;
  at: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  workflow TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL, params BLOB, output BLOB, error TEXT,
  epoch INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  agent_class TEXT, agent_name TEXT, success_retention INTEGER, error_retention INTEGER, expires_at INTEGER, traceparent TEXT,
  PRIMARY KEY (workflow, id));
CREATE INDEX IF NOT EXISTS instances_active ON instances (status) WHERE status IN ('queued', 'running');
CREATE TABLE IF NOT EXISTS steps (
  workflow TEXT NOT NULL, instance TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  status TEXT NOT NULL, result BLOB, error TEXT, attempts INTEGER NOT NULL DEFAULT 0, wake_at INTEGER, awaits TEXT,
  started_at INTEGER, ended_at INTEGER,
  PRIMARY KEY (workflow, instance, key));
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, workflow TEXT NOT NULL, instance TEXT NOT NULL, type TEXT NOT NULL,
  payload BLOB, at INTEGER NOT NULL, consumed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS events_pending ON events (workflow, instance, type, seq) WHERE consumed = 0;`;

/**
 * Columns added after the first release, for files written before them. `steps.awaits`: the event type
 * a `waitForEvent` step waits for (null for other steps, and for steps recorded before it was kept).
 * `steps.started_at` / `ended_at`: when the step began (a `do` step's first attempt, a sleep, a wait)
 * and when it was done or failed for good (ms; null for steps recorded before they were kept).
 */
const ADDED_COLUMNS: readonly AddedColumn[] = [
  { table: "instances", column: "success_retention", type: "INTEGER" },
  { table: "instances", column: "error_retention", type: "INTEGER" },
  { table: "instances", column: "expires_at", type: "INTEGER" },
  { table: "instances", column: "traceparent", type: "TEXT" },
  { table: "steps", column: "awaits", type: "TEXT" },
  { table: "steps", column: "started_at", type: "INTEGER" },
  { table: "steps", column: "ended_at", type: "INTEGER" },
];
const AFTER_MIGRATION = "CREATE INDEX IF NOT EXISTS instances_expiring ON instances (expires_at) WHERE expires_at IS NOT NULL;";

type Deferred = { resolve(): void; reject(error: unknown): void };

/**
 * Every workflow instance of the host in one SQLite file (`workflows.sqlite`): instances, their
 * recorded steps and their events. One file, not one per instance, so that thousands of instances a
 * second can be created: writes of a whole event-loop turn share one commit (group commit), and a
 * step's result is released to the workflow only once it is durable.
 */
export class WorkflowStore {
  readonly #db: DatabaseSync;
  readonly #sql = new Map<string, StatementSync>();
  readonly #tx: Record<"begin" | "commit" | "rollback" | "savepoint" | "release" | "rollbackTo", StatementSync>;
  readonly #beforeCommit: (() => void) | undefined;
  /** In a cluster: the log every commit reaches before its waiters are told it is durable. */
  readonly #link: ReplicaLink | undefined;
  #replicated: Promise<void> | undefined;
  #open = false;
  #waiters: Deferred[] = [];

  /**
   * `beforeCommit` runs first in every commit (the host flushes timers there that must land first).
   * `replication`: in a cluster, each commit also goes to the instances' log, and a write is durable
   * once it is there.
   */
  constructor(path: string, durability: Durability, beforeCommit?: () => void, replication?: DatabaseReplication) {
    this.#beforeCommit = beforeCommit;
    if (replication) {
      // The schema is made after the link is attached, in a commit of its own: it reaches the log (a snapshot).
      this.#db = openHostDatabase(path, durability, "workflow store", "");
      this.#link = replication.attach(this.#db);
      this.#db.exec("BEGIN");
      this.#db.exec(`${SCHEMA}\nCREATE TABLE IF NOT EXISTS _hearth_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;`);
      this.#migrate();
      this.#link.beforeCommit();
      this.#db.exec("COMMIT");
      this.#track(this.#link.committed());
    } else {
      this.#db = openHostDatabase(path, durability, "workflow store", SCHEMA);
      this.#migrate();
    }
    const prepare = (sql: string) => this.#db.prepare(sql);
    this.#tx = {
      begin: prepare("BEGIN"),
      commit: prepare("COMMIT"),
      rollback: prepare("ROLLBACK"),
      savepoint: prepare("SAVEPOINT w"),
      release: prepare("RELEASE w"),
      rollbackTo: prepare("ROLLBACK TO w"),
    };
  }

  /** Runs `fn` inside the turn's transaction, atomically (a savepoint); resolves once it is durable. */
  write(fn: () => void): Promise<void> {
    this.#begin();
    this.#tx.savepoint.run();
    try {
      fn();
      this.#tx.release.run();
    } catch (error) {
      this.#tx.rollbackTo.run();
      this.#tx.release.run();
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  run(query: string, ...params: Array<string | number | null | Uint8Array>): number {
    this.#begin();
    return Number(this.#statement(query).run(...params).changes);
  }

  get<T>(query: string, ...params: Array<string | number | null>): T | undefined {
    return this.#statement(query).get(...params) as T | undefined;
  }

  all<T>(query: string, ...params: Array<string | number | null>): T[] {
    return this.#statement(query).all(...params) as T[];
  }

  /** Commits now (end of turn, close). */
  commit(): void {
    if (!this.#open) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    this.#open = false;
    let replicated: Promise<void> | undefined;
    try {
      this.#beforeCommit?.();
      this.#link?.beforeCommit();
      this.#tx.commit.run();
      replicated = this.#track(this.#link?.committed());
    } catch (error) {
      try {
        this.#tx.rollback.run();
      } catch {
        // already rolled back
      }
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    if (replicated === undefined) for (const waiter of waiters) waiter.resolve();
    else replicated.then(() => waiters.forEach((waiter) => waiter.resolve()), (error: unknown) => waiters.forEach((waiter) => waiter.reject(error)));
  }

  /**
   * Settles when every commit so far is in the log (at once without replication). An answer that read
   * the store waits for it: what it read may be a commit still on its way.
   */
  replicated(): Promise<void> {
    return this.#replicated ?? Promise.resolve();
  }

  #track(committed: Promise<void> | undefined): Promise<void> | undefined {
    if (committed === undefined) return undefined;
    committed.catch(() => undefined); // its waiters (and replicated()) report it
    this.#replicated = committed;
    return committed;
  }

  close(): void {
    if (!this.#db.isOpen) return;
    this.commit();
    this.#sql.clear();
    this.#link?.detach();
    this.#db.close();
  }

  #migrate(): void {
    const sql: SqlTag = <T>(strings: TemplateStringsArray, ...values: SqlValue[]) => this.#db.prepare(strings.join("?")).all(...(values as SQLInputValue[])) as T[];
    addMissingColumns(ADDED_COLUMNS, sql, (script) => this.#db.exec(script));
    this.#db.exec(AFTER_MIGRATION);
  }

  #begin(): void {
    if (this.#open) return;
    this.#tx.begin.run();
    this.#open = true;
    setImmediate(() => this.commit());
  }

  #statement(query: string): StatementSync {
    let statement = this.#sql.get(query);
    if (!statement) {
      statement = this.#db.prepare(query);
      this.#sql.set(query, statement);
    }
    return statement;
  }
}
