import type { RequestOutcome } from "../../gateway/request-metrics.ts";
import { systemClock } from "../../time/clock.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./exposition.ts";
import { MetricsRegistry, type ExposeOptions, type RegistryOptions } from "./registry.ts";
import { requestClass } from "./request-class.ts";
import { registerRuntimeGauges } from "./runtime-gauges.ts";
import { costOfTokens, type ModelPrice } from "../cost/prices.ts";
import { subscribeSignals } from "../../agent/signals.ts";

/** What the metrics read from the host at scrape time; `Host` has all of it (an `ActorHost` runs no workflows). */
export interface MetricsHostView {
  classStats(): Map<string, { live: number; hibernatedWithSockets: number; sockets: number }>;
  readonly workflowStats?: { running: number };
  readonly pendingTasks: { agents: number; nextAt: number | null };
  classNameOf(slug: string): string;
  readonly exports: Record<string, unknown>;
}

export interface HearthMetricsOptions extends RegistryOptions {
  host: MetricsHostView;
  /** Time for schedule lateness. Default: the system clock. */
  clock?: { now(): number };
  /** First path segment of agent URLs (as in routeAgentRequest). Default "agents". */
  agentPrefix?: string;
  /** Workflow instances by status (e.g. from the workflow stores); without it only `running` is reported, from the host. */
  workflowStates?: () => Iterable<{ status: string; count: number }>;
  /** Queue backlogs by queue name (e.g. from the QueueStore); without it no queue series are reported. */
  queueDepths?: () => Iterable<{ queue: string; messages: number; bytes: number }>;
  /** Prices (USD per million tokens) for model calls reported without a cost. Default DEFAULT_PRICES. */
  prices?: Readonly<Record<string, ModelPrice>>;
  /**
   * Count the model calls and task lateness the runtime reports on its diagnostics channels
   * (`hearth:gen_ai.usage`, `hearth:schedule.lag`). Default true.
   */
  signals?: boolean;
}

/** One model call's usage, for {@link HearthMetrics.recordTokens}. */
export interface TokenUsage {
  /** The agent class that made the call (never its instance name). */
  className: string;
  /** The model id, e.g. "gpt-5-mini". */
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Cost of the call in US dollars, when known. */
  costUsd?: number;
}

/** How one HTTP request (or WebSocket upgrade) ended, for {@link HearthMetrics.observeRequest}. */
export type { RequestOutcome };

/** Hearth's metrics over one host: what `GET /metrics` serves. */
export interface HearthMetrics {
  readonly registry: MetricsRegistry;
  /** The Content-Type of {@link HearthMetrics.expose}'s text. */
  readonly contentType: string;
  observeRequest(outcome: RequestOutcome): void;
  /** Records a model call's tokens and cost, by class and model. Teams and chat call this. */
  recordTokens(usage: TokenUsage): void;
  /** Records how late a schedule or queued task ran (seconds after it was due), by class. */
  recordScheduleLag(className: string, lagSeconds: number): void;
  /** The Prometheus text exposition (`scrape: false` for a read that is not Prometheus's; see {@link MetricsRegistry.expose}). */
  expose(options?: ExposeOptions): string;
  /** Stops the event-loop monitor. */
  close(): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Hearth's metrics for a host: requests, latency, errors, agents, WebSockets, schedules,
 * workflows, queues, tokens and cost, event-loop delay and memory. Labels carry class names,
 * methods, status codes and model ids — never an agent's instance name.
 * @example
 * const metrics = createHearthMetrics({ host });
 * metrics.recordTokens({ className: "Chat", model: "gpt-5-mini", inputTokens: 812, outputTokens: 95, costUsd: 0.0004 });
 * const text = metrics.expose();
 */
export function createHearthMetrics(options: HearthMetricsOptions): HearthMetrics {
  const { host } = options;
  const clock = options.clock ?? systemClock;
  const prefix = (options.agentPrefix ?? "agents").replace(/^\/+|\/+$/g, "");
  const registry = new MetricsRegistry(options);
  const classOf = (slug: string): string | undefined => {
    const className = host.classNameOf(slug);
    return Object.hasOwn(host.exports, className) ? className : undefined;
  };

  const requests = registry.counter({ name: "hearth_http_requests_total", help: "HTTP requests and WebSocket upgrades answered, by agent class, method and status.", labelNames: ["class", "method", "status"] });
  const latency = registry.histogram({ name: "hearth_http_request_duration_seconds", help: "Time from request to response headers, by agent class and method.", labelNames: ["class", "method"], buckets: LATENCY_BUCKETS });
  const errors = registry.counter({ name: "hearth_http_request_errors_total", help: "Requests that failed: reason=exception (the worker threw) or server_error (a 5xx answer).", labelNames: ["class", "reason"] });
  const tokens = registry.counter({ name: "hearth_gen_ai_tokens_total", help: "Model tokens used, by agent class, model and type (input, output).", labelNames: ["class", "model", "type"] });
  const cost = registry.counter({ name: "hearth_gen_ai_cost_usd_total", help: "Model cost in US dollars, by agent class and model.", labelNames: ["class", "model"] });
  const lag = registry.histogram({ name: "hearth_schedule_lag_seconds", help: "How late schedules and queued tasks ran after they were due, by agent class.", labelNames: ["class"], buckets: LAG_BUCKETS });

  registry.gauge({
    name: "hearth_agents",
    help: "Agents by class and state: live (in memory) or hibernated_with_sockets (asleep, WebSockets kept open).",
    labelNames: ["class", "state"],
    collect: (gauge) => {
      for (const [className, counts] of host.classStats()) {
        gauge.set({ class: className, state: "live" }, counts.live);
        gauge.set({ class: className, state: "hibernated_with_sockets" }, counts.hibernatedWithSockets);
      }
    },
  });
  registry.gauge({
    name: "hearth_websockets_open",
    help: "Open WebSockets by agent class (hibernated agents' sockets included).",
    labelNames: ["class"],
    collect: (gauge) => {
      for (const [className, counts] of host.classStats()) gauge.set({ class: className }, counts.sockets);
    },
  });
  registry.gauge({ name: "hearth_schedule_agents_pending", help: "Agents with scheduled or queued work.", collect: (gauge) => gauge.set(undefined, host.pendingTasks.agents) });
  registry.gauge({
    name: "hearth_schedule_overdue_seconds",
    help: "How far past due the earliest pending task is (0 when none is overdue).",
    collect: (gauge) => {
      const nextAt = host.pendingTasks.nextAt;
      gauge.set(undefined, nextAt === null ? 0 : Math.max(0, (clock.now() - nextAt) / 1000));
    },
  });
  registry.gauge({
    name: "hearth_workflows",
    help: "Workflow instances by status.",
    labelNames: ["status"],
    collect: (gauge) => {
      if (!options.workflowStates) return gauge.set({ status: "running" }, host.workflowStats?.running ?? 0);
      for (const { status, count } of options.workflowStates()) gauge.set({ status }, count);
    },
  });
  registry.gauge({
    name: "hearth_queue_backlog_messages",
    help: "Messages not yet acknowledged, by queue.",
    labelNames: ["queue"],
    collect: (gauge) => {
      for (const { queue, messages } of options.queueDepths?.() ?? []) gauge.set({ queue }, messages);
    },
  });
  registry.gauge({
    name: "hearth_queue_backlog_bytes",
    help: "Bytes of messages not yet acknowledged, by queue.",
    labelNames: ["queue"],
    collect: (gauge) => {
      for (const { queue, bytes } of options.queueDepths?.() ?? []) gauge.set({ queue }, bytes);
    },
  });
  const stopRuntime = registerRuntimeGauges(registry);
  const recordTokens = ({ className, model, inputTokens, outputTokens, costUsd }: TokenUsage): void => {
    for (const [field, value] of [["inputTokens", inputTokens], ["outputTokens", outputTokens], ["costUsd", costUsd ?? 0]] as const) {
      if (!Number.isFinite(value) || value < 0) throw new RangeError(`recordTokens: ${field} must be a finite number >= 0, got ${value}`);
    }
    tokens.inc({ class: className, model, type: "input" }, inputTokens);
    tokens.inc({ class: className, model, type: "output" }, outputTokens);
    if (costUsd !== undefined) cost.inc({ class: className, model }, costUsd);
  };
  const recordScheduleLag = (className: string, lagSeconds: number): void => lag.observe({ class: className }, Math.max(0, lagSeconds));
  const unsubscribe =
    options.signals === false
      ? () => {}
      : subscribeSignals({
          usage: (signal) => {
            const costUsd = signal.costUsd ?? costOfTokens(signal.model, signal.inputTokens, signal.outputTokens, options.prices);
            recordTokens({ ...signal, ...(costUsd !== undefined ? { costUsd } : {}) });
          },
          lag: (signal) => recordScheduleLag(signal.className, signal.lagSeconds),
        });

  return {
    registry,
    contentType: PROMETHEUS_CONTENT_TYPE,
    observeRequest({ method, pathname, status, seconds, threw }) {
      const className = requestClass(pathname, prefix, classOf);
      const verb = METHODS.has(method) ? method : "OTHER"; // methods are client-chosen: keep the label bounded
      requests.inc({ class: className, method: verb, status });
      latency.observe({ class: className, method: verb }, seconds);
      if (threw) errors.inc({ class: className, reason: "exception" });
      else if (status >= 500) errors.inc({ class: className, reason: "server_error" });
    },
    recordTokens,
    recordScheduleLag,
    expose: (options) => registry.expose(options),
    close: () => {
      unsubscribe();
      stopRuntime();
    },
  };
}
