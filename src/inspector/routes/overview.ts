/**
 * `GET /api/overview`: the home page's numbers, from the host, the metrics and the problems store.
 */
import type { ELDHistogram } from "node:perf_hooks";
import { hasWorkflows, workflowCounts } from "../../platform/host.ts";
import type { Series } from "../metrics-history.ts";
import type { MetricsHistory } from "../metrics-history.ts";
import type { Route, RouteContext } from "../router.ts";
import type { TeamRunIndex } from "../team-run-index.ts";
import { classSummaries } from "./agents.ts";

/** How many problems the overview lists. */
const PROBLEMS = 20;

function sum(series: readonly Series[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number {
  return series.filter((one) => one.name === name && where(one.labels)).reduce((total, one) => total + one.value, 0);
}

/** Requests per second, error rate and latency quantiles between the last two samples of the history. */
function requestRates(metrics: MetricsHistory | undefined) {
  if (!metrics) return null;
  const history = metrics.history();
  const rate = (name: string): number | null => {
    const points = history[name];
    if (!points || points.length < 2) return null;
    const [t0, v0] = points.at(-2)!;
    const [t1, v1] = points.at(-1)!;
    return t1 > t0 ? Math.max(0, (v1 - v0) / ((t1 - t0) / 1000)) : null;
  };
  const perSecond = rate("hearth_http_requests_total");
  const errors = rate("hearth_http_request_errors_total");
  const series = metrics.current();
  return {
    perSecond,
    errorRate: perSecond && errors !== null ? errors / perSecond : perSecond === null ? null : 0,
    p50Ms: quantileMs(series, "hearth_http_request_duration_seconds_bucket", 0.5),
    p95Ms: quantileMs(series, "hearth_http_request_duration_seconds_bucket", 0.95),
    total: sum(series, "hearth_http_requests_total"),
  };
}

/** A quantile (ms) of a histogram in seconds (its `_bucket` series), over the whole run: the bucket bound it falls in. */
function quantileMs(series: readonly Series[], bucketName: string, q: number): number | null {
  const buckets = new Map<number, number>();
  for (const one of series) {
    if (one.name !== bucketName) continue;
    const le = one.labels.le === "+Inf" ? Infinity : Number(one.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + one.value);
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const bound = sorted.find(([, count]) => count >= q * total)?.[0];
  return bound === undefined || !Number.isFinite(bound) ? null : bound * 1000;
}

function tokensByModel(series: readonly Series[]) {
  const rows = new Map<string, { model: string; class: string; input: number; output: number; costUsd: number }>();
  for (const one of series) {
    if (one.name !== "hearth_gen_ai_tokens_total" && one.name !== "hearth_gen_ai_cost_usd_total") continue;
    const key = `${one.labels.model}\0${one.labels.class}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { model: one.labels.model ?? "", class: one.labels.class ?? "", input: 0, output: 0, costUsd: 0 }));
    if (one.name === "hearth_gen_ai_cost_usd_total") row.costUsd += one.value;
    else if (one.labels.type === "input") row.input += one.value;
    else if (one.labels.type === "output") row.output += one.value;
  }
  return [...rows.values()];
}

async function overview(ctx: RouteContext, metrics: MetricsHistory | undefined, loopDelay: ELDHistogram, teamRuns: TeamRunIndex | undefined) {
  const { host, problems } = ctx.sources;
  const counts = workflowCounts(host);
  const count = (status: string) => counts[status] ?? 0;
  const series = metrics?.current() ?? [];
  const memory = process.memoryUsage();
  const pending = host.pendingTasks;
  return {
    agents: { classes: classSummaries(ctx) },
    requests: requestRates(metrics),
    schedules: { agentsWithTasks: pending.agents, nextAt: pending.nextAt, due: pending.nextAt !== null && pending.nextAt <= host.clock.now() ? pending.agents : 0, lagP99Ms: quantileMs(series, "hearth_schedule_lag_seconds_bucket", 0.99) },
    workflows: hasWorkflows(host) ? { running: count("running") + count("queued"), waiting: count("waiting"), paused: count("paused"), errored: count("errored"), complete: count("complete") } : null,
    teamRuns: teamRuns ? teamRuns.counts() : null,
    tokens: { today: tokensByModel(metrics ? metrics.sinceStartOfDay(series) : series) },
    runtime: {
      eventLoopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : null,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      uptimeSeconds: Math.round(process.uptime()),
    },
    problems: problems ? await problems.list(PROBLEMS) : [],
  };
}

/** The overview route; `loopDelay` is the inspector's event-loop delay monitor (enabled while it runs); `teamRuns` the run index. */
export function overviewRoutes(metrics: MetricsHistory | undefined, loopDelay: ELDHistogram, teamRuns?: TeamRunIndex): Route[] {
  return [{ method: "GET", path: "/api/overview", handler: async (ctx) => ({ json: await overview(ctx, metrics, loopDelay, teamRuns) }) }];
}
