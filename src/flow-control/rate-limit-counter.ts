import { FLOW_CONTROL_LIMITS } from "./limits.ts";

/**
 * What the durable counter needs of a SQL store: `ctx.storage.sql` of an agent or Durable Object
 * (Hearth's and Cloudflare's both fit).
 */
export interface SqlExecutor {
  exec(query: string, ...bindings: (string | number | null)[]): Iterable<Record<string, unknown>>;
}

const TABLE = "_hearth_flow_rate_limits";
const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${TABLE} (name TEXT NOT NULL, key TEXT NOT NULL, tat REAL NOT NULL, PRIMARY KEY (name, key)) WITHOUT ROWID`;

/**
 * A token bucket per key (the generic cell rate algorithm), one row per key in the agent's own SQLite:
 * `limit` calls at once, then one more every `periodMs / limit`. The row holds the key's "theoretical
 * arrival time"; a refused call changes nothing. The check and the write happen in one synchronous
 * step of the agent's single thread, so concurrent callers cannot overshoot.
 *
 * The table is created at the first take, and again whenever a take finds it gone: a rollback of the
 * transaction that created it (an event that failed, a `transaction()` closure undone) takes it away,
 * so no cache outside the database can say it exists.
 */
export class RateLimitCounter {
  readonly #sql: SqlExecutor;
  readonly #name: string;
  readonly #periodMs: number;
  /** The time one call uses of the bucket. */
  readonly #intervalMs: number;
  #calls = 0;

  constructor(sql: SqlExecutor, name: string, limit: number, periodMs: number) {
    this.#sql = sql;
    this.#name = name;
    this.#periodMs = periodMs;
    this.#intervalMs = periodMs / limit;
  }

  /** Takes one call for `key` at `now`: 0 when admitted, else the ms until a call would be. */
  take(key: string, now: number): number {
    const prune = ++this.#calls % FLOW_CONTROL_LIMITS.counterPruneEvery === 0;
    try {
      return this.#take(key, now, prune);
    } catch (error) {
      // Not made yet, or rolled back since it was made: make it, once.
      if (!isMissingTable(error)) throw error;
      this.#sql.exec(CREATE_TABLE);
      return this.#take(key, now, prune);
    }
  }

  #take(key: string, now: number, prune: boolean): number {
    if (prune) {
      // Rows whose time has passed hold a full bucket, the same as no row: they can go.
      this.#sql.exec(`DELETE FROM ${TABLE} WHERE name = ? AND tat <= ?`, this.#name, now);
    }
    let stored: number | undefined;
    for (const row of this.#sql.exec(`SELECT tat FROM ${TABLE} WHERE name = ? AND key = ?`, this.#name, key)) stored = Number(row.tat);
    const next = Math.max(stored ?? now, now) + this.#intervalMs;
    const over = next - now - this.#periodMs;
    // A float step (periodMs / limit) must not refuse the limit-th call by a rounding error.
    if (over > 1e-6) return Math.ceil(over);
    this.#sql.exec(
      `INSERT INTO ${TABLE} (name, key, tat) VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET tat = excluded.tat`,
      this.#name,
      key,
      next,
    );
    return 0;
  }
}

/** A statement failed because the counter's table is not there (SQLite's message, as node:sqlite and Cloudflare give it). */
function isMissingTable(error: unknown): boolean {
  return error instanceof Error && error.message.includes(`no such table: ${TABLE}`);
}
