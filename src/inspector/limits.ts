/**
 * Every limit the inspector enforces (documented in docs/inspector/security.md and api.md).
 */
export const INSPECTOR_LIMITS = {
  /** Largest request body accepted (JSON). */
  maxBodyBytes: 1024 * 1024,
  /** Items of a list page when `limit` is not given. */
  defaultPageSize: 50,
  /** Largest `limit` of a list page. */
  maxPageSize: 500,
  /** Rows a SQL query returns at most; more set `truncated: true`. */
  maxQueryRows: 1000,
  /**
   * Bytes of JSON the rows of one SQL answer (a query, a table page) may take; the rows past it are
   * left out (`truncated: true`, or a `next` cursor for a table page).
   */
  maxQueryResultBytes: 8 * 1024 * 1024,
  /**
   * Characters of one TEXT cell shown (a longer one is `{ $text: <its start>, length }`); fewer when
   * a query has many columns, so that one row stays within `maxQueryResultBytes`.
   */
  maxCellChars: 65_536,
  /** Characters of JSON of an agent's state `GET …/state` shows; a larger state is shown as its start. */
  maxStateChars: 1024 * 1024,
  /** Characters of JSON of one field of an audit row's detail; a longer field keeps its start, end and SHA-256. */
  maxAuditFieldChars: 8192,
  /** Characters of one SQL text. */
  maxSqlChars: 100_000,
  /**
   * SELECTs in a viewer's query (subqueries and common table expressions). SQLite flattens a
   * subquery into the query that reads it while it prepares them, copying an inner column's
   * expression at each use: `SELECT a||a FROM (SELECT a||a AS a FROM (…))` doubles per level, and 25
   * levels made gigabytes before a row was read (nothing stops a prepare). This bounds the levels,
   * not the copies per level.
   */
  maxViewerSelects: 8,
  /**
   * Copies of an expression a viewer's query with subqueries may make while SQLite flattens it,
   * bounded by the product over its SELECTs of the words each holds (`x||x||…` eleven times, six
   * levels deep, took 9 s and 2.8 GB within 8 SELECTs).
   */
  maxViewerExpressionCopies: 1_000_000,
  /** Open live streams (SSE) at once; one more answers 429 `too_many_streams`. */
  maxStreams: 16,
  /** Messages the live stream keeps for `Last-Event-ID` resume. */
  streamBufferSize: 1000,
  /** Milliseconds between heartbeat comments on a live stream. */
  heartbeatMs: 15_000,
  /** Cookie sessions kept at once (the oldest is dropped first). */
  maxSessions: 1000,
  /** How long a cookie session lasts. */
  sessionTtlMs: 12 * 60 * 60 * 1000,
  /** Metrics history: one point every this many milliseconds… */
  metricsSampleMs: 10_000,
  /** …and this many points per metric (one hour). */
  metricsHistoryPoints: 360,
  /** Metric names kept in the history. */
  metricsHistoryNames: 200,
  /** Team runs the run index keeps; past it the oldest finished runs go first, then the oldest. */
  maxIndexedTeamRuns: 10_000,
  /** Finished team runs stay in the run index this long (seven days). */
  teamRunRetentionMs: 7 * 24 * 60 * 60 * 1000,
  /** The run index is pruned every this many writes (and when it opens). */
  teamRunPruneEvery: 100,
} as const;
