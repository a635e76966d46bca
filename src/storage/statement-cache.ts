import type { DatabaseSync, StatementSync } from "node:sqlite";
import { SqlError } from "./errors.ts";
import { changesSchema, refuseTransactionControl } from "./refused-statements.ts";

/** Prepared statements kept per connection; past this many the cache starts over. */
const STATEMENT_CACHE_SIZE = 256;
/** The agent's state table, which the agent's state keeps a count of rows of (agent/state-store.ts). */
export const STATE_TABLE = /_hearth_state/i;

/**
 * One connection's prepared statements by their text, and what a text tells about running it: that
 * it changes the schema (a cached list of tables is stale), or that it names the state table (what
 * Hearth keeps in memory about that table may be stale, when the agent's own SQL ran it).
 * Each text is looked at once, when it is prepared; the lookups per run cost nothing for a connection
 * with no such statement cached.
 * @example
 * const statement = cache.prepare(db, "INSERT INTO t VALUES (?)");
 * if (cache.changesSchema("DROP TABLE t")) tables = undefined;
 */
export class StatementCache {
  readonly #statements = new Map<string, StatementSync>();
  readonly #schemaChanging = new Set<string>();
  readonly #namingState = new Set<string>();

  /** The statement for `query`, prepared on `db` the first time (a transaction control statement is refused). */
  prepare(db: DatabaseSync, query: string): StatementSync {
    const cached = this.#statements.get(query);
    if (cached !== undefined) return cached;
    refuseTransactionControl(query);
    let statement: StatementSync;
    try {
      statement = db.prepare(query);
    } catch (error) {
      throw new SqlError(error, query);
    }
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.clear();
    this.#statements.set(query, statement);
    if (changesSchema(query)) this.#schemaChanging.add(query);
    if (STATE_TABLE.test(query)) this.#namingState.add(query);
    return statement;
  }

  /** Whether `query` (prepared here) may create, drop or alter a table. */
  changesSchema(query: string): boolean {
    return this.#schemaChanging.size > 0 && this.#schemaChanging.has(query);
  }

  /** Whether `query` (prepared here) names the state table. */
  namesStateTable(query: string): boolean {
    return this.#namingState.size > 0 && this.#namingState.has(query);
  }

  /** Forgets every statement (the connection closed, or the cache is full). */
  clear(): void {
    this.#statements.clear();
    this.#schemaChanging.clear();
    this.#namingState.clear();
  }
}
