import type { LevelName, LevelSetting } from "./levels.ts";

/**
 * A log method with pino's call forms: `(msg, ...args)`, `(obj, msg?, ...args)` and `(error, msg?)`.
 * `msg` may hold printf-style `%s %d %j %o %O` placeholders filled from `args`.
 */
export interface LogFn {
  (msg: string, ...args: unknown[]): void;
  (obj: object, msg?: string, ...args: unknown[]): void;
}

/** The logger interface shared by Hearth's logger and a wrapped pino instance. */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** The current level; set it to change what is written. */
  level: LevelSetting;
  /** Whether a record of `level` would be written now. */
  isLevelEnabled(level: LevelName): boolean;
  /** A logger whose lines all carry `bindings` (after the parent's). */
  child(bindings: Record<string, unknown>): Logger;
}

/** The record as written, before it becomes a JSON line (for `onRecord` and the pretty printer). */
export interface LogRecord {
  level: number;
  time: number;
  msg?: string;
  [key: string]: unknown;
}
