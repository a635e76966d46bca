/**
 * The Rate Limiting binding for Hearth, counters kept in a SQLite file. See docs/bindings/ratelimit.md.
 * @module
 */
export { RateLimiter, type RateLimiterConfig, type RateLimitOutcome } from "./rate-limiter.ts";
export { RateLimitStore, openRateLimitStore, closeAllRateLimitStores, type RateLimitStoreOptions } from "./store.ts";
export { RATE_LIMIT_PERIODS, type RateLimitOptions } from "./options.ts";
