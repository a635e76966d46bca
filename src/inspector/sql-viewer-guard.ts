/**
 * What a viewer's query may do. The SQL console runs on the agent's thread and node:sqlite cannot
 * interrupt a statement: a query that never ends, or runs for minutes, stops that agent and every
 * agent of its thread. A viewer (read-only token) therefore runs only queries whose work is bounded
 * by the size of the data, read once:
 * - no recursive query (`WITH … UNION ALL SELECT … FROM c`), which may never end;
 * - no loop over a table inside another loop (a join on anything but a unique key, a join on an
 *   inequality, a correlated subquery over a table): n × m rows;
 * - no function that makes a large value from a small one (`zeroblob(1e9)`, `printf('%.*c', …)`,
 *   nested `replace`, `hex` or `quote`, each doubling its argument; `concat(x, x, …)`, as many
 *   copies as arguments): up to a gigabyte from one call; none whose work is the product of its
 *   arguments' lengths (`ltrim`, `instr`); no window function (its frame grows with every row).
 * Whatever a query makes, the console reads its cells cut inside SQLite (bounded-rows.ts).
 * SQLite itself tells, whatever the SQL's spelling: its authorizer names every function and the
 * recursion while the statement compiles, and its query plan shows the loops. An admin, who may
 * change anything already, is not held to this.
 */
import { constants, type StatementSync } from "node:sqlite";
import type { AgentDatabase, SqlAuthorizer } from "../storage/database.ts";
import { ApiError } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";

/**
 * Functions whose result may be far larger than their arguments: by a size given as a number
 * (`zeroblob`, `randomblob`, `printf`'s width), by doubling what they are given (`hex`, `quote`,
 * `json_quote`'s escapes: nested, each call doubles again), or by copying an argument as often as it
 * is written (`concat`, `concat_ws`, `replace`).
 */
const AMPLIFYING_FUNCTIONS = new Set(["zeroblob", "randomblob", "printf", "format", "replace", "hex", "quote", "json_quote", "concat", "concat_ws"]);
/** Functions whose work is the product of their arguments' lengths (`ltrim(x, y)` compares each character of x with y's). */
const QUADRATIC_FUNCTIONS = new Set(["ltrim", "rtrim", "trim", "instr"]);

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
  if (/\bOVER\b/i.test(withoutLiterals(text))) {
    // A window's frame grows row by row: group_concat or json_group_array over it copies n² bytes.
    throw new ApiError(403, "costly_query", "A window function (OVER …) needs the admin token: its frame grows with every row, and what it builds with it, on the agent's thread");
  }
  const selects = selectCount(text);
  if (selects > INSPECTOR_LIMITS.maxViewerSelects) {
    throw new ApiError(
      403,
      "costly_query",
      `A query of ${selects} SELECTs needs the admin token: a viewer's query has at most ${INSPECTOR_LIMITS.maxViewerSelects} (maxViewerSelects), since SQLite may copy each subquery's expressions into the one that reads it while it prepares the query, on the agent's thread`,
    );
  }
  if (selects > 1 && expressionCopiesBound(text) > INSPECTOR_LIMITS.maxViewerExpressionCopies) {
    throw new ApiError(
      403,
      "costly_query",
      `A query whose subqueries use each other's columns this often needs the admin token: a viewer's query may make at most ${INSPECTOR_LIMITS.maxViewerExpressionCopies.toLocaleString("en")} copies of an expression while SQLite prepares it (maxViewerExpressionCopies, bounded by the product of the words of each SELECT), on the agent's thread`,
    );
  }
  const { authorize, refusal } = viewerAuthorizer();
  let plan: PlanRow[] | undefined;
  try {
    plan = (db.oneUseStatement(`EXPLAIN QUERY PLAN ${text}`, authorize).all() as unknown[]).map(planRow);
  } catch (error) {
    if (refusal.current) throw refusal.current;
    void error; // not a query with a plan (a PRAGMA, an EXPLAIN, bad SQL): preparing it gives the answer or the error
  }
  if (plan !== undefined) refuseCostlyPlan(plan, (index) => isUniqueIndex(db, index));
  try {
    return db.oneUseStatement(text, authorize);
  } catch (error) {
    throw refusal.current ?? error;
  }
}

/**
 * Prepares text made around a viewer's query that {@link viewerStatement} accepted (the wrapping
 * that bounds its cells): the same functions are refused; its plan is the query's and one scan more.
 */
export function viewerWrappedStatement(db: AgentDatabase, text: string): StatementSync {
  const { authorize, refusal } = viewerAuthorizer();
  try {
    return db.oneUseStatement(text, authorize);
  } catch (error) {
    throw refusal.current ?? error;
  }
}

/** The authorizer of a viewer's query, and the first refusal it made (SQLite answers a denial with its own, vaguer error). */
function viewerAuthorizer(): { authorize: SqlAuthorizer; refusal: { current?: ApiError } } {
  const refusal: { current?: ApiError } = {};
  const authorize: SqlAuthorizer = (action, _arg1, arg2) => {
    const name = action === constants.SQLITE_FUNCTION ? arg2?.toLowerCase() : undefined;
    if (action === constants.SQLITE_RECURSIVE) refusal.current ??= recursiveRefusal();
    else if (name !== undefined && AMPLIFYING_FUNCTIONS.has(name)) {
      refusal.current ??= new ApiError(403, "costly_query", `${name}() needs the admin token: it can make a value far larger than its arguments on the agent's thread`);
    } else if (name !== undefined && QUADRATIC_FUNCTIONS.has(name)) {
      refusal.current ??= new ApiError(403, "costly_query", `${name}() needs the admin token: its work is the product of its arguments' lengths, on the agent's thread`);
    } else return constants.SQLITE_OK;
    return constants.SQLITE_DENY;
  };
  return { authorize, refusal };
}

function refuseCostlyPlan(plan: readonly PlanRow[], unique: (index: string) => boolean): void {
  if (plan.some((row) => /RECURSIVE STEP/i.test(row.detail))) throw recursiveRefusal();
  const children = new Map<number, PlanRow[]>();
  for (const row of plan) {
    const list = children.get(row.parent);
    if (list) list.push(row);
    else children.set(row.parent, [row]);
  }
  if (nestedLoops(children, 0, unique) >= 2) {
    throw new ApiError(
      403,
      "costly_query",
      "A query that loops over a table inside another loop (a join on anything but a unique key, or on an inequality; a correlated subquery over a table) needs the admin token: the SQL console runs on the agent's thread, which cannot stop a query",
    );
  }
}

/**
 * The most loops over whole tables nested in one another under plan node `parent`. Its children are
 * the levels of one join, in order: each full scan (or range search) there runs once per row of the
 * ones before it, and so does a correlated subquery; other subqueries (materialized, a compound's
 * parts, a list for IN) run once.
 */
function nestedLoops(children: ReadonlyMap<number, PlanRow[]>, parent: number, unique: (index: string) => boolean): number {
  let loops = 0;
  let correlated = 0;
  let once = 0;
  for (const row of children.get(parent) ?? []) {
    if (isLoop(row.detail, unique)) loops++;
    else if (/^CORRELATED /i.test(row.detail)) correlated = Math.max(correlated, nestedLoops(children, row.id, unique));
    else once = Math.max(once, nestedLoops(children, row.id, unique));
  }
  return Math.max(loops + correlated, once);
}

/**
 * A plan step that may visit many rows: a scan, or a search other than one unique key's row (a
 * rowid or primary key, or a unique index, found by equality). An equality on a column with many
 * equal values, or on an index SQLite builds for the query, reads all of them for each outer row.
 */
function isLoop(detail: string, unique: (index: string) => boolean): boolean {
  if (/^SCAN /i.test(detail)) return !/^SCAN CONSTANT ROW/i.test(detail);
  if (!/^SEARCH /i.test(detail)) return false;
  const constraint = /\(([^()]*)\)\s*(?:LEFT-JOIN|RIGHT-JOIN)?\s*$/i.exec(detail)?.[1];
  if (constraint === undefined || /[<>]/.test(constraint) || !constraint.includes("=")) return true;
  if (/ USING (?:INTEGER )?PRIMARY KEY /i.test(detail)) return false;
  const index = / USING (?:COVERING )?INDEX (\S+) /i.exec(detail)?.[1];
  return index === undefined || !unique(index);
}

/** Whether `index` is a unique index of the agent's database (one SQLite made for a UNIQUE or PRIMARY KEY constraint, or CREATE UNIQUE INDEX). */
function isUniqueIndex(db: AgentDatabase, index: string): boolean {
  if (index.startsWith("sqlite_autoindex_")) return true;
  const row = db.statement("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?").get(index) as { sql?: unknown } | undefined;
  return typeof row?.sql === "string" && /^\s*CREATE\s+UNIQUE\s+INDEX/i.test(row.sql);
}

/** SELECTs in a query, outside literals and comments: subqueries and common table expressions alike. */
function selectCount(sql: string): number {
  return withoutLiterals(sql).match(/\bSELECT\b/gi)?.length ?? 0;
}

/**
 * An upper bound of the copies SQLite may make of an expression while it flattens a query's
 * subqueries: each level can use an inner column at most as often as it names anything, so the
 * product over the SELECTs of the words each one holds bounds it (capped, to stay a safe number).
 */
function expressionCopiesBound(sql: string): number {
  let product = 1;
  for (const part of withoutLiterals(sql).split(/\bSELECT\b/i).slice(1)) {
    product *= Math.max(1, part.match(/[A-Za-z_][A-Za-z0-9_$]*/g)?.length ?? 0);
    if (product > Number.MAX_SAFE_INTEGER / 1e6) return product;
  }
  return product;
}

/** `sql` with its string literals, quoted names and comments blanked (a keyword test must not find words inside them). */
function withoutLiterals(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/g, " ");
}

function planRow(row: unknown): PlanRow {
  const record = row as Record<string, unknown>;
  return { id: Number(record.id), parent: Number(record.parent), detail: String(record.detail ?? "") };
}

function recursiveRefusal(): ApiError {
  return new ApiError(403, "recursive_query", "A recursive query needs the admin token: the SQL console runs on the agent's thread, which cannot stop a query that never ends");
}
