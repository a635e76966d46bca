/** Why a flow control refused a call; `code` is stable, `status` the HTTP status it answers with. */
export type FlowControlErrorCode = "rate_limited" | "queue_full" | "throttled" | "singleton_skipped" | "singleton_cancelled";

/**
 * A flow control refused or stopped a call. {@link toResponse} turns it into an HTTP answer.
 * @example
 * try {
 *   await perUser.run(userId, work);
 * } catch (error) {
 *   if (error instanceof FlowControlError) return toResponse(error);
 *   throw error;
 * }
 */
export class FlowControlError extends Error {
  readonly code: FlowControlErrorCode;
  /** The HTTP status this refusal answers with: 429 (try later) or 409 (another run for the key). */
  readonly status: 409 | 429;
  /** The key the call counted against. */
  readonly key: string;
  /** When a retry may succeed, in ms from now, when the control knows it. */
  readonly retryAfterMs: number | undefined;

  constructor(code: FlowControlErrorCode, status: 409 | 429, key: string, message: string, retryAfterMs?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.key = key;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Whole seconds to wait, rounded up: what `Retry-After` says and error texts show. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/**
 * A rate limit dropped the call (it is not queued). Retry after `retryAfterMs`.
 * @example
 * new RateLimitedError("alice", 6_000, "5 per 60000 ms").message;
 * // 'Rate limit reached for key "alice" (5 per 60000 ms); retry after 6 s'
 */
export class RateLimitedError extends FlowControlError {
  declare readonly retryAfterMs: number;
  constructor(key: string, retryAfterMs: number, rule?: string) {
    const ms = Math.max(0, Math.ceil(retryAfterMs));
    const detail = rule === undefined ? "" : ` (${rule})`;
    super("rate_limited", 429, key, `Rate limit reached for key ${JSON.stringify(key)}${detail}; retry after ${retryAfterSeconds(ms)} s`, ms);
  }
}

/**
 * Too many callers are waiting for a key already; the call was not queued.
 * @example
 * new QueueFullError("concurrency", "alice", 1000).message;
 * // 'concurrency: the queue of key "alice" is full (maxQueue 1000)'
 */
export class QueueFullError extends FlowControlError {
  constructor(control: string, key: string, maxQueue: number, retryAfterMs?: number) {
    super("queue_full", 429, key, `${control}: the queue of key ${JSON.stringify(key)} is full (maxQueue ${maxQueue})`, retryAfterMs);
  }
}

/**
 * A throttled call would wait longer than `maxWaitMs` to start; it was not queued.
 * @example
 * new ThrottledError("alice", 120_000, 60_000).message;
 * // 'throttle: key "alice" would wait 120000 ms to start, over maxWaitMs 60000; retry after 60 s'
 */
export class ThrottledError extends FlowControlError {
  declare readonly retryAfterMs: number;
  constructor(key: string, waitMs: number, maxWaitMs: number) {
    const retry = Math.max(0, waitMs - maxWaitMs);
    super(
      "throttled",
      429,
      key,
      `throttle: key ${JSON.stringify(key)} would wait ${waitMs} ms to start, over maxWaitMs ${maxWaitMs}; retry after ${retryAfterSeconds(retry)} s`,
      retry,
    );
  }
}

/**
 * A singleton in `"skip"` mode: a run for the key is active, so this call did not run.
 * @example
 * new SingletonSkippedError("alice").message;
 * // 'singleton: a run for key "alice" is already active; this call was skipped'
 */
export class SingletonSkippedError extends FlowControlError {
  constructor(key: string) {
    super("singleton_skipped", 409, key, `singleton: a run for key ${JSON.stringify(key)} is already active; this call was skipped`);
  }
}

/**
 * A singleton in `"cancel"` mode: a newer call for the key cancelled this one (running: its signal was
 * aborted with this error; waiting: it never ran).
 * @example
 * new SingletonCancelledError("alice").message;
 * // 'singleton: the run for key "alice" was cancelled by a newer call'
 */
export class SingletonCancelledError extends FlowControlError {
  constructor(key: string) {
    super("singleton_cancelled", 409, key, `singleton: the run for key ${JSON.stringify(key)} was cancelled by a newer call`);
  }
}
