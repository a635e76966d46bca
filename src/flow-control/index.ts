/**
 * Flow control for agent and team entry points, keyed by an expression of the input (the user id…):
 * concurrency, throttle, rate limit (HTTP 429 with `Retry-After`), debounce and singleton, combined in
 * Inngest's order. See docs/teams/flow-control.md.
 * @module
 */
export type { FlowControl, FlowControlKind, KeyOf, RunOptions, Work } from "./types.ts";
export { concurrency, type ConcurrencyOptions } from "./concurrency.ts";
export { throttle, type ThrottleOptions } from "./throttle.ts";
export {
  rateLimit,
  type RateLimitBinding,
  type RateLimitBindingOptions,
  type RateLimitCounterOptions,
  type RateLimitControlOptions,
  type SqlExecutor,
} from "./rate-limit.ts";
export { debounce, type DebounceOptions } from "./debounce.ts";
export { singleton, type SingletonOptions } from "./singleton.ts";
export { combine } from "./combine.ts";
export { toResponse, guardRequests, type RequestHandler, type FlowControlErrorBody } from "./http.ts";
export {
  FlowControlError,
  RateLimitedError,
  QueueFullError,
  ThrottledError,
  SingletonSkippedError,
  SingletonCancelledError,
  type FlowControlErrorCode,
} from "./errors.ts";
export { FLOW_CONTROL_LIMITS } from "./limits.ts";
