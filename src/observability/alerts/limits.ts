/** The limits and defaults of alerting; each is listed with its value in docs/observability/alerts.md. */
export const ALERT_LIMITS = {
  /** Rules kept (API and config together). */
  maxRules: 500,
  /** Contact points kept. */
  maxContactPoints: 50,
  /** Silences not yet expired. */
  maxActiveSilences: 1000,
  /** Alerts (label sets) one rule may track; further series are ignored and reported in the rule's health. */
  maxInstancesPerRule: 1000,
  /**
   * Readings a `rate`, `increase` or windowed quantile keeps per series (besides the window's base and
   * the newest): with more evaluations per window they are thinned to one per window / this.
   */
  readingsPerWindow: 240,
  /** Longest `window`, `for`, `keepFiringFor`. */
  maxWindowMs: 24 * 60 * 60_000,
  /** Shortest repeat interval. */
  minRepeatIntervalMs: 60_000,
  /** Longest repeat interval. */
  maxRepeatIntervalMs: 7 * 24 * 60 * 60_000,
  /** Rule names, silence comments. */
  maxNameLength: 200,
  maxTextLength: 2000,
  /** Evaluation interval bounds and default. */
  minIntervalMs: 1000,
  defaultIntervalMs: 15_000,
  /** Default repeat interval for a long-firing alert. */
  defaultRepeatIntervalMs: 4 * 60 * 60_000,
  /** History kept: at most this many rows, none older than this many days (both options). */
  defaultHistoryMaxRows: 10_000,
  defaultHistoryMaxAgeDays: 30,
  /** Deliveries waiting or retrying; past it, new notifications are dropped and recorded as `dropped`. */
  defaultQueueSize: 1000,
  /** Retries after a failed delivery, the first backoff (doubling) and its cap. */
  defaultRetries: 3,
  defaultBackoffMs: 1000,
  maxBackoffMs: 60_000,
  /** Time for one webhook request. */
  defaultTimeoutMs: 10_000,
  /** Slack section text is capped by Slack at 3000 characters. */
  slackTextLength: 3000,
  /** History page size: default and maximum. */
  defaultPageSize: 50,
  maxPageSize: 500,
} as const;
