/** Types of the D1 binding, shaped like `@cloudflare/workers-types`. */

/** `meta` of every result. See docs/bindings/d1.md for how each field is measured on Hearth. */
export interface D1Meta {
  /** Milliseconds spent in SQLite for this statement. */
  duration: number;
  /** Size of the database file after the statement, bytes. */
  size_after: number;
  /** Best effort: rows the statement returned (SQLite does not report rows scanned to node:sqlite). */
  rows_read: number;
  /** Best effort: rows inserted, updated or deleted, triggers included (index writes not counted). */
  rows_written: number;
  /** The connection's last inserted rowid (as SQLite's last_insert_rowid()). */
  last_row_id: number;
  /** True when the statement changed rows or the schema. */
  changed_db: boolean;
  /** Rows changed by the statement, triggers included. */
  changes: number;
  /** Always "hearth". */
  served_by: string;
  /** Always "local": the one copy is on this machine. */
  served_by_region: string;
  /** Always true: one machine, one copy, no replicas. */
  served_by_primary: boolean;
  /** Always 1: a query is not retried. */
  total_attempts: number;
  timings: { sql_duration_ms: number };
  [key: string]: unknown;
}

export interface D1Response {
  success: true;
  meta: D1Meta;
  error?: never;
}

/** What `all()`, `run()` and each element of `batch()` resolve to. */
export type D1Result<T = unknown> = D1Response & { results: T[] };

/** What `exec()` resolves to. */
export interface D1ExecResult {
  /** Statements (lines) run. */
  count: number;
  /** Milliseconds, summed over the lines. */
  duration: number;
}

export interface D1RawOptions {
  /** Put the column names first, as an array of strings. */
  columnNames?: boolean;
}

/** `"first-primary"`, `"first-unconstrained"` or a bookmark returned by `getBookmark()`. */
export type D1SessionConstraint = "first-primary" | "first-unconstrained";
export type D1SessionBookmark = string;
