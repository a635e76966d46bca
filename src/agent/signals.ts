/**
 * Measurements the runtime reports where they happen (a model call's tokens, a task's lateness) on
 * Hearth's own diagnostics channels. Metrics subscribe; while nobody does, a report costs one
 * `hasSubscribers` read and builds nothing. The channels are process-wide, like a Prometheus target.
 */
import { channel } from "node:diagnostics_channel";
import { currentScope } from "./context.ts";

/** A model call's usage, reported on {@link MODEL_USAGE_CHANNEL}. */
export interface ModelUsageSignal {
  /** The agent class that made the call ("" outside any agent). */
  className: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  /** Cost in USD when the caller knows it; otherwise the subscriber prices it. */
  costUsd?: number;
}

/** A task's lateness, reported on {@link SCHEDULE_LAG_CHANNEL}. */
export interface ScheduleLagSignal {
  className: string;
  /** Seconds between when the task was due and when it started (never negative). */
  lagSeconds: number;
}

export const MODEL_USAGE_CHANNEL = "hearth:gen_ai.usage";
export const SCHEDULE_LAG_CHANNEL = "hearth:schedule.lag";

const usage = channel(MODEL_USAGE_CHANNEL);
const lag = channel(SCHEDULE_LAG_CHANNEL);

/**
 * Reports one model call's tokens, counted against the running agent's class.
 * @example reportModelUsage("gpt-5-mini", result.usage.inputTokens, result.usage.outputTokens);
 */
export function reportModelUsage(model: string | undefined, inputTokens: number | undefined, outputTokens: number | undefined, costUsd?: number): void {
  if (!usage.hasSubscribers) return;
  const signal: ModelUsageSignal = {
    className: currentScope()?.className ?? "",
    model: model || "unknown",
    inputTokens: Math.max(0, inputTokens ?? 0),
    outputTokens: Math.max(0, outputTokens ?? 0),
    ...(costUsd !== undefined ? { costUsd } : {}),
  };
  usage.publish(signal);
}

/** Reports that a task of `className` due at `dueAt` started at `now` (epoch ms). */
export function reportScheduleLag(className: string, dueAt: number, now: number): void {
  if (!lag.hasSubscribers) return;
  const signal: ScheduleLagSignal = { className, lagSeconds: Math.max(0, (now - dueAt) / 1000) };
  lag.publish(signal);
}

/** Calls the listeners for every signal until the returned function is called. */
export function subscribeSignals(listeners: { usage?: (signal: ModelUsageSignal) => void; lag?: (signal: ScheduleLagSignal) => void }): () => void {
  const onUsage = listeners.usage && ((message: unknown) => listeners.usage!(message as ModelUsageSignal));
  const onLag = listeners.lag && ((message: unknown) => listeners.lag!(message as ScheduleLagSignal));
  if (onUsage) usage.subscribe(onUsage);
  if (onLag) lag.subscribe(onLag);
  return () => {
    if (onUsage) usage.unsubscribe(onUsage);
    if (onLag) lag.unsubscribe(onLag);
  };
}
