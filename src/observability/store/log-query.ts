import { parseLevel, searchText, type LogEntry } from "./log-entry.ts";
import { decodeIdCursor, pageLimit } from "./page.ts";

/** Which entries a query or a live subscription wants (every field optional; all given must match). */
export interface LogFilter {
  /** The lowest level: a name (`"warn"`) or pino's number (`40`). */
  level?: string | number;
  /** The agent's class. */
  class?: string;
  /** The agent's instance name. */
  agent?: string;
  traceId?: string;
  /** Text the message (or the error's type and message) contains, ignoring case. */
  q?: string;
  /** Entries at or after this time (epoch ms). */
  since?: number;
}

/** A query of the log store: a filter plus paging (newest first). */
export interface LogQuery extends LogFilter {
  /** The `next` of the previous page. */
  cursor?: string;
  /** Entries per page: default 50, at most 500. */
  limit?: number;
}

/** The longest `q`, in characters. */
export const MAX_QUERY_TEXT = 256;

/** A checked filter, ready to match. */
export interface CompiledFilter {
  level?: number;
  class?: string;
  agent?: string;
  traceId?: string;
  q?: string;
  since?: number;
}

/** A checked query: its filter, page size and the id entries must be below (exclusive). */
export interface CompiledQuery {
  filter: CompiledFilter;
  limit: number;
  before: number;
}

/**
 * Checks a filter: a known level, a finite `since`, `q` at most {@link MAX_QUERY_TEXT} characters.
 * @throws RangeError naming what is wrong.
 */
export function compileFilter(filter: LogFilter = {}): CompiledFilter {
  const out: CompiledFilter = {};
  if (filter.level !== undefined && filter.level !== "") out.level = parseLevel(filter.level);
  if (filter.class) out.class = filter.class;
  if (filter.agent) out.agent = filter.agent;
  if (filter.traceId) out.traceId = filter.traceId.toLowerCase();
  if (filter.q) {
    if (filter.q.length > MAX_QUERY_TEXT) throw new RangeError(`q is at most ${MAX_QUERY_TEXT} characters, got ${filter.q.length}`);
    out.q = filter.q.toLowerCase();
  }
  if (filter.since !== undefined) {
    if (!Number.isFinite(filter.since)) throw new RangeError(`since must be epoch milliseconds, got ${JSON.stringify(filter.since)}`);
    out.since = filter.since;
  }
  return out;
}

/** Checks a query (see {@link compileFilter}, `limit` and `cursor`). */
export function compileQuery(query: LogQuery = {}): CompiledQuery {
  return {
    filter: compileFilter(query),
    limit: pageLimit(query.limit),
    before: query.cursor ? decodeIdCursor(query.cursor) : Number.MAX_SAFE_INTEGER,
  };
}

/** Whether an entry passes a filter (`text` is its {@link searchText}, computed only when `q` is set). */
export function matches(entry: LogEntry, filter: CompiledFilter, text?: () => string): boolean {
  if (filter.level !== undefined && entry.level < filter.level) return false;
  if (filter.class !== undefined && entry.class !== filter.class) return false;
  if (filter.agent !== undefined && entry.agent !== filter.agent) return false;
  if (filter.traceId !== undefined && entry.traceId !== filter.traceId) return false;
  if (filter.since !== undefined && entry.time < filter.since) return false;
  if (filter.q !== undefined && !(text ? text() : searchText(entry)).includes(filter.q)) return false;
  return true;
}

/**
 * A query from the inspector's URL parameters (`level`, `class`, `agent`, `traceId`, `q`, `since`,
 * `cursor`, `limit`); unknown parameters are ignored, values are checked when the query runs.
 * @throws RangeError when `since` or `limit` is not a number.
 * @example logs.query(logQueryFromParams(new URL(request.url).searchParams));
 */
export function logQueryFromParams(params: URLSearchParams): LogQuery {
  const query: LogQuery = {};
  const text = (name: string) => params.get(name) || undefined;
  const number = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!/^-?\d+$/.test(value.trim())) throw new RangeError(`${name} must be a whole number, got ${JSON.stringify(value.slice(0, 40))}`);
    return Number(value);
  };
  query.level = text("level");
  query.class = text("class");
  query.agent = text("agent");
  query.traceId = text("traceId");
  query.q = text("q");
  query.since = number("since");
  query.cursor = text("cursor");
  query.limit = number("limit");
  for (const key of Object.keys(query) as Array<keyof LogQuery>) if (query[key] === undefined) delete query[key];
  return query;
}
