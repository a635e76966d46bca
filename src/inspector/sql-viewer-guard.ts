/**
 * What a viewer's query may do. The SQL console runs on the agent's thread and node:sqlite cannot
 * interrupt a statement: a query that never ends, or runs for minutes, stops that agent and every
 * agent of its thread. A viewer (read-only token) therefore runs only queries whose work is bounded
 * by the size of the data, read once:
 * - no recursive query (`WITH … UNION ALL SELECT … FROM c`), which may never end;
 * - no loop over a table inside another loop (a join with no usable index, a join on an inequality,
 *   a correlated subquery over a whole table): n × m rows;
 * - no function that makes a large value from a small one (`zeroblob(1e9)`, `printf('%.*c', …)`,
 *   nested `replace`): up to a gigabyte from one call.
 * SQLite itself tells, whatever the SQL's spelling: its authorizer names every function and the
 * recursion while the statement compiles, and its query plan shows the loops. An admin, who may
 * change anything already, is not held to this.
 */
import { constants, type StatementSync } from "node:sqlite";
import type { AgentDatabase, SqlAuthorizer } from "../storage/database.ts";
import { ApiError } from "./http.ts";

/** Functions whose result may be far larger than their arguments. */
const AMPLIFYING_FUNCTIONS = new Set(["zeroblob", "randomblob", "printf", "format", "replace"]);

/** One row of `EXPLAIN QUERY PLAN`. */
interface PlanRow {
  readonly id: number;
  readonly parent: number;
  readonly detail: string;
}

/**
 * Prepares a viewer's read-only query: refused (403) when it is recursive, loops over a table inside
 * another, or calls an amplifying function.
 * @example const statement = viewerStatement(db, "SELECT count(*) FROM notes");
 */
export function viewerStatement(db: AgentDatabase, text: string): StatementSync {
  const refusal: { current?: ApiError } = {};
  const authorize: SqlAuthorizer = (action, _arg1, arg2) => {
    if (action === constants.SQLITE_RECURSIVE) refusal.current ??= recursiveRefusal();
    else if (action === constants.SQLITE_FUNCTION && arg2 !== null && AMPLIFYING_FUNCTIONS.has(arg2.toLowerCase())) {
      refusal.current ??= new ApiError(403, "costly_query", `${arg2.toLowerCase()}() needs the admin token: it can make a value far larger than its arguments on the agent's thread`);
    } else return constants.SQLITE_OK;
    return constants.SQLITE_DENY;
  };
  let plan: PlanRow[] | undefined;
  try {
    plan = (db.authorizedStatement(`EXPLAIN QUERY PLAN ${text}`, authorize).all() as unknown[]).map(planRow);
  } catch (error) {
    if (refusal.current) throw refusal.current;
    void error; // not a query with a plan (a PRAGMA, an EXPLAIN, bad SQL): preparing it gives the answer or the error
  }
  if (plan !== undefined) refuseCostlyPlan(plan);
  try {
    return db.authorizedStatement(text, authorize);
  } catch (error) {
    throw refusal.current ?? error;
  }
}

function refuseCostlyPlan(plan: readonly PlanRow[]): void {
  if (plan.some((row) => /RECURSIVE STEP/i.test(row.detail))) throw recursiveRefusal();
  const children = new Map<number, PlanRow[]>();
  for (const row of plan) {
    const list = children.get(row.parent);
    if (list) list.push(row);
    else children.set(row.parent, [row]);
  }
  if (nestedLoops(children, 0) >= 2) {
    throw new ApiError(
      403,
      "costly_query",
      "A query that loops over a table inside another loop (a join with no usable index or on an inequality, a correlated subquery over a whole table) needs the admin token: the SQL console runs on the agent's thread, which cannot stop a query",
    );
  }
}

/**
 * The most loops over whole tables nested in one another under plan node `parent`. Its children are
 * the levels of one join, in order: each full scan (or range search) there runs once per row of the
 * ones before it, and so does a correlated subquery; other subqueries (materialized, a compound's
 * parts, a list for IN) run once.
 */
function nestedLoops(children: ReadonlyMap<number, PlanRow[]>, parent: number): number {
  let loops = 0;
  let correlated = 0;
  let once = 0;
  for (const row of children.get(parent) ?? []) {
    if (isLoop(row.detail)) loops++;
    else if (/^CORRELATED /i.test(row.detail)) correlated = Math.max(correlated, nestedLoops(children, row.id));
    else once = Math.max(once, nestedLoops(children, row.id));
  }
  return Math.max(loops + correlated, once);
}

/** A plan step that visits a whole table (or an open range of it) rather than the rows one key finds. */
function isLoop(detail: string): boolean {
  if (/^SCAN /i.test(detail)) return !/^SCAN CONSTANT ROW/i.test(detail);
  if (!/^SEARCH /i.test(detail)) return false;
  const constraint = /\(([^()]*)\)\s*(?:LEFT-JOIN|RIGHT-JOIN)?\s*$/i.exec(detail)?.[1];
  return constraint === undefined || !/(?<![<>!])=/.test(constraint);
}

function planRow(row: unknown): PlanRow {
  const record = row as Record<string, unknown>;
  return { id: Number(record.id), parent: Number(record.parent), detail: String(record.detail ?? "") };
}

function recursiveRefusal(): ApiError {
  return new ApiError(403, "recursive_query", "A recursive query needs the admin token: the SQL console runs on the agent's thread, which cannot stop a query that never ends");
}
