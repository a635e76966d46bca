import { hostname } from "node:os";
import { applyContext, assignFields, currentLogContext, readLogContext } from "./context.ts";
import { formatMessage } from "./format-message.ts";
import { LEVEL_VALUES, thresholdOf, type LevelName, type LevelSetting } from "./levels.ts";
import { formatPretty, type PrettyOptions } from "./pretty.ts";
import { compileRedactor, type RedactOptions, type Redactor } from "./redact.ts";
import { sanitize, thrownMessage } from "./sanitize.ts";
import { isErrorLike } from "./serialize-error.ts";
import type { LogFn, Logger, LogRecord } from "./types.ts";

/** The longest JSON line written, in bytes (Cloudflare Workers Logs' limit); longer records are cut. */
export const MAX_LINE_BYTES = 128 * 1024;
/** How much of the message (and of its error's message) a cut record keeps, in characters. */
export const TRUNCATED_MSG_CHARS = 4096;
/** How much of its error's stack a cut record keeps, in characters. */
export const TRUNCATED_STACK_CHARS = 8192;
/** How much of its error's type and name a cut record keeps, in characters. */
export const TRUNCATED_ERR_NAME_CHARS = 256;

/** Where lines go: anything with `write(string)` (a stream, a file, an array collector). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** The lowest level written. Default `"info"`. */
  level?: LevelSetting;
  /** Where JSON (or pretty) lines go. Default `process.stdout`. */
  destination?: LogDestination;
  /** Paths to redact (pino syntax), or full options. Secret keys and credential-shaped values are redacted by default. */
  redact?: RedactOptions | readonly string[];
  /** Write readable coloured lines instead of JSON (for `hearth dev`). */
  pretty?: boolean | PrettyOptions;
  /** Fields on every line, after `level` and `time`. Default `{ pid, hostname }`, as pino; `null` for none. */
  base?: Record<string, unknown> | null;
  /** Add the agent class and name, request id and trace ids of where a line is written. Default true. */
  context?: boolean;
  /** Also hands every written record to this function (the inspector's store, say). */
  onRecord?: (record: LogRecord) => void;
  /** The clock for `time` (epoch ms). Default `Date.now`. */
  now?: () => number;
}

/** What a logger and its children share. */
interface Shared {
  readonly destination: LogDestination;
  readonly redactor: Redactor;
  readonly pretty: PrettyOptions | undefined;
  readonly context: boolean;
  readonly onRecord: ((record: LogRecord) => void) | undefined;
  readonly now: () => number;
}

/**
 * A pino-compatible JSON-lines logger: the same field names (`level` 10–60, `time`, `pid`, `hostname`,
 * `msg`, `err`), call forms and child bindings, plus redaction on by default and the running agent's
 * class and name, request id and trace ids on every line.
 * @example
 * const log = createLogger({ level: "debug", redact: ["req.headers.cookie"] });
 * log.info({ user: "ada" }, "signed in");
 * // {"level":30,"time":1764730000000,"pid":4242,"hostname":"box","user":"ada","msg":"signed in"}
 * log.child({ module: "billing" }).error(new Error("card declined"));
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  readLogContext();
  const redactor = compileRedactor(options.redact);
  const shared: Shared = {
    destination: options.destination ?? process.stdout,
    redactor,
    pretty: options.pretty === true ? {} : options.pretty || undefined,
    context: options.context ?? true,
    onRecord: options.onRecord,
    now: options.now ?? Date.now,
  };
  const base = options.base === undefined ? { pid: process.pid, hostname: hostname() } : options.base;
  const bindings = base ? (sanitize(base, redactor) as Record<string, unknown>) : {};
  return new JsonLogger(shared, bindings, options.level ?? "info");
}

class JsonLogger implements Logger {
  #threshold: number;
  #level: LevelSetting;
  // Plain fields, not parameter properties: Node's type stripping cannot run those.
  private readonly shared: Shared;
  private readonly boundFields: Readonly<Record<string, unknown>>;

  constructor(shared: Shared, boundFields: Readonly<Record<string, unknown>>, level: LevelSetting) {
    this.shared = shared;
    this.boundFields = boundFields;
    this.#threshold = thresholdOf(level);
    this.#level = level;
  }

  get level(): LevelSetting {
    return this.#level;
  }
  set level(level: LevelSetting) {
    this.#threshold = thresholdOf(level);
    this.#level = level;
  }
  /** pino's numeric level (`Infinity` when silent). */
  get levelVal(): number {
    return this.#threshold;
  }

  isLevelEnabled(level: LevelName): boolean {
    return LEVEL_VALUES[level] >= this.#threshold;
  }

  /** The fields this logger adds to every line (base and child bindings). */
  bindings(): Record<string, unknown> {
    return { ...this.boundFields };
  }

  child(bindings: Record<string, unknown>): Logger {
    if (typeof bindings !== "object" || bindings === null) throw new TypeError("child() needs a bindings object");
    const own = sanitize(bindings, this.shared.redactor) as Record<string, unknown>;
    return new JsonLogger(this.shared, { ...this.boundFields, ...own }, this.#level);
  }

  trace: LogFn = (...args: [object | string, ...unknown[]]) => this.write(10, args);
  debug: LogFn = (...args: [object | string, ...unknown[]]) => this.write(20, args);
  info: LogFn = (...args: [object | string, ...unknown[]]) => this.write(30, args);
  warn: LogFn = (...args: [object | string, ...unknown[]]) => this.write(40, args);
  error: LogFn = (...args: [object | string, ...unknown[]]) => this.write(50, args);
  fatal: LogFn = (...args: [object | string, ...unknown[]]) => this.write(60, args);

  private write(level: number, args: readonly unknown[]): void {
    if (level < this.#threshold) return;
    const { shared } = this;
    const time = shared.now();
    let record: LogRecord;
    try {
      record = this.build(level, time, args);
    } catch (error) {
      // A log call never throws into its caller (a toString that throws, say): the line says what failed.
      record = { level, time, ...this.boundFields, msg: `[unloggable: ${shared.redactor.scrub(thrownMessage(error))}]` };
    }
    // The line limit applies before anyone sees the record: the store and the pretty printer get the cut one too.
    let line = JSON.stringify(record);
    if (line.length * 3 > MAX_LINE_BYTES) {
      const bytes = Buffer.byteLength(line);
      if (bytes > MAX_LINE_BYTES) {
        record = truncated(record, bytes, this.boundFields);
        line = JSON.stringify(record);
      }
    }
    shared.onRecord?.(record);
    shared.destination.write((shared.pretty ? formatPretty(record, shared.pretty) : line) + "\n");
  }

  /** The record of one call: bindings, context, the object's fields or the error, and the message. */
  private build(level: number, time: number, args: readonly unknown[]): LogRecord {
    const { shared } = this;
    const record: LogRecord = { level, time, ...this.boundFields };
    const context = shared.context ? currentLogContext() : undefined;
    // The context wins: a binding or field named `agent`, `name`, … goes to `field_agent`, `field_name`, ….
    applyContext(record, context);
    const [first, ...rest] = args;
    let msg: string | undefined;
    if (isErrorLike(first)) {
      // Sanitized where it lands, under `err`, so paths like "err.config.data" apply as they do to { err }.
      record.err = (sanitize({ err: first }, shared.redactor) as { err?: unknown }).err;
      msg = typeof rest[0] === "string" ? formatMessage(rest[0], rest.slice(1), shared.redactor) : String(first.message);
    } else if (typeof first === "object" && first !== null) {
      const fields = sanitize(first, shared.redactor);
      // Not a string (a toJSON's result, say, or "[Unreadable: …]"): copying would spread its characters.
      if (typeof fields === "object" && fields !== null) assignFields(record, fields as Record<string, unknown>, context);
      if (typeof rest[0] === "string") msg = formatMessage(rest[0], rest.slice(1), shared.redactor);
    } else {
      if (first !== undefined) msg = formatMessage(String(first), rest, shared.redactor);
    }
    if (msg !== undefined) record.msg = shared.redactor.scrub(msg);
    return record;
  }
}

/** A cut record: level, time, bindings and context kept, the message and the error shortened, the other fields dropped. */
function truncated(record: LogRecord, bytes: number, bound: Readonly<Record<string, unknown>>): LogRecord {
  const kept: LogRecord = { level: record.level, time: record.time, ...bound };
  for (const key of ["agent", "name", "requestId", "trace_id", "span_id"]) if (key in record) kept[key] = record[key];
  kept.truncated = true;
  kept.bytes = bytes;
  const err = shortError(record.err);
  if (err) kept.err = err;
  if (typeof record.msg === "string") kept.msg = record.msg.slice(0, TRUNCATED_MSG_CHARS);
  return kept;
}

/**
 * The error of a cut record, so the line still counts as an error (the problems list, error alerts):
 * its type (or name), the start of its message and of its stack; its other fields are dropped.
 */
function shortError(err: unknown): Record<string, string> | undefined {
  if (typeof err !== "object" || err === null || Array.isArray(err)) return undefined;
  const { type, name, message, stack } = err as Record<string, unknown>;
  const short: Record<string, string> = {};
  if (typeof type === "string") short.type = type.slice(0, TRUNCATED_ERR_NAME_CHARS);
  if (typeof name === "string") short.name = name.slice(0, TRUNCATED_ERR_NAME_CHARS);
  if (typeof message === "string") short.message = message.slice(0, TRUNCATED_MSG_CHARS);
  if (typeof stack === "string") short.stack = stack.slice(0, TRUNCATED_STACK_CHARS);
  return short;
}
