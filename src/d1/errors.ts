import { D1_LIMITS } from "./limits.ts";

/** The prefixes D1 puts in front of its error messages; code matches on them. */
export type D1ErrorPrefix =
  | "D1_ERROR"
  | "D1_TYPE_ERROR"
  | "D1_COLUMN_NOTFOUND"
  | "D1_EXEC_ERROR"
  | "D1_SESSION_ERROR"
  | "D1_DUMP_ERROR";

/**
 * An error as D1 throws it: a plain `Error` whose message is `<PREFIX>: <text>` and whose `cause`
 * is an `Error` carrying `<text>` alone (workerd's shape), so `e.message.startsWith("D1_ERROR")`
 * and `e.cause.message` both work as they do on Cloudflare.
 */
export function d1Error(prefix: D1ErrorPrefix, text: string, original?: unknown, causeText: string = text): Error {
  const cause = new Error(causeText, original === undefined ? undefined : { cause: original });
  return new Error(`${prefix}: ${text}`, { cause });
}

/** True for an error this module made (its message starts with a D1 prefix). */
export function isD1Error(error: unknown): error is Error {
  return error instanceof Error && /^D1_[A-Z_]+: /.test(error.message);
}

/** SQLite's primary result codes, by number: D1 ends SQL error texts with the name, e.g. `: SQLITE_CONSTRAINT`. */
const RESULT_CODE_NAMES: Record<number, string> = {
  1: "SQLITE_ERROR",
  2: "SQLITE_INTERNAL",
  3: "SQLITE_PERM",
  4: "SQLITE_ABORT",
  5: "SQLITE_BUSY",
  6: "SQLITE_LOCKED",
  7: "SQLITE_NOMEM",
  8: "SQLITE_READONLY",
  9: "SQLITE_INTERRUPT",
  10: "SQLITE_IOERR",
  11: "SQLITE_CORRUPT",
  12: "SQLITE_NOTFOUND",
  13: "SQLITE_FULL",
  14: "SQLITE_CANTOPEN",
  15: "SQLITE_PROTOCOL",
  16: "SQLITE_EMPTY",
  17: "SQLITE_SCHEMA",
  18: "SQLITE_TOOBIG",
  19: "SQLITE_CONSTRAINT",
  20: "SQLITE_MISMATCH",
  21: "SQLITE_MISUSE",
  22: "SQLITE_NOLFS",
  23: "SQLITE_AUTH",
  24: "SQLITE_FORMAT",
  25: "SQLITE_RANGE",
  26: "SQLITE_NOTADB",
};

/** SQLite messages that mean a D1 limit was hit, and the limit to name after them. */
const LIMIT_HINTS: Array<[RegExp, string]> = [
  [/string or blob too big/, `D1 allows at most ${D1_LIMITS.maxValueBytes.toLocaleString("en-US")} bytes per string, BLOB or row`],
  [/too many columns/, `D1 allows at most ${D1_LIMITS.maxColumns} columns`],
  [/LIKE or GLOB pattern too complex/, `D1 allows LIKE and GLOB patterns of at most ${D1_LIMITS.maxLikePatternBytes} bytes`],
  [/too many arguments on function/, `D1 allows at most ${D1_LIMITS.maxFunctionArguments} arguments per SQL function`],
  [/too many SQL variables|variable number must be between/, `D1 allows at most ${D1_LIMITS.maxBoundParameters} bound parameters per statement`],
  [/too many attached databases/, "D1 does not support ATTACH"],
];

/**
 * The text D1 reports for a failed SQLite call: SQLite's message, then the result code's name
 * (`UNIQUE constraint failed: users.email: SQLITE_CONSTRAINT`), then which D1 limit it was when one was.
 */
export function sqliteErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const errcode = (error as { errcode?: unknown }).errcode;
  const name = typeof errcode === "number" ? RESULT_CODE_NAMES[errcode & 0xff] : undefined;
  const text = name === undefined ? error.message : `${error.message}: ${name}`;
  const hint = LIMIT_HINTS.find(([pattern]) => pattern.test(error.message))?.[1];
  return hint === undefined ? text : `${text} (${hint})`;
}

/** Wraps a failure from SQLite (or from Hearth's own checks) as `D1_ERROR: …`; D1 errors pass through. */
export function toD1Error(error: unknown): Error {
  if (isD1Error(error)) return error;
  return d1Error("D1_ERROR", sqliteErrorText(error), error);
}
