import type { SQLInputValue, StatementSync } from "node:sqlite";
import { SqlError } from "./errors.ts";
import { READ_ONLY_KEYWORDS } from "./sql-text.ts";
import type { SqlValue } from "./sql.ts";

/** How rows of the agent's own SQL are read: INTEGERs as numbers, BLOBs as ArrayBuffers, values bound as Cloudflare binds them. */

/**
 * Runs `read` with `statement` giving rows as arrays (two columns of one name stay two cells), then
 * puts it back: statements are shared by SQL text, and everything else reads rows as objects.
 */
export function readingArrays<T>(statement: StatementSync, read: () => T): T {
  statement.setReturnArrays(true);
  try {
    return read();
  } finally {
    statement.setReturnArrays(false);
  }
}

/**
 * A statement's rows, every INTEGER a number: Cloudflare converts each 64-bit INTEGER to the nearest
 * double, where node:sqlite refuses one beyond ±2^53 unless it reads bigints, a cost on every
 * integer. So a statement that only reads runs again reading bigints if its first run met such a
 * value; one that may write (RETURNING, a PRAGMA) reads bigints from the start: its writes are done
 * before its rows are read, and it must not run twice.
 */
export function allRows(statement: StatementSync, values: SQLInputValue[], readOnly: boolean): unknown[] {
  if (readOnly && !readsBigInts.has(statement)) {
    try {
      return statement.all(...values);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE") throw error;
      readsBigInts.add(statement); // such values are in its rows: read them as bigints from now on
    }
  }
  statement.setReadBigInts(true);
  let rows: unknown[];
  try {
    rows = statement.all(...values);
  } finally {
    statement.setReadBigInts(false);
  }
  for (const row of rows) bigintsAsNumbers(row as Record<string | number, unknown>);
  return rows;
}

/** A row read with bigints (an array or an object): each becomes the nearest number, in place. */
export function bigintsAsNumbers(row: Record<string | number, unknown>): void {
  for (const column in row) {
    const cell = row[column];
    if (typeof cell === "bigint") row[column] = Number(cell);
  }
}

/** Statements (cached by text, so one per SQL text) whose rows held an INTEGER beyond ±2^53: read with bigints at once. */
export const readsBigInts = new WeakSet<StatementSync>();

/**
 * What a statement with rows is: `readOnly` when it cannot write (SELECT, VALUES, EXPLAIN, or WITH …
 * without RETURNING), so running it a second time is safe; `returnsWrites` when its rows are the rows
 * it wrote (INSERT, UPDATE, DELETE, REPLACE or WITH … with RETURNING). Worked out once per statement
 * (statements are cached by text).
 */
export function kindOf(statement: StatementSync, query: string): StatementKind {
  let kind = kinds.get(statement);
  if (kind === undefined) {
    const keyword = LEADING_KEYWORD.exec(query)?.[1]!.toUpperCase() ?? "";
    const returning = RETURNING.test(query);
    const readOnly = keyword === "WITH" ? !returning : READ_ONLY_KEYWORDS.has(keyword);
    kind = { readOnly, returnsWrites: !readOnly && returning && (keyword === "WITH" || WRITE_KEYWORDS.has(keyword)) };
    kinds.set(statement, kind);
  }
  return kind;
}

export interface StatementKind {
  readonly readOnly: boolean;
  readonly returnsWrites: boolean;
}

const kinds = new WeakMap<StatementSync, StatementKind>();

const LEADING_KEYWORD = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;
const RETURNING = /\bRETURNING\b/i;
/** Statements whose RETURNING rows are the rows they wrote. */
const WRITE_KEYWORDS: ReadonlySet<string> = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);

/** A row fresh from SQLite (an array or an object): its BLOB cells become ArrayBuffers, in place (no copy of the row). */
export function blobsAsArrayBuffers(row: Record<string | number, unknown>): void {
  for (const column in row) {
    const cell = row[column];
    if (cell instanceof Uint8Array) row[column] = storageValue(cell);
  }
}

/**
 * Cloudflare hands BLOBs out as ArrayBuffers: `new Float32Array(row.embedding)` must view the bytes,
 * where over a Uint8Array it would convert each byte to a float.
 */
function storageValue(value: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = value;
  return byteOffset === 0 && buffer.byteLength === byteLength && buffer instanceof ArrayBuffer ? buffer : value.slice().buffer;
}

export function toSqlInput(value: SqlValue, index: number, query: string): SQLInputValue {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "bigint") {
    return value;
  }
  if (value instanceof Uint8Array) return value;
  // Any other typed array or DataView binds its bytes, as on Cloudflare (a Float32Array of embeddings, say).
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new SqlError(
    new TypeError(`Cannot bind ${value === undefined ? "undefined" : typeof value} as parameter ${index + 1}`),
    query,
  );
}
