import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { AgentDatabase } from "./database.ts";
import { SqlError } from "./errors.ts";
import { READ_ONLY_KEYWORDS, scanStatements } from "./sql-text.ts";

/** A value that can be bound to a `?` placeholder; any typed array or DataView binds its bytes as a BLOB. */
export type SqlValue = string | number | bigint | boolean | null | ArrayBufferView | ArrayBuffer;

/** The shape of an agent's `` this.sql`…` `` tag, for helpers that run SQL on an agent's behalf. */
export type SqlTag = <T>(strings: TemplateStringsArray, ...values: SqlValue[]) => T[];
/** A value SQLite returns. */
export type SqlResult = string | number | bigint | null | Uint8Array;
/** A value of a `ctx.storage.sql.exec` row: BLOBs are ArrayBuffers, as on Cloudflare. */
export type SqlStorageValue = string | number | bigint | null | ArrayBuffer;
export type SqlRow = Record<string, SqlStorageValue>;

/**
 * The result of {@link SqlStorage.exec}: iterable rows plus counters.
 * @example
 * const { count } = ctx.storage.sql.exec("SELECT count(*) AS count FROM turns").one();
 */
export class SqlCursor<T extends SqlRow = SqlRow> implements Iterable<T> {
  readonly columnNames: string[];
  /** Rows this statement returned (Cloudflare counts rows scanned, which node:sqlite does not expose). */
  readonly rowsRead: number;
  /** Rows the statement inserted, updated or deleted (RETURNING or not); its triggers' writes are not counted. */
  readonly rowsWritten: number;
  readonly #rows: SqlStorageValue[][];
  #position = 0;

  constructor(columnNames: string[], rows: SqlStorageValue[][], rowsWritten: number) {
    this.columnNames = columnNames;
    this.#rows = rows;
    this.rowsRead = rows.length;
    this.rowsWritten = rowsWritten;
  }

  /** Remaining rows as objects. With duplicate column names the last one wins; use raw() to see all. */
  toArray(): T[] {
    const out: T[] = [];
    for (const row of this) out.push(row);
    return out;
  }

  /** The only row; throws unless exactly one row remains (with Cloudflare's messages, which code matches on). */
  one(): T {
    const rest = this.toArray();
    if (rest.length === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
    if (rest.length > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    return rest[0]!;
  }

  /** Remaining rows as arrays of values in column order. */
  *raw(): IterableIterator<SqlStorageValue[]> {
    while (this.#position < this.#rows.length) yield this.#rows[this.#position++]!;
  }

  next(): IteratorResult<T, undefined> {
    const row = this.#rows[this.#position];
    if (row === undefined) return { done: true, value: undefined };
    this.#position++;
    return { done: false, value: this.#toObject(row) };
  }

  [Symbol.iterator](): Iterator<T> {
    return { next: () => this.next() };
  }

  #toObject(row: SqlStorageValue[]): T {
    const object: SqlRow = {};
    for (let i = 0; i < this.columnNames.length; i++) object[this.columnNames[i]!] = row[i]!;
    return object as T;
  }
}

/**
 * Synchronous SQL over the agent's own database, in the style of Durable Objects' `ctx.storage.sql`.
 * @example
 * ctx.storage.sql.exec("INSERT INTO turns (content) VALUES (?)", "hello");
 */
export class SqlStorage {
  readonly #db: AgentDatabase;
  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /**
   * Runs one statement with `?` bindings, or a script of several statements: the earlier ones run
   * first, the last one takes the bindings and the cursor holds its rows. As on Cloudflare, only the
   * last statement may have parameters.
   */
  exec<T extends SqlRow = SqlRow>(query: string, ...bindings: SqlValue[]): SqlCursor<T> {
    const statements = scanStatements(query);
    const last = statements.at(-1);
    const earlier = statements.slice(0, -1);
    if (earlier.some((statement) => statement.parameterCount > 0)) {
      throw new SqlError(new Error("When executing multiple SQL statements in a single call, only the last statement can have parameters."), query);
    }
    // As the Workers runtime: SQLite would run a parameter left unbound as NULL, and refuse one too many only vaguely.
    if (last !== undefined && bindings.length !== last.parameterCount) {
      throw new SqlError(new Error(`Wrong number of parameter bindings for SQL query. (${bindings.length} given, ${last.parameterCount} in the statement)`), query);
    }
    if (earlier.length > 0) {
      this.#db.userScript(earlier.map((statement) => statement.text).join(";\n"));
      return runCursor<T>(this.#db, last!.text, bindings);
    }
    return runCursor<T>(this.#db, query, bindings);
  }

  /** Bytes of the database's pages in use (free pages left out, as on Cloudflare). */
  get databaseSize(): number {
    return this.#db.size;
  }
}

function runCursor<T extends SqlRow>(db: AgentDatabase, query: string, bindings: SqlValue[]): SqlCursor<T> {
  const statement = db.userStatement(query);
  const values = bindings.map((value, index) => toSqlInput(value, index, query));
  try {
    const columns = statement.columns();
    if (columns.length === 0) {
      const { changes } = statement.run(...values);
      return new SqlCursor<T>([], [], Number(changes));
    }
    const { readOnly, returnsWrites } = kindOf(statement, query);
    const rows = readingArrays(statement, () => allRows(statement, values, readOnly) as unknown as SqlStorageValue[][]);
    for (const row of rows) blobsAsArrayBuffers(row as unknown as Record<number, unknown>);
    // With rows, node:sqlite does not tell the changes; a write's RETURNING gives one row per row it wrote itself.
    return new SqlCursor<T>(
      columns.map((c) => c.name),
      rows,
      returnsWrites ? rows.length : 0,
    );
  } catch (error) {
    throw error instanceof SqlError ? error : new SqlError(error, query);
  }
}

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

/** Runs a tagged-template query: the template parts are joined with `?` and the values are bound. */
export function runTemplate<T>(db: AgentDatabase, strings: TemplateStringsArray, values: SqlValue[]): T[] {
  const query = strings.join("?");
  const statement = db.userStatement(query);
  const inputs = values.map((value, index) => toSqlInput(value, index, query));
  try {
    if (statement.columns().length === 0) {
      statement.run(...inputs);
      return [];
    }
    const rows = allRows(statement, inputs, kindOf(statement, query).readOnly) as Array<Record<string, unknown>>;
    // Cloudflare's `this.sql` is `sql.exec`'s rows: BLOBs as ArrayBuffers, INTEGERs as numbers.
    for (const row of rows) blobsAsArrayBuffers(row);
    return rows as T[];
  } catch (error) {
    throw new SqlError(error, query);
  }
}

/**
 * A statement's rows, every INTEGER a number: Cloudflare converts each 64-bit INTEGER to the nearest
 * double, where node:sqlite refuses one beyond ±2^53 unless it reads bigints, a cost on every
 * integer. So a statement that only reads runs again reading bigints if its first run met such a
 * value; one that may write (RETURNING, a PRAGMA) reads bigints from the start: its writes are done
 * before its rows are read, and it must not run twice.
 */
function allRows(statement: StatementSync, values: SQLInputValue[], readOnly: boolean): unknown[] {
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
function bigintsAsNumbers(row: Record<string | number, unknown>): void {
  for (const column in row) {
    const cell = row[column];
    if (typeof cell === "bigint") row[column] = Number(cell);
  }
}

/** Statements (cached by text, so one per SQL text) whose rows held an INTEGER beyond ±2^53: read with bigints at once. */
const readsBigInts = new WeakSet<StatementSync>();

/**
 * What a statement with rows is: `readOnly` when it cannot write (SELECT, VALUES, EXPLAIN, or WITH …
 * without RETURNING), so running it a second time is safe; `returnsWrites` when its rows are the rows
 * it wrote (INSERT, UPDATE, DELETE, REPLACE or WITH … with RETURNING). Worked out once per statement
 * (statements are cached by text).
 */
function kindOf(statement: StatementSync, query: string): StatementKind {
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

interface StatementKind {
  readonly readOnly: boolean;
  readonly returnsWrites: boolean;
}

const kinds = new WeakMap<StatementSync, StatementKind>();

const LEADING_KEYWORD = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;
const RETURNING = /\bRETURNING\b/i;
/** Statements whose RETURNING rows are the rows they wrote. */
const WRITE_KEYWORDS: ReadonlySet<string> = new Set(["INSERT", "UPDATE", "DELETE", "REPLACE"]);

/** A row fresh from SQLite (an array or an object): its BLOB cells become ArrayBuffers, in place (no copy of the row). */
function blobsAsArrayBuffers(row: Record<string | number, unknown>): void {
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

function toSqlInput(value: SqlValue, index: number, query: string): SQLInputValue {
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
