/**
 * The SQL console of an agent: schema, paged table rows, and queries — read-only unless the caller
 * is an admin who asked for `write: true`. Runs inside the agent (its event), on its own connection.
 *
 * A read is refused three ways over: its first keyword must be a reading one (SELECT, WITH, VALUES,
 * EXPLAIN, or a PRAGMA that only reads), `PRAGMA query_only` is on while it runs, and it runs in a
 * savepoint that is always rolled back — so even a write that slipped past both leaves nothing.
 * A write runs all its statements in one savepoint: one failing undoes every one before it.
 */
import type { StatementSync } from "node:sqlite";
import type { AgentDatabase } from "../storage/database.ts";
import { splitStatements } from "../storage/split-statements.ts";
import { explainedText, leadingLength } from "../storage/refused-statements.ts";
import { ApiError, badRequest, blobSummary } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";
import { viewerStatement } from "./sql-viewer-guard.ts";
import { readingArrays } from "../storage/sql.ts";

type SqlParam = string | number | bigint | null | Uint8Array;

/** A query's answer. */
export interface QueryResult {
  columns: string[];
  rows: unknown[][];
  rowsAffected: number;
  truncated: boolean;
}

/** PRAGMAs that take a table or index to describe, allowed with that argument in read mode (`PRAGMA table_info(t)`). */
const DESCRIBING_PRAGMAS = new Set([
  "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
  "foreign_key_check", "integrity_check", "quick_check",
]);
/**
 * PRAGMAs allowed bare in read mode (`PRAGMA page_count`): each only tells its value then. Any other
 * form of a PRAGMA sets something on the agent's own connection, which no rollback undoes.
 */
const READING_PRAGMAS = new Set([
  ...DESCRIBING_PRAGMAS, "database_list", "collation_list", "function_list", "pragma_list", "compile_options", "page_count",
  "page_size", "freelist_count", "user_version", "schema_version", "data_version", "journal_mode", "encoding", "application_id",
  "foreign_keys", "synchronous", "cache_size", "auto_vacuum", "max_page_count", "locking_mode", "temp_store", "wal_autocheckpoint",
]);
/** A PRAGMA in the one shape read mode allows: `PRAGMA [schema.]name` or `PRAGMA [schema.]name(argument)`. */
const PRAGMA_SHAPE = /^PRAGMA\s+(?:(?:\w+|"\w+")\s*\.\s*)?(?:"(\w+)"|\[(\w+)\]|`(\w+)`|(\w+))\s*(\(\s*(?:\w+|'[^']*'|"[^"]*")\s*\))?\s*;?\s*$/i;

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
  try {
    return db.transactionSync(() => {
      let result: QueryResult = { columns: [], rows: [], rowsAffected: 0, truncated: false };
      let affected = 0;
      for (const text of statements) {
        result = execute(db.statement(text), bound);
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
  let result: QueryResult | undefined;
  try {
    db.transactionSync(() => {
      db.statement("PRAGMA query_only = ON").run();
      try {
        result = execute(admin ? db.statement(text) : viewerStatement(db, text), bound);
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

function execute(statement: StatementSync, bound: unknown[]): QueryResult {
  const columns = statement.columns().map((column) => column.name);
  const args = bound as SqlParam[];
  try {
    if (columns.length === 0) {
      const { changes } = statement.run(...args);
      return { columns, rows: [], rowsAffected: Number(changes), truncated: false };
    }
    // Rows as arrays: two columns of one name (`SELECT 1 AS a, 2 AS a`) are two cells, not one.
    return readingArrays(statement, () => {
      const rows: unknown[][] = [];
      const iterator = statement.iterate(...args);
      let truncated = false;
      for (const row of iterator) {
        if (rows.length >= INSPECTOR_LIMITS.maxQueryRows) {
          truncated = true;
          iterator.return?.();
          break;
        }
        rows.push((row as unknown as unknown[]).map(cell));
      }
      return { columns, rows, rowsAffected: 0, truncated };
    });
  } catch (error) {
    throw asSqlError(error, true);
  }
}

/** A cell as JSON shows it: BLOBs summarised, big integers as strings. */
export function cell(value: unknown): unknown {
  if (value instanceof Uint8Array) return blobSummary(value);
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}

function refuseWriting(text: string): void {
  const body = text.slice(leadingLength(text));
  const keyword = /^[a-z]+/i.exec(body)?.[0]?.toUpperCase() ?? "";
  if (keyword === "PRAGMA") {
    // No comment inside, one exact shape, a name known to only read in that shape.
    const shape = /--|\/\*/.test(body) ? null : PRAGMA_SHAPE.exec(body);
    const name = (shape?.[1] ?? shape?.[2] ?? shape?.[3] ?? shape?.[4] ?? "").toLowerCase();
    const allowed = shape !== null && (shape[5] === undefined ? READING_PRAGMAS.has(name) : DESCRIBING_PRAGMAS.has(name));
    const named = name || /^PRAGMA\s+(?:[\w"]+\s*\.\s*)?["[`]?(\w+)/i.exec(body)?.[1]?.toLowerCase();
    if (!allowed) throw readOnlyRefusal(named ? `PRAGMA ${named} in this form` : "This PRAGMA");
    return;
  }
  // SQLite prepares what EXPLAIN explains, and a PRAGMA takes effect when prepared: what follows is checked as itself.
  if (keyword === "EXPLAIN") return refuseWriting(explainedText(body)!);
  if (!["SELECT", "WITH", "VALUES"].includes(keyword)) throw readOnlyRefusal(keyword || "this statement");
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
