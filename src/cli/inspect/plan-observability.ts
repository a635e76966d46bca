/**
 * Commands on what the server observes: traces, logs (stored, or followed live), metrics, the live
 * stream and the audit log (docs/inspector/api.md §Traces, logs, metrics; §Live stream; §Audit).
 */
import { compileFilter, matches, type CompiledFilter } from "../../observability/store/log-query.ts";
import type { LogEntry } from "../../observability/store/log-entry.ts";
import { UsageError } from "./args.ts";
import { withQuery, type PlanContext, type Planned, type Planner } from "./plan-context.ts";
import { timeMs } from "./times.ts";

/** The stream's topics (src/inspector/stream.ts). */
const TOPICS = ["events", "logs", "spans", "metrics"];

/** A filter for the stream's log entries; a bad level or an overlong `--q` is a usage error. */
function logFilter(level: string | undefined, q: string | undefined, traceId: string | undefined): CompiledFilter {
  try {
    return compileFilter({ ...(level === undefined ? {} : { level }), ...(q === undefined ? {} : { q }), ...(traceId === undefined ? {} : { traceId }) });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.replace(/^q /, "--q ") : String(error));
  }
}

/**
 * `logs`: a page of the stored entries, or with `--follow` the new ones as they come. The live stream
 * filters by class and agent itself; the level, text and trace are checked here, entry by entry.
 */
function logs(ctx: PlanContext): Planned {
  const level = ctx.flag("level");
  const q = ctx.flag("q");
  const traceId = ctx.flag("trace");
  const filters = { class: ctx.flag("class"), agent: ctx.flag("agent") };
  if (ctx.has("follow")) {
    ctx.refuse(["since"], "picks from the entries already kept, --follow prints new ones as they come: run `hearth inspect logs --since …` for the earlier ones");
    ctx.refuse(["limit", "cursor"], "pages the entries already kept; --follow prints new ones until interrupted");
    const filter = logFilter(level, q, traceId);
    const path = withQuery("/api/stream", { topics: "logs", ...filters });
    return { method: "GET", path, follow: { path, keep: (data) => matches(data as LogEntry, filter), withTopic: false } };
  }
  const since = ctx.flag("since");
  const sinceMs = since === undefined ? undefined : String(timeMs(since, "--since", "past", Date.now()));
  return { method: "GET", path: withQuery("/api/logs", { level, ...filters, traceId, q, since: sinceMs, ...ctx.params() }) };
}

/** `stream`: every message of the topics asked for, as `{ topic, data }` lines. */
function stream(ctx: PlanContext): Planned {
  const topics = ctx.flag("topics") ?? TOPICS.join(",");
  for (const topic of topics.split(",")) if (!TOPICS.includes(topic)) throw new UsageError(`--topics takes ${TOPICS.join(", ")} (comma-separated), got ${JSON.stringify(topic)}`);
  const path = withQuery("/api/stream", { topics, class: ctx.flag("class"), agent: ctx.flag("agent") });
  return { method: "GET", path, follow: { path, withTopic: true } };
}

export const observabilityPlanners: Record<string, Planner> = {
  traces: (ctx) => ({
    method: "GET",
    path: withQuery("/api/traces", ctx.params(["class", "agent", "conversation", "model", "error", ["min-duration-ms", "minDurationMs"], ["min-cost-usd", "minCostUsd"]])),
  }),
  trace: (ctx) => ({ method: "GET", path: `/api/traces/${encodeURIComponent(ctx.arg(0, "<traceId>"))}` }),
  logs,
  metrics: (ctx) => (ctx.has("prometheus") ? { method: "GET", path: "/metrics", text: true } : { method: "GET", path: "/api/metrics" }),
  stream,
  audit: (ctx) => ({ method: "GET", path: withQuery("/api/audit", ctx.params()) }),
};
