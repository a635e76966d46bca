import type { SqlRow, SqlStorageValue } from "./sql.ts";

/** Where a cursor's rows come from when they are read on demand (sql-statement-rows.ts). */
export interface RowSource {
  /** Whether it has no rows left to give. */
  readonly done: boolean;
  /** Every row, at once: only asked before any row was read. */
  all(): SqlStorageValue[][];
  /** Up to `limit` rows from the start: only asked before any row was read. */
  first(limit: number): SqlStorageValue[][];
  /** The next row after those given, or undefined once there is none. */
  next(): SqlStorageValue[] | undefined;
  /** Stops reading, freeing what the read holds. */
  finish(): void;
}

/**
 * Rows the first `next()` reads at once. A query that ends within them leaves its statement reset
 * and free at once (the common one-row and small results, even when the cursor is given up without
 * `return()`), and costs one pass instead of a call per row; a longer or endless one is read on row
 * by row.
 */
const FIRST_BATCH = 64;

/**
 * Finishes the source of a cursor collected while it was reading (given up part-way without
 * `return()`): its statement would otherwise hold a read snapshot, and keep the WAL from being
 * checkpointed, for as long as the statement is cached.
 */
const unfinished = new FinalizationRegistry<RowSource>((source) => source.finish());

/** The iterator `raw()` returns: its `toArray()` reads what is left at once. */
export type RawRows = IterableIterator<SqlStorageValue[]> & { toArray(): SqlStorageValue[][] };

/**
 * The result of {@link SqlStorage.exec}: iterable rows plus counters. A query's rows are read from
 * SQLite as they are asked for, one at a time as on Cloudflare (a cursor left unread costs nothing,
 * and a query without an end can be read in part); `toArray()`, `one()` and `raw().toArray()` read
 * what is left at once.
 * @example
 * const { count } = ctx.storage.sql.exec("SELECT count(*) AS count FROM turns").one();
 */
export class SqlCursor<T extends SqlRow = SqlRow> implements IterableIterator<T> {
  readonly columnNames: string[];
  /** Rows read so far, before the source or with it once it took them at once. */
  #rows: SqlStorageValue[][];
  #position = 0;
  /** Rows still to be read from SQLite; undefined once it has none left (or there never was one). */
  #source: RowSource | undefined;
  #rowsRead = 0;
  readonly #rowsWritten: number;

  /** @internal Made by `SqlStorage.exec`: `rows` read already, or a source to read them from. */
  constructor(columnNames: string[], rows: SqlStorageValue[][] | RowSource, rowsWritten: number) {
    this.columnNames = columnNames;
    if (Array.isArray(rows)) this.#rows = rows;
    else {
      this.#rows = [];
      this.#source = rows;
    }
    this.#rowsWritten = rowsWritten;
  }

  /** Rows this cursor has handed out so far: it grows as the cursor is read (Cloudflare counts rows scanned, which node:sqlite does not expose). */
  get rowsRead(): number {
    return this.#rowsRead;
  }

  /** Rows the statement inserted, updated or deleted (RETURNING or not); its triggers' writes are not counted. */
  get rowsWritten(): number {
    return this.#rowsWritten;
  }

  /** Remaining rows as objects. With duplicate column names the last one wins; use raw() to see all. */
  toArray(): T[] {
    return this.#rest().map((row) => this.#toObject(row));
  }

  /** The only row; throws unless exactly one row remains (with Cloudflare's messages, which code matches on). */
  one(): T {
    const rest = this.#rest();
    if (rest.length === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
    if (rest.length > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
    return this.#toObject(rest[0]!);
  }

  /** Remaining rows as arrays of values in column order. */
  raw(): RawRows {
    const rows: RawRows = {
      next: () => {
        const row = this.#take();
        return row === undefined ? { done: true, value: undefined } : { done: false, value: row };
      },
      return: () => this.return(),
      [Symbol.iterator]: () => rows,
      toArray: () => this.#rest(),
    };
    return rows;
  }

  next(): IteratorResult<T, undefined> {
    const row = this.#take();
    return row === undefined ? { done: true, value: undefined } : { done: false, value: this.#toObject(row) };
  }

  /**
   * Gives the cursor up: what for…of calls on `break` and destructuring once it has its rows. The
   * statement is reset at once, not held mid-read until the cursor is collected.
   */
  return(): IteratorReturnResult<undefined> {
    const source = this.#source;
    this.#source = undefined;
    this.#rows = [];
    this.#position = 0;
    if (source !== undefined) {
      unfinished.unregister(source);
      source.finish();
    }
    return { done: true, value: undefined };
  }

  /** The cursor itself, as on Cloudflare. */
  [Symbol.iterator](): this {
    return this;
  }

  #take(): SqlStorageValue[] | undefined {
    let row = this.#rows[this.#position];
    if (row !== undefined) this.#position++;
    else if (this.#source !== undefined) row = this.#rowsRead === 0 ? this.#first(this.#source) : this.#next(this.#source);
    if (row !== undefined) this.#rowsRead++;
    return row;
  }

  /** The first row, with the rest of the first batch kept to hand out next. */
  #first(source: RowSource): SqlStorageValue[] | undefined {
    this.#source = undefined; // a failed read is not run again by the next call
    this.#rows = source.first(FIRST_BATCH);
    this.#position = 1;
    if (!source.done) {
      this.#source = source;
      unfinished.register(this, source, source);
    }
    return this.#rows[0];
  }

  #next(source: RowSource): SqlStorageValue[] | undefined {
    const row = source.next();
    if (row === undefined) {
      this.#source = undefined;
      unfinished.unregister(source);
    }
    return row;
  }

  /** Every row left; at once from SQLite when none was read yet (one call instead of a step per row). */
  #rest(): SqlStorageValue[][] {
    const source = this.#source;
    if (source !== undefined && this.#rowsRead === 0) {
      this.#source = undefined;
      const rows = source.all();
      this.#rowsRead += rows.length;
      return rows;
    }
    const rest = this.#position === 0 ? this.#rows : this.#rows.slice(this.#position);
    this.#rows = [];
    this.#position = 0;
    this.#rowsRead += rest.length;
    for (let row = this.#take(); row !== undefined; row = this.#take()) rest.push(row);
    return rest;
  }

  #toObject(row: SqlStorageValue[]): T {
    const object: SqlRow = {};
    for (let i = 0; i < this.columnNames.length; i++) object[this.columnNames[i]!] = row[i]!;
    return object as T;
  }
}
