import type { SQLInputValue, StatementSync } from "node:sqlite";
import type { AgentDatabase } from "./database.ts";
import { SqlError, StorageClosedError } from "./errors.ts";
import type { RowSource } from "./sql-cursor.ts";
import { allRows, bigintsAsNumbers, blobsAsArrayBuffers, readingArrays, readsBigInts } from "./sql-rows.ts";
import type { SqlStorageValue } from "./sql.ts";

/**
 * Cached statements a cursor is reading row by row, and the source reading it. Running such a
 * statement again would reset that cursor (node:sqlite invalidates its iterator), and the cursor
 * needs its flags (arrays, bigints) until it is done: the same SQL meanwhile gets a statement of its
 * own. The entry goes when the source finishes: read to the end, given up (`return()`), or its
 * cursor collected (sql-cursor.ts).
 */
const lent = new WeakMap<StatementSync, StatementRows>();

/** `statement` (cached for `query`) if no cursor is reading it now; else one prepared for this use alone. */
export function unlentStatement(db: AgentDatabase, query: string, statement: StatementSync): StatementSync {
  if (!lent.has(statement)) return statement;
  try {
    return db.oneUseStatement(query);
  } catch (error) {
    throw new SqlError(error, query);
  }
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
 * The rows of a read-only statement of the agent's SQL, read when the cursor asks: all at once
 * (`all`, the cheaper way), or a first batch (`first`) and then one SQLite step per row (`next`).
 * Past the first batch INTEGERs are read as bigints and made numbers, so one beyond ±2^53 never
 * stops a read half-way (node:sqlite refuses it as a number), and a query is never run again once
 * it handed out a row.
 */
export class StatementRows implements RowSource {
  readonly #db: AgentDatabase;
  readonly #query: string;
  readonly #values: SQLInputValue[];
  /** The statement `exec` prepared; prepared again if its connection was closed (parked) before a row was read. */
  #statement: StatementSync;
  /** Set while a read is under way past the first batch: the statement is lent to this source. */
  #iterator: Iterator<unknown> | undefined;
  #done = false;

  constructor(db: AgentDatabase, query: string, statement: StatementSync, values: SQLInputValue[]) {
    this.#db = db;
    this.#query = query;
    this.#statement = statement;
    this.#values = values;
  }

  get done(): boolean {
    return this.#done;
  }

  all(): SqlStorageValue[][] {
    this.#done = true;
    return this.#run((statement) => {
      const rows = readingArrays(statement, () => allRows(statement, this.#values, true)) as Array<Record<number, unknown>>;
      for (const row of rows) blobsAsArrayBuffers(row);
      return rows as unknown as SqlStorageValue[][];
    });
  }

  first(limit: number): SqlStorageValue[][] {
    return this.#run((statement) => {
      statement.setReturnArrays(true);
      try {
        return this.#batch(statement, limit, readsBigInts.has(statement));
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ERR_OUT_OF_RANGE" || readsBigInts.has(statement)) throw error;
        // An INTEGER beyond ±2^53 in the batch: no row was handed out yet, so it is read again from
        // the start with bigints (as `all` does), and so is this SQL from now on.
        this.finish();
        this.#done = false;
        readsBigInts.add(statement);
        statement.setReturnArrays(true);
        return this.#batch(statement, limit, true);
      }
    });
  }

  /**
   * Up to `limit` rows. Numbers are read as such (bigints cost on every integer) until the batch is
   * full; the rows after it, read one by one, come as bigints, so one beyond ±2^53 among them never
   * stops the read half-way.
   */
  #batch(statement: StatementSync, limit: number, bigints: boolean): SqlStorageValue[][] {
    statement.setReadBigInts(bigints);
    const iterator = statement.iterate(...this.#values);
    this.#iterator = iterator;
    const rows: SqlStorageValue[][] = [];
    while (rows.length < limit) {
      const step = iterator.next();
      if (step.done === true) {
        // Ended within the batch: the statement was never lent, and is free for the same SQL at once.
        this.#iterator = undefined;
        this.#done = true;
        resetFlags(statement);
        return rows;
      }
      rows.push(readRow(step.value, bigints));
    }
    statement.setReadBigInts(true);
    lent.set(statement, this);
    return rows;
  }

  next(): SqlStorageValue[] | undefined {
    const iterator = this.#iterator;
    if (iterator === undefined) return undefined;
    let step: IteratorResult<unknown>;
    try {
      step = iterator.next();
    } catch (error) {
      this.finish();
      if ((error as { code?: unknown }).code !== "ERR_INVALID_STATE") throw new SqlError(error, this.#query);
      // Finalized with its connection. Reading it again from the start and skipping the rows handed
      // out would hand out other rows if the table changed meanwhile.
      if (!this.#db.isOpen) throw new StorageClosedError("SQL cursor");
      throw new SqlError(
        new Error(
          "This SQL cursor can no longer be read: the database connection it read from was closed since exec() (the object went idle). Read a cursor within the event that made it, or call toArray()",
          { cause: error },
        ),
        this.#query,
      );
    }
    if (step.done === true) {
      this.finish();
      return undefined;
    }
    return readRow(step.value, true);
  }

  /** Stops reading: resets the statement (ending its read snapshot) and gives it back to the same SQL. */
  finish(): void {
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
    if (lent.get(statement) === this) lent.delete(statement);
    resetFlags(statement);
  }

  /** Runs `read` on the statement, prepared again when its connection closed since `exec` (no row was read yet); errors as SqlError. */
  #run<T>(read: (statement: StatementSync) => T): T {
    try {
      this.#statement = unlentStatement(this.#db, this.#query, this.#statement);
      try {
        return read(this.#statement);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ERR_INVALID_STATE" || this.#iterator !== undefined) throw error;
        // Finalized: the connection was parked (closed) and reopened since exec.
        this.#statement = unlentStatement(this.#db, this.#query, this.#db.statement(this.#query));
        return read(this.#statement);
      }
    } catch (error) {
      this.finish();
      resetFlags(this.#statement);
      throw error instanceof SqlError ? error : new SqlError(error, this.#query);
    }
  }
}

/** A row read as arrays (with bigints or not), as `exec` hands it out. */
function readRow(value: unknown, bigints: boolean): SqlStorageValue[] {
  const row = value as Record<number, unknown>;
  if (bigints) bigintsAsNumbers(row);
  blobsAsArrayBuffers(row);
  return row as unknown as SqlStorageValue[];
}
