/**
 * The SQL console of an agent: schema, paged table rows, and queries — read-only unless the caller
 * is an admin who asked for `write: true`. Runs inside the agent (its event), on its own connection.
 *
 * A read is refused three ways over: its first keyword must be a reading one (SELECT, WITH, VALUES,
 * EXPLAIN, or a PRAGMA that only reads), `PRAGMA query_only` is on while it runs, and it runs in a
 * savepoint that is always rolled back — so even a write that slipped past both leaves nothing.
 * A write runs all its statements in one savepoint: one failing undoes every one before it. A PRAGMA
 * still only reads then: what one sets outlives the savepoint (sql-pragmas.ts).
 *
 * A query's cells are cut inside SQLite before they reach JavaScript, and an answer stops at
 * 1,000 rows or 8 MiB of JSON (bounded-rows.ts).
 */
import type { StatementSync } from "node:sqlite";
import type { AgentDatabase } from "../storage/database.ts";
import { splitStatements } from "../storage/split-statements.ts";
import { explainedText, leadingLength } from "../storage/refused-statements.ts";
import { readingArrays } from "../storage/sql.ts";
import { boundingQuery, preparedOnce, readBoundedRows, readRows, type BoundedRows } from "./bounded-rows.ts";
import { ApiError, badRequest } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";
import { readingPragma } from "./sql-pragmas.ts";
import { viewerStatement, viewerWrappedStatement } from "./sql-viewer-guard.ts";

type SqlParam = string | number | bigint | null | Uint8Array;

/** A query's answer. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  /** Rows the statements' INSERT, UPDATE and DELETE changed (0 for any other statement). */
  rowsAffected: number;
  truncated: boolean;
}

/** How one query's statements are prepared: as written, and inside the query that bounds its cells. */
interface Preparer {
  statement(text: string): StatementSync;
  wrapped(text: string): StatementSync;
}

/** First keywords of the statements whose rows are read through {@link boundingQuery}. */
const QUERY_KEYWORDS = new Set(["SELECT", "VALUES", "WITH"]);

const ROLLBACK = Symbol("rollback");

/** Tables Hearth and its features keep (shown apart from the agent's own). */
export function isFrameworkTable(name: string): boolean {
  return /^(_hearth|hearth_|_cf_|cf_agents|__)/.test(name);
}

/**
 * Runs `sql` with `params`. Read-only unless `write`; one statement in read mode (and whenever
 * params are given), any number in write mode. A query whose work is not bounded by the data's size
 * (recursive, nested loops over tables, amplifying functions) only for an `admin` (sql-viewer-guard.ts).
 */
export function runQuery(db: AgentDatabase, sql: unknown, params: unknown, write: boolean, admin = write): QueryResult {
  if (typeof sql !== "string" || sql.trim() === "") throw badRequest("sql must be a non-empty string");
  if (sql.length > INSPECTOR_LIMITS.maxSqlChars) throw badRequest(`sql is longer than ${INSPECTOR_LIMITS.maxSqlChars} characters (the inspector's limit)`);
  const statements = splitStatements(sql);
  if (statements.length === 0) throw badRequest("sql holds no statement (only comments)");
  const bound = bindings(params);
  if (statements.length > 1 && (!write || bound.length > 0)) {
    throw badRequest(`One statement per query (got ${statements.length})${write ? " when params are given" : " in read-only mode"}`);
  }
  if (!write) return readOnly(db, statements[0]!, bound, admin);
  for (const text of statements) refuseSettingPragma(text);
  const prepare: Preparer = { statement: (text) => db.statement(text), wrapped: (text) => preparedOnce(db, text) };
  try {
    return db.transactionSync(() => {
      let result: QueryResult = { columns: [], rows: [], rowsAffected: 0, truncated: false };
      let affected = 0;
      for (const text of statements) {
        result = execute(db, text, bound, prepare, true);
        affected += result.rowsAffected;
      }
      return { ...result, rowsAffected: affected };
    });
  } catch (error) {
    throw asSqlError(error, true);
  }
}

function readOnly(db: AgentDatabase, text: string, bound: unknown[], admin: boolean): QueryResult {
  refuseWriting(text);
  const prepare: Preparer = admin
    ? { statement: (query) => db.statement(query), wrapped: (query) => preparedOnce(db, query) }
    : { statement: (query) => viewerStatement(db, query), wrapped: (query) => viewerWrappedStatement(db, query) };
  let result: QueryResult | undefined;
  try {
    db.transactionSync(() => {
      db.statement("PRAGMA query_only = ON").run();
      try {
        result = execute(db, text, bound, prepare, false);
      } finally {
        db.statement("PRAGMA query_only = OFF").run();
      }
      throw ROLLBACK;
    });
  } catch (error) {
    if (error !== ROLLBACK) throw asSqlError(error, false);
  }
  return result!;
}

function execute(db: AgentDatabase, text: string, bound: unknown[], prepare: Preparer, writing: boolean): QueryResult {
  const statement = prepare.statement(text);
  const columns = statement.columns().map((column) => column.name);
  const args = bound as SqlParam[];
  try {
    if (columns.length === 0) {
      const rowsAffected = rowsChanged(db, () => statement.run(...args).changes);
      return { columns, rows: [], rowsAffected, truncated: false };
    }
    const wrapped = wrappedStatement(text, columns.length, prepare, writing);
    if (wrapped) return { columns, ...readBoundedRows(wrapped, args, columns.length, INSPECTOR_LIMITS.maxQueryRows), rowsAffected: 0 };
    // A PRAGMA or an EXPLAIN (small answers), or a write's RETURNING (an admin's): cut once read.
    let read: BoundedRows | undefined;
    const rowsAffected = rowsChanged(db, () => {
      // Rows as arrays: two columns of one name (`SELECT 1 AS a, 2 AS a`) are two cells, not one.
      read = readingArrays(statement, () => withBigInts(statement, () => readRows(statement, args, columns.length, INSPECTOR_LIMITS.maxQueryRows)));
      return changesOfLastWrite(db);
    });
    return { columns, ...read!, rowsAffected };
  } catch (error) {
    throw asSqlError(error, true);
  }
}

/** `text` inside the query that bounds its cells, prepared; undefined for a statement that is no query. */
function wrappedStatement(text: string, columns: number, prepare: Preparer, writing: boolean): StatementSync | undefined {
  const keyword = leadingKeyword(text);
  if (!QUERY_KEYWORDS.has(keyword)) return undefined;
  try {
    return prepare.wrapped(boundingQuery(text, columns));
  } catch (error) {
    // `WITH … DELETE … RETURNING` is a write, not a query: its rows are read as they come (admin only).
    if (writing && keyword === "WITH") return undefined;
    throw error;
  }
}

/**
 * What `run` reports changed, when the statement changed rows at all: SQLite's changes() keeps the
 * count of the last INSERT, UPDATE or DELETE, so a CREATE or a PRAGMA after one would repeat its count.
 */
function rowsChanged(db: AgentDatabase, run: () => number | bigint): number {
  const before = totalChanges(db);
  const reported = run();
  return totalChanges(db) === before ? 0 : Number(reported);
}

function totalChanges(db: AgentDatabase): number {
  return Number((db.statement("SELECT total_changes() AS n").get() as { n: number | bigint }).n);
}

function changesOfLastWrite(db: AgentDatabase): number {
  return Number((db.statement("SELECT changes() AS n").get() as { n: number | bigint }).n);
}

/** Runs `read` with `statement` reading INTEGERs as bigints (none beyond 2^53 refused), then puts it back: statements are shared by SQL text. */
function withBigInts<T>(statement: StatementSync, read: () => T): T {
  statement.setReadBigInts(true);
  try {
    return read();
  } finally {
    statement.setReadBigInts(false);
  }
}

function leadingKeyword(text: string): string {
  return /^[a-z]+/i.exec(text.slice(leadingLength(text)))?.[0]?.toUpperCase() ?? "";
}

function refuseWriting(text: string): void {
  const body = text.slice(leadingLength(text));
  const keyword = leadingKeyword(body);
  if (keyword === "PRAGMA") {
    const pragma = readingPragma(body);
    if (!pragma.reads) throw readOnlyRefusal(pragma.name ? `PRAGMA ${pragma.name} in this form` : "This PRAGMA");
    return;
  }
  // SQLite prepares what EXPLAIN explains, and a PRAGMA takes effect when prepared: what follows is checked as itself.
  if (keyword === "EXPLAIN") return refuseWriting(explainedText(body)!);
  if (!["SELECT", "WITH", "VALUES"].includes(keyword)) throw readOnlyRefusal(keyword || "this statement");
}

/** With `write: true`: a PRAGMA (also one an EXPLAIN prepares) only in a form that reads. */
function refuseSettingPragma(text: string): void {
  const body = text.slice(leadingLength(text));
  const keyword = leadingKeyword(body);
  if (keyword === "EXPLAIN") return refuseSettingPragma(explainedText(body)!);
  if (keyword !== "PRAGMA") return;
  const pragma = readingPragma(body);
  if (pragma.reads) return;
  throw new ApiError(
    403,
    "refused_pragma",
    `${pragma.name ? `PRAGMA ${pragma.name} in this form` : "This PRAGMA"} is refused, also with write: true: what it sets outlives the write (the file's user_version and application_id tell Hearth what the file is; the connection's settings are Hearth's)`,
  );
}

function readOnlyRefusal(what: string): ApiError {
  return new ApiError(403, "read_only", `${what} is refused: the SQL console is read-only (an admin may send write: true to change data)`);
}

function asSqlError(error: unknown, duringRun: boolean): ApiError {
  if (error instanceof ApiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/readonly|read-only|query_only/i.test(message)) return readOnlyRefusal("A write");
  return new ApiError(400, "sql_error", duringRun ? message : `The query failed: ${message}`);
}

function bindings(params: unknown): unknown[] {
  if (params === undefined || params === null) return [];
  if (Array.isArray(params)) return params.map((value, index) => sqlValue(value, `params[${index}]`));
  if (typeof params === "object") {
    const named: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(params)) named[key] = sqlValue(value, `params.${key}`);
    return [named];
  }
  throw badRequest("params must be an array (for ?) or an object (for :name)");
}

function sqlValue(value: unknown, where: string): SqlParam {
  if (value === null || typeof value === "string" || typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  throw badRequest(`${where} must be a string, number, boolean or null`);
}
