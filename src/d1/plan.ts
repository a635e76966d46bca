import { d1Error } from "./errors.ts";
import { D1_LIMITS } from "./limits.ts";
import { READ_ONLY_KEYWORDS, SCHEMA_KEYWORDS, TRANSACTION_KEYWORDS, scanStatements, type ScannedStatement } from "../storage/sql-text.ts";

/** A query's text, checked against D1's rules once and kept for every later run of the same text. */
export interface QueryPlan {
  sql: string;
  /** Empty for a query that is only comments or whitespace. */
  statements: ScannedStatement[];
  /** One SELECT / VALUES / EXPLAIN: it cannot write, so it runs outside a transaction. */
  readOnly: boolean;
  /** A CREATE / DROP / ALTER: the database changed even if no row did. */
  changesSchema: boolean;
  /** Has a PRAGMA: only such a query can change the header's versions without a row (its readings include them). */
  hasPragma: boolean;
  /** Parameters of the last statement: the values bound must match it. */
  parameterCount: number;
}

const PLAN_CACHE_SIZE = 1024;

/** Plans by query text. Only valid plans are kept; a bad query is checked again each time (rare). */
export class QueryPlans {
  readonly #plans = new Map<string, QueryPlan>();

  get(sql: string): QueryPlan {
    let plan = this.#plans.get(sql);
    if (plan === undefined) {
      plan = planQuery(sql);
      if (this.#plans.size >= PLAN_CACHE_SIZE) this.#plans.clear();
      this.#plans.set(sql, plan);
    }
    return plan;
  }
}

/**
 * Reads and checks a query: its length, its statements (only the last may take parameters, as in
 * workerd), no named parameters, no more than 100 parameters, no transaction control.
 * @throws `D1_ERROR: …` naming the rule.
 */
export function planQuery(sql: string): QueryPlan {
  if (typeof sql !== "string") throw d1Error("D1_ERROR", `the query must be a string, got ${typeof sql}`);
  const bytes = sql.length * 3 > D1_LIMITS.maxStatementBytes ? Buffer.byteLength(sql) : sql.length;
  if (bytes > D1_LIMITS.maxStatementBytes) {
    throw d1Error(
      "D1_ERROR",
      `statement too long: ${bytes.toLocaleString("en-US")} bytes; D1 allows at most ` +
        `${D1_LIMITS.maxStatementBytes.toLocaleString("en-US")} bytes (100 KB) per SQL statement`,
    );
  }
  const statements = scanStatements(sql);
  statements.forEach((statement, index) => checkStatement(statement, index === statements.length - 1));
  const last = statements.at(-1);
  return {
    sql,
    statements,
    readOnly: statements.length === 1 && READ_ONLY_KEYWORDS.has(last!.keyword),
    changesSchema: statements.some((statement) => SCHEMA_KEYWORDS.has(statement.keyword)),
    hasPragma: statements.some((statement) => statement.keyword === "PRAGMA"),
    parameterCount: last?.parameterCount ?? 0,
  };
}

function checkStatement(statement: ScannedStatement, isLast: boolean): void {
  if (TRANSACTION_KEYWORDS.has(statement.keyword)) {
    throw d1Error(
      "D1_ERROR",
      `${statement.keyword} is not supported: D1 runs each query, batch() and exec() in a transaction of its own; ` +
        "use db.batch([...]) for statements that must commit or fail together",
    );
  }
  if (statement.namedParameter !== undefined) {
    throw d1Error(
      "D1_ERROR",
      `named parameters are not supported (found ${statement.namedParameter}); D1 binds only ? and ?NNN parameters, ` +
        "e.g. WHERE id = ?1",
    );
  }
  if (statement.parameterCount > D1_LIMITS.maxBoundParameters) {
    throw d1Error(
      "D1_ERROR",
      `too many SQL variables: the statement has ${statement.parameterCount} parameters; D1 allows at most ` +
        `${D1_LIMITS.maxBoundParameters} bound parameters per statement`,
    );
  }
  if (!isLast && statement.parameterCount > 0) {
    throw d1Error("D1_ERROR", "When executing multiple SQL statements in a single call, only the last statement can have parameters.");
  }
}

/** The values bound must match the statement's parameters exactly (workerd's rule). */
export function checkParameterCount(plan: QueryPlan, given: number): void {
  if (given === plan.parameterCount) return;
  if (given > D1_LIMITS.maxBoundParameters) {
    throw d1Error(
      "D1_ERROR",
      `too many SQL variables: ${given} values bound; D1 allows at most ${D1_LIMITS.maxBoundParameters} bound parameters per statement`,
    );
  }
  throw d1Error("D1_ERROR", "Wrong number of parameter bindings for SQL query.");
}
