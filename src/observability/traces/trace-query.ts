import type { TraceSummary } from "./trace-summary.ts";

/** Filters for listing traces (the query string of `GET /api/traces`). */
export interface TraceQuery {
  /** Agent class (`hearth.agent.class` / `gen_ai.agent.name`). */
  readonly class?: string;
  /** Agent instance name. */
  readonly agent?: string;
  /** `gen_ai.conversation.id`. */
  readonly conversation?: string;
  /** A model any chat span of the trace called. */
  readonly model?: string;
  /** true: only failed traces; false: only traces without errors. */
  readonly error?: boolean;
  readonly minDurationMs?: number;
  readonly minCostUsd?: number;
  /** From a previous page's `cursor`. */
  readonly cursor?: string;
  /** Page size, 1 to {@link MAX_TRACE_PAGE} (default {@link DEFAULT_TRACE_PAGE}). */
  readonly limit?: number;
}

/** One page of traces, newest first; `cursor` is set when more follow. */
export interface TracePage {
  readonly items: readonly TraceSummary[];
  readonly cursor?: string;
}

export const DEFAULT_TRACE_PAGE = 50;
export const MAX_TRACE_PAGE = 500;

/** Checks a query, with an error that names the bad field. */
export function checkTraceQuery(query: TraceQuery): void {
  const limit = query.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_TRACE_PAGE)) {
    throw new RangeError(`traces: limit must be an integer from 1 to ${MAX_TRACE_PAGE}, got ${limit}`);
  }
  for (const key of ["minDurationMs", "minCostUsd"] as const) {
    const value = query[key];
    if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value >= 0)) {
      throw new RangeError(`traces: ${key} must be a number >= 0, got ${value}`);
    }
  }
  if (query.cursor !== undefined && parseCursor(query.cursor) === undefined) throw new RangeError(`traces: cursor ${JSON.stringify(query.cursor)} is not one this store gave`);
}

/** True when a trace passes every filter of the query. */
export function matchesTrace(trace: TraceSummary, query: TraceQuery): boolean {
  if (query.class !== undefined && trace.class !== query.class) return false;
  if (query.agent !== undefined && trace.agent !== query.agent) return false;
  if (query.conversation !== undefined && trace.conversation !== query.conversation) return false;
  if (query.model !== undefined && !trace.models.includes(query.model)) return false;
  if (query.error !== undefined && trace.error !== query.error) return false;
  if (query.minDurationMs !== undefined && trace.durationMs < query.minDurationMs) return false;
  if (query.minCostUsd !== undefined && trace.costUsd < query.minCostUsd) return false;
  return true;
}

/** Newest first; ties by trace id, so pages never skip or repeat. */
export function compareNewestFirst(a: { startedAt: number; traceId: string }, b: { startedAt: number; traceId: string }): number {
  return b.startedAt - a.startedAt || (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0);
}

export function makeCursor(trace: { startedAt: number; traceId: string }): string {
  return `${trace.startedAt}_${trace.traceId}`;
}

/** What {@link makeCursor} made, back: the start time before the first `_`, the trace id (any text) after it. */
export function parseCursor(cursor: string): { startedAt: number; traceId: string } | undefined {
  const at = cursor.indexOf("_");
  if (at <= 0 || at === cursor.length - 1) return undefined;
  const startedAt = Number(cursor.slice(0, at));
  return Number.isFinite(startedAt) ? { startedAt, traceId: cursor.slice(at + 1) } : undefined;
}
