/**
 * `ctx.storage.sql.exec` for a Durable Object loaded from code, run by the host on the object's own
 * database. Unlike trusted code, the sandbox's SQL may not reach outside its file or into Hearth's
 * bookkeeping, and what it reads crosses into the sandbox in bounded pieces:
 * - `ATTACH`, `DETACH` and `VACUUM` are refused: they name files (`ATTACH '…/other.sqlite'`,
 *   `VACUUM INTO '…'`), and one object has one database, its own.
 * - `PRAGMA` is limited to read-only schema pragmas (and `defer_foreign_keys`): others change how
 *   the host stores the file (journal_mode, synchronous, writable_schema, user_version, cache_size…).
 * - Names starting `_hearth_` are refused: Hearth's tables (the key-value entries, the alarm and
 *   the facet's record of what it is) are reached through the storage API only.
 * - Rows are read one by one; a result over `maxHostCallBytes` stops with an error instead of being
 *   gathered whole in the host's memory.
 */
import type { SQLInputValue } from "node:sqlite";
import { LIMITS } from "../limits.ts";
import type { AgentDatabase } from "../storage/database.ts";
import { SqlError } from "../storage/errors.ts";
import { readingArrays, type SqlResult } from "../storage/sql.ts";
import { explainedText } from "../storage/refused-statements.ts";
import { scanStatements } from "../storage/sql-text.ts";

/** What an exec returns to the sandbox: columns, rows (values encoded, see below) and counters. */
export interface SandboxSqlResult {
  c: string[];
  r: unknown[][];
  rr: number;
  rw: number;
}

/** Pragmas the sandbox may run: they read the schema (or defer foreign keys for one transaction). */
const ALLOWED_PRAGMAS = new Set([
  "table_info",
  "table_xinfo",
  "table_list",
  "index_list",
  "index_info",
  "index_xinfo",
  "foreign_key_list",
  "foreign_key_check",
  "integrity_check",
  "quick_check",
  "defer_foreign_keys",
]);
const FILE_STATEMENTS = new Set(["ATTACH", "DETACH", "VACUUM"]);
const LEADING_COMMENTS = /^(\s*(--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/))*\s*/;
const PRAGMA = /^PRAGMA\s+(?:(\w+)\s*\.\s*)?(\w+)\s*($|=|\()/i;

/** Refuses what sandboxed SQL may not do (see the module comment); returns the statements. */
export function checkSandboxedSql(query: string): string[] {
  if (/_hearth_/i.test(query)) {
    throw new SqlError(new Error("access to Hearth's internal tables (_hearth_*) is not allowed: use ctx.storage's key-value and alarm methods"), query);
  }
  const statements = scanStatements(query);
  for (const statement of statements) {
    // SQLite prepares what EXPLAIN explains, and a PRAGMA takes effect when prepared: checked as itself.
    const { keyword, text } = explained(statement);
    if (FILE_STATEMENTS.has(keyword)) {
      throw new SqlError(new Error(`${keyword} is not allowed: a Durable Object loaded from code has one database, its own`), query);
    }
    if (keyword === "PRAGMA") {
      const match = PRAGMA.exec(text.replace(LEADING_COMMENTS, ""));
      const schema = match?.[1]?.toLowerCase();
      const name = match?.[2]?.toLowerCase();
      if (!name || !ALLOWED_PRAGMAS.has(name) || (schema !== undefined && schema !== "main")) {
        throw new SqlError(new Error(`PRAGMA ${name ?? "(unreadable)"} is not allowed here; allowed: ${[...ALLOWED_PRAGMAS].join(", ")}`), query);
      }
    }
  }
  return statements.map((statement) => statement.text);
}

/** The statement an `EXPLAIN [QUERY PLAN]` prefix explains (the statement itself without one). */
function explained(statement: { keyword: string; text: string }): { keyword: string; text: string } {
  const text = statement.keyword === "EXPLAIN" ? explainedText(statement.text) : undefined;
  return text === undefined ? statement : { keyword: /^\w+/.exec(text)?.[0].toUpperCase() ?? "", text };
}

/** Runs one statement with bindings, or a script of several without (the result is the last one's). */
export function runSandboxedSql(db: AgentDatabase, query: string, bindings: unknown[]): SandboxSqlResult {
  const statements = checkSandboxedSql(query);
  let last = query;
  if (statements.length > 1) {
    if (bindings.length > 0) throw new SqlError(new Error("Bindings are only allowed with a single statement"), query);
    db.execScript(statements.slice(0, -1).join(";\n"));
    last = statements.at(-1)!;
  }
  const statement = db.statement(last);
  const values = bindings.map((value, index) => binding(value, index, last));
  try {
    const columns = statement.columns();
    if (columns.length === 0) {
      const { changes } = statement.run(...values);
      return { c: [], r: [], rr: 0, rw: Number(changes) };
    }
    const rows = readingArrays(statement, () => {
      const encodedRows: unknown[][] = [];
      let size = 0;
      for (const row of statement.iterate(...values) as Iterable<SqlResult[]>) {
        const encoded = row.map(column);
        size += JSON.stringify(encoded).length + 1;
        if (size > LIMITS.maxHostCallBytes) {
          throw new RangeError(
            `The result of this query is over the ${LIMITS.maxHostCallBytes} bytes (maxHostCallBytes) that can cross into the sandbox at once: read it in pages (LIMIT … OFFSET …)`,
          );
        }
        encodedRows.push(encoded);
      }
      return encodedRows;
    });
    return { c: columns.map((c) => c.name), r: rows, rr: rows.length, rw: 0 };
  } catch (error) {
    throw error instanceof SqlError || error instanceof RangeError ? error : new SqlError(error, last);
  }
}

/** A binding from the sandbox: JSON scalars, bytes as `{ b: base64 }`, bigints as `{ i: digits }`. */
function binding(value: unknown, index: number, query: string): SQLInputValue {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value === null || typeof value !== "object") return value as SQLInputValue;
  const tagged = value as { b?: unknown; i?: unknown; x?: unknown };
  if (typeof tagged.b === "string") return new Uint8Array(Buffer.from(tagged.b, "base64"));
  if (typeof tagged.i === "string") return BigInt(tagged.i);
  throw new SqlError(new TypeError(`Cannot bind ${typeof tagged.x === "string" ? tagged.x : "object"} as parameter ${index + 1}`), query);
}

/** A column value for the sandbox: bytes as `{ b: base64 }`, bigints as `{ i: digits }`. */
function column(value: SqlResult): unknown {
  if (value instanceof Uint8Array) return { b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  if (typeof value === "bigint") return { i: String(value) };
  return value;
}
