/**
 * A `step.do`'s configuration resolved: retries (a fixed delay with its backoff, or a function of the
 * failed attempt, as Cloudflare takes since 2026-07), the timeout per attempt, and what the step's
 * function is told of them (`ctx.config`).
 */
import { formatDuration, parseDuration, type Duration } from "../time/duration.ts";
import type { WorkflowBackoff, WorkflowRetryDelay, WorkflowStepConfig, WorkflowStepContext } from "./types.ts";

/** Defaults of `step.do` (as in Cloudflare Workflows). */
export const STEP_DEFAULTS = { limit: 5, delay: 10_000, backoff: "exponential" as WorkflowBackoff, timeout: 10 * 60_000 };
/** How long a `retries.delay` function may take, as on Cloudflare: past it the step fails without more retries. */
export const DELAY_FUNCTION_TIMEOUT_MS = 5_000;

export interface StepRetries {
  limit: number;
  /** Milliseconds, or a function of the failed attempt giving the delay fed into the backoff. */
  delay: number | WorkflowRetryDelay;
  backoff: WorkflowBackoff;
  timeout: number;
  /** What `ctx.config` shows: the step's own settings, the defaults where it has none. */
  shown: WorkflowStepConfig;
}

export function resolveRetries(name: string, config: WorkflowStepConfig): StepRetries {
  const retries = config.retries;
  const limit = retries?.limit ?? STEP_DEFAULTS.limit;
  if (!Number.isInteger(limit) || limit < 0 || limit > 1000) {
    throw new RangeError(`step.do("${name}"): retries.limit must be an integer from 0 to 1000, got ${String(limit)}`);
  }
  const given = retries?.delay;
  const delay = given === undefined ? STEP_DEFAULTS.delay : typeof given === "function" ? given : parseDuration(given, `step.do("${name}") retries.delay`);
  const kind = retries?.backoff ?? STEP_DEFAULTS.backoff;
  if (kind !== "constant" && kind !== "linear" && kind !== "exponential") {
    throw new TypeError(`step.do("${name}"): retries.backoff must be "constant", "linear" or "exponential", got ${JSON.stringify(kind)}`);
  }
  const timeout = config.timeout === undefined ? STEP_DEFAULTS.timeout : parseDuration(config.timeout, `step.do("${name}") timeout`);
  if (timeout <= 0) throw new RangeError(`step.do("${name}"): timeout must be above 0`);
  const shown: WorkflowStepConfig = { retries: { limit, delay: given ?? STEP_DEFAULTS.delay, backoff: kind }, timeout: config.timeout ?? STEP_DEFAULTS.timeout };
  return { limit, delay, backoff: kind, timeout, shown };
}

/** Delay before retry number `retry` (1-based), from a base delay in milliseconds. */
export function backoff(retries: { delay: number; backoff: WorkflowBackoff }, retry: number): number {
  if (retries.backoff === "constant") return retries.delay;
  if (retries.backoff === "linear") return retries.delay * retry;
  return retries.delay * 2 ** (retry - 1);
}

/**
 * The base delay after the failed attempt `ctx.attempt`: the fixed one, or what the step's delay
 * function gives for it (within DELAY_FUNCTION_TIMEOUT_MS). Rejects when the function throws, takes
 * too long or gives no valid duration: the step then fails without more retries.
 */
export async function retryDelay(name: string, retries: StepRetries, ctx: WorkflowStepContext, error: unknown): Promise<number> {
  const { delay } = retries;
  if (typeof delay === "number") return delay;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took longer than ${formatDuration(DELAY_FUNCTION_TIMEOUT_MS)}`)), DELAY_FUNCTION_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const given: Duration = await Promise.race([Promise.resolve().then(() => delay({ ctx, error: error instanceof Error ? error : new Error(String(error)) })), late]);
    return parseDuration(given, `step.do("${name}") retries.delay()`);
  } finally {
    clearTimeout(timer);
  }
}
