import type { SQLOutputValue } from "node:sqlite";
import type { Durability } from "../limits.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import { NeedsBigInts, D1Connection, type Counters, type LockWaiting } from "./connection.ts";
import { d1Error, isD1Error, sqliteErrorText, toD1Error } from "./errors.ts";
import { isBusy, LockWaits } from "./lock-waits.ts";
import { checkParameterCount, QueryPlans, type QueryPlan } from "./plan.ts";
import type { D1ExecResult, D1Meta } from "./types.ts";
import { fromSqliteValue, toSqliteValue, type D1BoundValue, type D1Value } from "./values.ts";

/** `meta.served_by_region`: one copy on this machine, in no Cloudflare region (D1 gives "WNAM", "EEUR", …). */
const SERVED_BY_REGION = "local";

/** One statement to run: its text and the values bound to it. */
export interface BoundQuery {
  sql: string;
  params: readonly D1BoundValue[];
}

/** How many rows a caller needs: `first` steps once (like `get()`), `all` reads every row. */
export type RowsWanted = "first" | "all";

/** What running a query gives back: column names, rows as arrays, and meta when asked for. */
export interface QueryOutput {
  columns: string[];
  rows: D1Value[][];
  meta: D1Meta | undefined;
}

interface Measured extends QueryOutput {
  changed: boolean;
}

/**
 * D1's semantics on one connection: a query runs in a transaction of its own (one SELECT / VALUES /
 * EXPLAIN runs bare), a batch runs in one transaction, `exec` runs line by line in one transaction;
 * every error comes out as a `D1_*` error; `meta` is measured around each statement. Each call runs
 * synchronously, once: with `lockWaiting` "retry", a call that finds another process writing fails
 * with SQLITE_BUSY (having changed nothing) and is for {@link lockWaits} to try again.
 */
export class D1Engine {
  readonly connection: D1Connection;
  readonly durability: Durability;
  /** Where calls wait for another process's write lock: set with `lockWaiting` "retry" (see engineBackend). */
  readonly lockWaits: LockWaits | undefined;
  readonly #plans = new QueryPlans();

  /**
   * `replication`: in a cluster, the log every commit goes to (await `connection.replicated()` before
   * answering). `lockWaiting`: see {@link LockWaiting}; "blocking" for callers that run calls synchronously.
   */
  constructor(path: string, durability: Durability = "relaxed", replication?: DatabaseReplication, lockWaiting: LockWaiting = "blocking") {
    this.durability = durability;
    this.connection = new D1Connection(path, durability, replication, lockWaiting);
    this.lockWaits = lockWaiting === "retry" ? new LockWaits() : undefined;
  }

  /** Runs one query (all its statements; rows of the last). */
  query(query: BoundQuery, rows: RowsWanted, wantMeta: boolean): QueryOutput {
    try {
      const plan = this.#plan(query);
      if (plan.statements.length === 0) throw d1Error("D1_ERROR", "No SQL statements detected.");
      const mayWrite = !plan.readOnly;
      return this.connection.transaction(mayWrite, () => {
        const output = this.#measure(plan, query.params, rows, wantMeta || mayWrite);
        if (output.changed) this.connection.bumpBookmark();
        return output;
      });
    } catch (error) {
      throw toD1Error(error);
    }
  }

  /** Runs the queries in one transaction: all of them, or none (the first error rolls back). */
  batch(queries: readonly BoundQuery[]): QueryOutput[] {
    try {
      const plans = queries.map((query) => this.#plan(query));
      if (plans.every((plan) => plan.statements.length === 0)) throw d1Error("D1_ERROR", "No SQL statements detected.");
      return this.connection.transaction(true, () => {
        const outputs = plans.map((plan, index) => this.#measure(plan, queries[index]!.params, "all", true));
        if (outputs.some((output) => output.changed)) this.connection.bumpBookmark();
        return outputs;
      });
    } catch (error) {
      throw toD1Error(error);
    }
  }

  /**
   * D1's `exec`: the text is trimmed and split on `\n`, each line is run as it is (no parameters;
   * a line may hold several statements, a statement may not span lines), all in one transaction.
   */
  exec(text: string): D1ExecResult {
    if (typeof text !== "string") throw d1Error("D1_EXEC_ERROR", `the query must be a string, got ${typeof text}`);
    const lines = text.trim().split("\n");
    let count = 0;
    let duration = 0;
    try {
      this.#execLines(lines, (ran) => {
        count += 1;
        duration += ran;
      });
    } catch (error) {
      throw toD1Error(error);
    }
    return { count, duration };
  }

  #execLines(lines: string[], onLine: (duration: number) => void): void {
    this.connection.transaction(true, () => {
      const before = this.connection.counters();
      let schemaChanged = false;
      lines.forEach((line, index) => {
        try {
          const plan = this.#plans.get(line);
          if (plan.statements.length === 0) {
            if (lines.length === 1) throw d1Error("D1_ERROR", "No SQL statements detected.");
            return; // a blank or comment-only line
          }
          checkParameterCount(plan, 0);
          const start = performance.now();
          this.connection.execScript(line);
          onLine(performance.now() - start);
          schemaChanged ||= plan.changesSchema;
        } catch (error) {
          if (isBusy(error)) throw error; // another process's lock, not this line's fault: D1_ERROR, tried again
          const message = `Error in line ${index + 1}: ${line}: ${errorText(error)}`;
          throw d1Error("D1_EXEC_ERROR", message, error);
        }
      });
      if (schemaChanged || changedBetween(before, this.connection.counters())) this.connection.bumpBookmark();
    });
  }

  /** The bookmark of the latest commit. */
  bookmark(): string {
    try {
      return this.connection.bookmark();
    } catch (error) {
      throw toD1Error(error);
    }
  }

  close(): void {
    this.connection.close();
  }

  #plan(query: BoundQuery): QueryPlan {
    const plan = this.#plans.get(query.sql);
    checkParameterCount(plan, query.params.length);
    return plan;
  }

  /** Runs a planned query inside the current transaction (if any) and measures it. */
  #measure(plan: QueryPlan, params: readonly D1BoundValue[], wanted: RowsWanted, withMeta: boolean): Measured {
    const before = plan.readOnly ? undefined : this.connection.counters(plan.hasPragma);
    const start = performance.now();
    const { columns, rows } = this.#run(plan, params, wanted);
    const duration = performance.now() - start;
    if (!withMeta) return { columns, rows, meta: undefined, changed: false };
    const after = this.connection.counters(plan.hasPragma);
    const changes = before === undefined ? 0 : after.totalChanges - before.totalChanges;
    const changed = before !== undefined && (plan.changesSchema || changedBetween(before, after));
    const meta: D1Meta = {
      served_by: "hearth",
      served_by_region: SERVED_BY_REGION,
      served_by_primary: true,
      total_attempts: 1,
      duration,
      changes,
      last_row_id: after.lastRowId,
      changed_db: changed,
      size_after: after.size,
      rows_read: rows.length,
      rows_written: changes,
      timings: { sql_duration_ms: duration },
    };
    return { columns, rows, meta, changed };
  }

  #run(plan: QueryPlan, params: readonly D1BoundValue[], wanted: RowsWanted): { columns: string[]; rows: D1Value[][] } {
    const { statements } = plan;
    for (let i = 0; i < statements.length - 1; i++) this.connection.statement(statements[i]!.text).run();
    const last = statements[statements.length - 1];
    if (last === undefined) return { columns: [], rows: [] }; // a comment-only query inside a batch
    const statement = this.connection.statement(last.text);
    const values = params.map((value, index) => toSqliteValue(value, index + 1));
    let raw: unknown[];
    try {
      if (wanted === "first") {
        const row = statement.get(...values);
        raw = row === undefined ? [] : [row];
      } else {
        raw = statement.all(...values);
      }
    } catch (error) {
      if ((error as { code?: unknown }).code === "ERR_OUT_OF_RANGE" && this.connection.readBigIntsFor(last.text)) {
        throw new NeedsBigInts();
      }
      throw error;
    }
    const rows = (raw as SQLOutputValue[][]).map((row) => row.map(fromSqliteValue));
    const columns = rows.length > 0 || wanted === "all" ? statement.columns().map((column) => column.name) : [];
    return { columns, rows };
  }
}

/** Did the database change between two readings (rows, last rowid, file size, or the header's versions)? */
function changedBetween(before: Counters, after: Counters): boolean {
  return (
    after.totalChanges !== before.totalChanges ||
    after.lastRowId !== before.lastRowId ||
    after.size !== before.size ||
    after.header !== before.header
  );
}

/** An error's text without its D1 prefix (for wrapping in another prefix). */
function errorText(error: unknown): string {
  if (isD1Error(error)) {
    const cause = error.cause;
    return cause instanceof Error ? cause.message : error.message.replace(/^D1_[A-Z_]+: /, "");
  }
  return sqliteErrorText(error);
}
