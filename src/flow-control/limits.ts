/** The bounds of every flow control option; docs/teams/flow-control.md lists them with their values. */
export const FLOW_CONTROL_LIMITS = {
  /** Longest key, in characters (a key is held in memory, or in a row of the agent's SQLite). */
  maxKeyLength: 1024,
  /** Largest `limit` of concurrency, throttle and rate limit (and `limit + burst` of a throttle). */
  maxLimit: 100_000,
  /** Longest period or wait, in ms: 7 days. */
  maxPeriodMs: 7 * 24 * 60 * 60 * 1000,
  /** Callers a key may hold waiting (concurrency, throttle, debounce) unless `maxQueue` says otherwise. */
  defaultMaxQueue: 1000,
  /** Largest `maxQueue`. */
  maxQueue: 100_000,
  /** Throttle: a call waits at most this long to start unless `maxWaitMs` says otherwise (or one period, if longer). */
  defaultThrottleMaxWaitMs: 60_000,
  /** Debounce: the run happens at most `periodMs × this` after the first call unless `maxWaitMs` says otherwise. */
  defaultDebounceMaxWaitFactor: 10,
  /** Rate limit (counter form): expired rows of the counter table are deleted once every this many calls. */
  counterPruneEvery: 256,
} as const;
