/** Where a {@link ConfigError} points: the file, and the line, column and key path when known. */
export interface ConfigErrorDetails {
  /** Absolute path of the file at fault. */
  file?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column (syntax errors). */
  column?: number;
  /** The key at fault, e.g. "ratelimits[0].simple.period". */
  keyPath?: string;
  cause?: unknown;
}

/**
 * A project configuration Hearth cannot start with: a syntax error, a value of the wrong type or out
 * of range, a duplicate binding name, an environment that does not exist. The message is meant for
 * the terminal as is and starts with the file (and line) at fault, e.g.
 * `wrangler.jsonc:14: ratelimits[0].simple.period must be 10 or 60 (got 30)`.
 *
 * @example
 * try {
 *   loadProjectConfig({ path: "wrangler.jsonc" });
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message);
 * }
 */
export class ConfigError extends Error {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly keyPath: string | undefined;

  constructor(message: string, details: ConfigErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ConfigError";
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.keyPath = details.keyPath;
  }
}
