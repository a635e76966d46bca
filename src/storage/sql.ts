import type { AgentDatabase } from "./database.ts";
import { SqlError } from "./errors.ts";
import { SqlCursor } from "./sql-cursor.ts";
import { allRows, blobsAsArrayBuffers, kindOf, readingArrays, toSqlInput } from "./sql-rows.ts";
import { StatementRows, unlentStatement } from "./sql-statement-rows.ts";
import { scanStatements } from "./sql-text.ts";

export { SqlCursor, type RawRows } from "./sql-cursor.ts";
export { readingArrays } from "./sql-rows.ts";

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
   * last statement may have parameters. A query's rows are read as the cursor is.
   */
  exec<T extends SqlRow = SqlRow>(query: string, ...bindings: SqlValue[]): SqlCursor<T> {
    if (typeof query !== "string") throw new TypeError(`sql.exec() takes the SQL as a string, not ${query === null ? "null" : typeof query}`);
    const plan = planQuery(query);
    checkBindings(plan, bindings.length);
    if (plan.script !== undefined) this.#db.userScript(plan.script);
    return runCursor<T>(this.#db, plan.last, bindings);
  }

  /** Bytes of the database's pages in use (free pages left out, as on Cloudflare). */
  get databaseSize(): number {
    return this.#db.size;
  }
}

/** A query's statements: the earlier ones as one script (they take no parameters), and the last. */
interface QueryPlan {
  /** The statements before the last, run first; undefined with one statement. */
  script: string | undefined;
  /** The statement the bindings and the rows belong to (the whole text when it has no statement). */
  last: string;
  /** The last statement's parameters; undefined when the text has no statement. */
  parameterCount: number | undefined;
}

function planQuery(query: string): QueryPlan {
  const statements = scanStatements(query);
  if (statements.length <= 1) return { script: undefined, last: query, parameterCount: statements[0]?.parameterCount };
  const earlier = statements.slice(0, -1);
  if (earlier.some((statement) => statement.parameterCount > 0)) {
    throw new SqlError(new Error("When executing multiple SQL statements in a single call, only the last statement can have parameters."), query);
  }
  const last = statements.at(-1)!;
  return { script: earlier.map((statement) => statement.text).join(";\n"), last: last.text, parameterCount: last.parameterCount };
}

/** As the Workers runtime: SQLite would run a parameter left unbound as NULL, and refuse one too many only vaguely. */
function checkBindings(plan: QueryPlan, given: number): void {
  const expected = plan.parameterCount;
  if (expected !== undefined && given !== expected) {
    throw new SqlError(new Error(`Wrong number of parameter bindings for SQL query. (${given} given, ${expected} in the statement)`), plan.last);
  }
}

function runCursor<T extends SqlRow>(db: AgentDatabase, query: string, bindings: SqlValue[]): SqlCursor<T> {
  const statement = unlentStatement(db, query, db.userStatement(query));
  const values = bindings.map((value, index) => toSqlInput(value, index, query));
  try {
    const columns = statement.columns();
    if (columns.length === 0) {
      const { changes } = statement.run(...values);
      return new SqlCursor<T>([], [], Number(changes));
    }
    const names = columns.map((c) => c.name);
    const { readOnly, returnsWrites } = kindOf(statement, query);
    // A query that only reads is read as the cursor is; one that writes (RETURNING, a PRAGMA) writes now, once.
    if (readOnly) return new SqlCursor<T>(names, new StatementRows(db, query, statement, values), 0);
    const rows = readingArrays(statement, () => allRows(statement, values, false) as unknown as Array<Record<number, unknown>>);
    for (const row of rows) blobsAsArrayBuffers(row);
    // With rows, node:sqlite does not tell the changes; a write's RETURNING gives one row per row it wrote itself.
    return new SqlCursor<T>(names, rows as unknown as SqlStorageValue[][], returnsWrites ? rows.length : 0);
  } catch (error) {
    throw error instanceof SqlError ? error : new SqlError(error, query);
  }
}

/** Each template's plan, by its strings (one frozen array per call site): the hot path scans its SQL once. */
const templatePlans = new WeakMap<TemplateStringsArray, QueryPlan>();

/**
 * Runs a tagged-template query as the Agents SDK's `sql` does (`[...ctx.storage.sql.exec(query, ...values)]`):
 * the template parts are joined with `?`, every statement runs, and the values must match the last one's parameters.
 */
export function runTemplate<T>(db: AgentDatabase, strings: TemplateStringsArray, values: SqlValue[]): T[] {
  let plan = templatePlans.get(strings);
  if (plan === undefined) {
    plan = planQuery(strings.join("?"));
    if (Object.isFrozen(strings)) templatePlans.set(strings, plan);
  }
  checkBindings(plan, values.length);
  if (plan.script !== undefined) db.userScript(plan.script);
  const query = plan.last;
  const statement = unlentStatement(db, query, db.userStatement(query));
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
