import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { AgentDatabase } from "./database.ts";
import { SqlError } from "./errors.ts";
import type { RowSource } from "./sql-cursor.ts";
import { allRows, bigintsAsNumbers, blobsAsArrayBuffers, readingArrays, readsBigInts } from "./sql-rows.ts";
import type { SqlStorageValue } from "./sql.ts";

/**
 * Cached statements a cursor is reading row by row, and the source reading it. Running such a
 * statement again would reset that cursor (node:sqlite invalidates its iterator), and the cursor
 * needs its flags (arrays, bigints) until it is done: the same SQL meanwhile gets a statement of its
 * own. A cursor dropped unread to the end frees its statement when it is collected.
 */
const lent = new WeakMap<StatementSync, WeakRef<StatementRows>>();

/** `statement` (cached for `query`) if no cursor is reading it now; else one prepared for this use alone. */
export function unlentStatement(db: AgentDatabase, query: string, statement: StatementSync): StatementSync {
  const reader = lent.get(statement);
  if (reader === undefined) return statement;
  if (reader.deref()?.reading(statement) === true) return db.ownStatement(query);
  lent.delete(statement);
  resetFlags(statement);
  return statement;
}

/** Back to how every other caller reads a cached statement (nothing to do once it was finalized with its connection). */
function resetFlags(statement: StatementSync): void {
  try {
    statement.setReturnArrays(false);
    statement.setReadBigInts(false);
  } catch {
    // Finalized: never used again.
  }
}

/**
 * The rows of a read-only statement of the agent's SQL (one that can run again without harm), read
 * when the cursor asks: all at once (`all`, the cheaper way), or one SQLite step per row (`next`).
 */
export class StatementRows implements RowSource {
  readonly #db: AgentDatabase;
  readonly #query: string;
  readonly #values: SQLInputValue[];
  /** The statement `exec` prepared; prepared again if its connection was closed (parked) since. */
  #statement: StatementSync;
  #iterator: Iterator<unknown> | undefined;
  /** Rows handed out by `next`: a restart (reading bigints) skips them. */
  #delivered = 0;
  #done = false;

  constructor(db: AgentDatabase, query: string, statement: StatementSync, values: SQLInputValue[]) {
    this.#db = db;
    this.#query = query;
    this.#statement = statement;
    this.#values = values;
  }

  /** Whether this source is reading `statement` row by row now. */
  reading(statement: StatementSync): boolean {
    return this.#iterator !== undefined && this.#statement === statement;
  }

  all(): SqlStorageValue[][] {
    this.#done = true;
    return this.#run((statement) => {
      const rows = readingArrays(statement, () => allRows(statement, this.#values, true)) as Array<Record<number, unknown>>;
      for (const row of rows) blobsAsArrayBuffers(row);
      return rows as unknown as SqlStorageValue[][];
    });
  }

  next(): SqlStorageValue[] | undefined {
    if (this.#done) return undefined;
    this.#iterator ??= this.#start();
    let step: IteratorResult<unknown>;
    try {
      step = this.#iterator.next();
    } catch (error) {
      const statement = this.#statement;
      const code = (error as { code?: unknown }).code;
      this.#finish();
      // Read again from the start, past the rows handed out (the statement only reads): with bigints after
      // an INTEGER beyond ±2^53 (node:sqlite skips that row), or on a statement prepared again after the
      // connection was parked (closed), which finalized this one.
      const again = code === "ERR_OUT_OF_RANGE" ? !readsBigInts.has(statement) : code === "ERR_INVALID_STATE" && this.#delivered > 0;
      if (again) {
        if (code === "ERR_OUT_OF_RANGE") readsBigInts.add(statement);
        else this.#statement = this.#db.statement(this.#query);
        this.#done = false;
        return this.next();
      }
      throw new SqlError(error, this.#query);
    }
    if (step.done === true) {
      this.#finish();
      return undefined;
    }
    const row = step.value as Record<number, unknown>;
    if (readsBigInts.has(this.#statement)) bigintsAsNumbers(row);
    blobsAsArrayBuffers(row);
    this.#delivered++;
    return row as unknown as SqlStorageValue[];
  }

  #start(): Iterator<unknown> {
    return this.#run((statement) => {
      lent.set(statement, new WeakRef(this));
      statement.setReturnArrays(true);
      statement.setReadBigInts(readsBigInts.has(statement));
      const iterator = statement.iterate(...this.#values);
      this.#iterator = iterator;
      for (let skipped = 0; skipped < this.#delivered; skipped++) iterator.next();
      return iterator;
    });
  }

  /** Runs `read` on the statement, prepared again when its connection closed since `exec`; errors as SqlError. */
  #run<T>(read: (statement: StatementSync) => T): T {
    try {
      this.#statement = unlentStatement(this.#db, this.#query, this.#statement);
      try {
        return read(this.#statement);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ERR_INVALID_STATE") throw error;
        // Finalized: the connection was parked (closed) and reopened since exec.
        this.#statement = unlentStatement(this.#db, this.#query, this.#db.statement(this.#query));
        return read(this.#statement);
      }
    } catch (error) {
      this.#finish();
      throw error instanceof SqlError ? error : new SqlError(error, this.#query);
    }
  }

  #finish(): void {
    this.#done = true;
    const iterator = this.#iterator;
    if (iterator === undefined) return;
    this.#iterator = undefined;
    // Resets the statement: one whose step failed (a table a rollback took away) would otherwise keep
    // failing, or give "not an error", at its next iterate() even once the table is back.
    try {
      iterator.return?.();
    } catch {
      // Finalized with its connection: nothing to reset.
    }
    const statement = this.#statement;
    if (lent.get(statement)?.deref() === this) {
      lent.delete(statement);
      resetFlags(statement);
    }
  }
}
