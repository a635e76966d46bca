import { d1Error } from "./errors.ts";
import type { BoundQuery, QueryOutput, RowsWanted } from "./engine.ts";
import type { D1Meta, D1RawOptions, D1Result } from "./types.ts";
import { toBoundValue, type D1BoundValue, type D1Value } from "./values.ts";

/**
 * Where a statement runs: the database itself (always the primary, no bookmark) or a session
 * (which follows bookmarks). Internal to the binding.
 */
export interface D1Executor {
  query(query: BoundQuery, rows: RowsWanted, wantMeta: boolean): Promise<QueryOutput>;
}

/**
 * A statement of a D1 database, as `db.prepare(sql)` returns it. `bind()` returns a new statement;
 * `first`, `all`, `run` and `raw` run it.
 * @example
 * const user = await env.DB.prepare("SELECT * FROM users WHERE email = ?").bind(email).first();
 * const { results } = await env.DB.prepare("SELECT name FROM users").all<{ name: string }>();
 * await env.DB.prepare("INSERT INTO users (email) VALUES (?1)").bind("ada@example.com").run();
 */
export class D1PreparedStatement {
  /** The SQL text. */
  readonly statement: string;
  /** The bound values, in D1's wire form (BLOBs as arrays of bytes). */
  readonly params: readonly D1BoundValue[];
  readonly #executor: D1Executor;

  /** @internal Use `db.prepare(sql)`. */
  constructor(executor: D1Executor, statement: string, params: readonly D1BoundValue[] = []) {
    this.#executor = executor;
    this.statement = statement;
    this.params = params;
  }

  /**
   * A new statement with these values bound to `?` / `?NNN` in order (this one is unchanged).
   * @throws `D1_TYPE_ERROR: Type '<t>' not supported for value '<v>'` for undefined, bigint, objects, …
   */
  bind(...values: unknown[]): D1PreparedStatement {
    return new D1PreparedStatement(this.#executor, this.statement, values.map(toBoundValue));
  }

  /**
   * The first row as an object, or `null` when there is none; with `colName`, that column's value.
   * Does not add `LIMIT 1` (the statement steps once).
   * @throws `D1_COLUMN_NOTFOUND: Column not found (<col>)` when rows exist but the column does not.
   */
  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(colName?: string): Promise<T | null> {
    const output = await this.#executor.query(this.#query(), "first", false);
    const row = output.rows[0];
    if (row === undefined) return null;
    const object = rowObject(output.columns, row);
    if (colName === undefined) return object as T;
    if (!Object.hasOwn(object, colName)) {
      throw d1Error("D1_COLUMN_NOTFOUND", `Column not found (${colName})`, undefined, "Column not found");
    }
    return object[colName] as T;
  }

  /** Every row, as objects keyed by column name, with `meta`. */
  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(await this.#executor.query(this.#query(), "all", true));
  }

  /** Like `all()` (writes give `results: []`); for statements run for their effect. */
  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return toResult<T>(await this.#executor.query(this.#query(), "all", true));
  }

  /** Every row as an array of values; with `{ columnNames: true }`, the column names first. */
  raw<T = unknown[]>(options: D1RawOptions & { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: D1RawOptions & { columnNames?: false }): Promise<T[]>;
  async raw<T = unknown[]>(options?: D1RawOptions): Promise<T[] | [string[], ...T[]]> {
    const output = await this.#executor.query(this.#query(), "all", false);
    const rows = output.rows as T[];
    return options?.columnNames ? [output.columns, ...rows] : rows;
  }

  #query(): BoundQuery {
    return { sql: this.statement, params: this.params };
  }
}

/** Turns an engine output into D1's `{ success, meta, results }`. */
export function toResult<T>(output: QueryOutput): D1Result<T> {
  const results = output.rows.map((row) => rowObject(output.columns, row) as T);
  return { success: true, meta: output.meta as D1Meta, results };
}

/** A row as a plain object; with duplicate column names the last one wins, as on D1. */
function rowObject(columns: readonly string[], row: readonly D1Value[]): Record<string, D1Value> {
  const object: Record<string, D1Value> = {};
  for (let i = 0; i < columns.length; i++) {
    const name = columns[i]!;
    if (name === "__proto__") Object.defineProperty(object, name, { value: row[i], enumerable: true, writable: true, configurable: true });
    else object[name] = row[i]!;
  }
  return object;
}
