/**
 * D1's per-statement limits (Cloudflare's `d1/platform/limits`), as Hearth enforces them. Each one
 * is either checked before SQLite sees the statement (with an error naming the limit) or set as a
 * SQLite run-time limit on the connection (`DatabaseSync` option `limits`).
 * @example
 * import { D1_LIMITS } from "hearth";
 * if (values.length > D1_LIMITS.maxBoundParameters) splitIntoSeveralStatements(values);
 */
export const D1_LIMITS = {
  /** Bound parameters in one statement (`?` / `?NNN`); also SQLite's SQLITE_LIMIT_VARIABLE_NUMBER. */
  maxBoundParameters: 100,
  /** Length of one SQL statement, in UTF-8 bytes (100 KB); also SQLITE_LIMIT_SQL_LENGTH. */
  maxStatementBytes: 100_000,
  /** Largest string, BLOB or table row, in bytes (2 MB); SQLITE_LIMIT_LENGTH. */
  maxValueBytes: 2_000_000,
  /** Columns in a table, an index, a result set, ORDER BY or GROUP BY; SQLITE_LIMIT_COLUMN. */
  maxColumns: 100,
  /** Length of a LIKE or GLOB pattern, in bytes; SQLITE_LIMIT_LIKE_PATTERN_LENGTH. */
  maxLikePatternBytes: 50,
  /** Arguments of one SQL function call; SQLITE_LIMIT_FUNCTION_ARG. */
  maxFunctionArguments: 32,
  /** D1's query time-out. NOT enforced by Hearth: node:sqlite cannot interrupt a running statement. */
  queryTimeoutMs: 30_000,
} as const;

/** The run-time limits every D1 connection is opened with. ATTACH is refused (D1 has no ATTACH). */
export const SQLITE_LIMITS = {
  variableNumber: D1_LIMITS.maxBoundParameters,
  sqlLength: D1_LIMITS.maxStatementBytes,
  length: D1_LIMITS.maxValueBytes,
  column: D1_LIMITS.maxColumns,
  likePatternLength: D1_LIMITS.maxLikePatternBytes,
  functionArg: D1_LIMITS.maxFunctionArguments,
  attach: 0,
} as const;
