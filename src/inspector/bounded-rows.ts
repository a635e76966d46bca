/**
 * Rows of a query with every cell bounded before it reaches JavaScript. node:sqlite turns each cell
 * into a JavaScript value as it steps: a 100 MB TEXT becomes a 100 MB string, and thirty of them in
 * one row end the process inside V8. So a query runs inside another that cuts each TEXT to its start
 * and each BLOB to its first bytes (telling their whole length), and rows stop at a count and at a
 * byte budget (INSPECTOR_LIMITS.maxQueryResultBytes).
 */
import { constants, type StatementSync } from "node:sqlite";
import type { AgentDatabase } from "../storage/database.ts";
import { blobSummary } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";

/** The fewest characters of a TEXT cell kept, however many columns a query has. */
const MIN_CELL_CHARS = 256;
/** The name of the wrapping query's CTE: one no agent's SQL is likely to use (it would hide that table). */
const WRAPPED = '"_hearth_inspector_cells"';

/** A TEXT cell cut to its start: `length` is its whole length in characters. */
export interface TextSummary {
  $text: string;
  length: number;
}

/** Rows read within the limits, and whether more were left out. */
export interface BoundedRows {
  rows: unknown[][];
  truncated: boolean;
}

/** Characters kept of each TEXT cell of a query with `columns` columns: a whole row stays within the byte budget (3 bytes per character at most in UTF-8). */
export function cellChars(columns: number): number {
  const share = Math.floor(INSPECTOR_LIMITS.maxQueryResultBytes / (3 * Math.max(1, columns)));
  return Math.max(MIN_CELL_CHARS, Math.min(INSPECTOR_LIMITS.maxCellChars, share));
}

/**
 * `query` (one SELECT, VALUES or WITH … SELECT, as the user wrote it) inside a query that answers,
 * for each of its `columns` cells, the cell cut inside SQLite (a TEXT to its first characters, a BLOB
 * to as many bytes) and its whole length. SQLite merges the two where it can: each cell is then read,
 * cut and let go one after the other, so a row of many large cells never sits in memory whole (kept
 * apart, as a co-routine, the inner row would: 100 cells of a 20 MB value took 2 GB, against 125 MB
 * merged). A merged cell is computed up to three times (its length, itself, its length again), which
 * only a query that is not deterministic can tell.
 * @example boundingQuery("SELECT body FROM notes", 1)
 */
export function boundingQuery(query: string, columns: number): string {
  const names = Array.from({ length: columns }, (_, index) => `c${index}`);
  const chars = cellChars(columns);
  // length() of a number is that of its text, never past the cut: numbers and NULL come back as they are.
  const cells = names.map((c) => `CASE WHEN length(${c}) > ${chars} THEN substr(${c}, 1, ${chars}) ELSE ${c} END, length(${c})`);
  // The newline ends a trailing `--` comment of the user's query.
  return `WITH ${WRAPPED}(${names.join(", ")}) AS (${query}\n) SELECT ${cells.join(", ")} FROM ${WRAPPED}`;
}

/**
 * A statement prepared for one use (not kept in the agent's statement cache, which holds the agent's
 * own SQL): the inspector's wrapping queries differ with every query.
 */
export function preparedOnce(db: AgentDatabase, text: string): StatementSync {
  return db.oneUseStatement(text, () => constants.SQLITE_OK);
}

/**
 * Reads the rows of a statement made from {@link boundingQuery} (`columns`: the inner query's), at
 * most `maxRows` and {@link INSPECTOR_LIMITS.maxQueryResultBytes}. The statement must be this
 * caller's own (its read options are set here).
 */
export function readBoundedRows(statement: StatementSync, args: readonly unknown[], columns: number, maxRows: number): BoundedRows {
  const chars = cellChars(columns);
  statement.setReturnArrays(true);
  statement.setReadBigInts(true);
  return collectRows(statement.iterate(...(args as never[])) as Iterator<unknown>, maxRows, (raw) => {
    const pairs = raw as unknown[];
    const row: unknown[] = [];
    for (let index = 0; index < columns; index++) row.push(cutCell(pairs[2 * index], pairs[2 * index + 1], chars));
    return row;
  });
}

/** Reads the rows of any statement (a PRAGMA, an EXPLAIN, a write's RETURNING), cutting each cell in JavaScript. */
export function readRows(statement: StatementSync, args: readonly unknown[], columns: number, maxRows: number): BoundedRows {
  const chars = cellChars(columns);
  return collectRows(statement.iterate(...(args as never[])) as Iterator<unknown>, maxRows, (raw) => (raw as unknown[]).map((value) => cellCutHere(value, chars)));
}

/** Rows from `iterator` until `maxRows` or the byte budget; the iterator is closed when rows are left. */
function collectRows(iterator: Iterator<unknown>, maxRows: number, toRow: (raw: unknown) => unknown[]): BoundedRows {
  const rows: unknown[][] = [];
  let bytes = 0;
  try {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      if (rows.length >= maxRows) return { rows, truncated: true };
      const row = toRow(next.value);
      const size = Buffer.byteLength(JSON.stringify(row));
      if (rows.length > 0 && bytes + size > INSPECTOR_LIMITS.maxQueryResultBytes) return { rows, truncated: true };
      rows.push(row);
      bytes += size;
    }
    return { rows, truncated: false };
  } finally {
    iterator.return?.();
  }
}

/** A cell SQLite cut already (`length`: the whole value's, in characters or bytes), as JSON shows it. */
function cutCell(value: unknown, length: unknown, chars: number): unknown {
  if (value instanceof Uint8Array) return blobSummary(value, Number(length)); // its start (up to `chars` bytes) is all it brought
  if (typeof value === "string" && Number(length) > chars) return { $text: value, length: Number(length) } satisfies TextSummary;
  return plainCell(value);
}

/** A cell that reached JavaScript whole, cut as {@link cutCell} shows one. */
export function cellCutHere(value: unknown, chars: number = INSPECTOR_LIMITS.maxCellChars): unknown {
  if (value instanceof Uint8Array) return blobSummary(value);
  if (typeof value === "string" && value.length > chars) {
    // Not between the two halves of a surrogate pair.
    const end = /[\uD800-\uDBFF]/.test(value[chars - 1] ?? "") ? chars - 1 : chars;
    return { $text: value.slice(0, end), length: value.length } satisfies TextSummary;
  }
  return plainCell(value);
}

/** Big integers as strings (JSON numbers lose them past 2^53), safe ones as numbers. */
function plainCell(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return value;
}
