import { applyContext, assignFields, currentLogContext, readLogContext } from "./context.ts";
import { LEVEL_VALUES, thresholdOf, type LevelName, type LevelSetting } from "./levels.ts";
import { compileRedactor, type RedactOptions } from "./redact.ts";
import { redactedError } from "./redact-error.ts";
import { sanitize, thrownMessage } from "./sanitize.ts";
import { isErrorLike } from "./serialize-error.ts";
import type { LogFn, Logger } from "./types.ts";

/** A pino log method, as far as this adapter calls it. */
export type PinoLogMethod = (objOrMsg: unknown, ...rest: unknown[]) => void;

/** Anything with pino's shape: a pino instance (any version ≥ 7), or a look-alike. */
export interface PinoLike {
  trace: PinoLogMethod;
  debug: PinoLogMethod;
  info: PinoLogMethod;
  warn: PinoLogMethod;
  error: PinoLogMethod;
  fatal: PinoLogMethod;
  level: string;
  child(bindings: Record<string, unknown>): PinoLike;
  isLevelEnabled?(level: string): boolean;
}

export interface PinoAdapterOptions {
  /**
   * Redaction applied before the record reaches pino (pino's own `redact` still applies after). Default:
   * the well-known secret keys and credential-shaped values; `false` to leave it all to pino.
   */
  redact?: RedactOptions | readonly string[] | false;
  /** Add the agent class and name, request id and trace ids. Default true. */
  context?: boolean;
}

/** One field of a call's object; a getter that throws gives what the sanitizer writes for it. */
function readField(fields: object, key: string): unknown {
  try {
    return (fields as Record<string, unknown>)[key];
  } catch (error) {
    return `[Unreadable: ${thrownMessage(error)}]`;
  }
}

/**
 * Uses a pino instance (the application's, with its transports and serializers) as Hearth's logger:
 * every line gains the agent class and name, request and trace ids; secrets are redacted first.
 * @example
 * import pino from "pino";
 * const log = fromPino(pino({ level: "debug" }));
 * log.info({ order: 7 }, "paid");
 */
export function fromPino(pino: PinoLike, options: PinoAdapterOptions = {}): Logger {
  readLogContext();
  if (typeof pino?.info !== "function" || typeof pino.child !== "function") {
    throw new TypeError("fromPino() needs a pino-like logger: info(obj, msg) and child(bindings) methods");
  }
  const redactor = options.redact === false ? undefined : compileRedactor(options.redact);
  const withContext = options.context ?? true;

  /**
   * A JSON-safe, redacted copy of the fields. An Error value stays an Error for pino's serializers, but
   * a redacted copy (see `redactedError`): pino would otherwise write its properties and message as they are.
   */
  const prepare = (fields: object): Record<string, unknown> => {
    if (!redactor) return { ...fields };
    const plain: Record<string, unknown> = {};
    const errors = new Map<string, Error>();
    for (const key of Object.keys(fields)) {
      const value = readField(fields, key);
      if (isErrorLike(value)) errors.set(key, value);
      else plain[key] = value;
    }
    const clean = sanitize(plain, redactor) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(fields)) {
      const error = errors.get(key);
      if (error) out[key] = redactedError(error, redactor, [key]);
      else if (key in clean) out[key] = clean[key];
    }
    return out;
  };

  const method = (level: LevelName): LogFn =>
    ((first: unknown, ...rest: unknown[]) => {
      const target = pino[level].bind(pino);
      const context = withContext ? currentLogContext() : undefined;
      // Arguments pino formats into the message (`%j`, `%o`): strings scrubbed, objects redacted copies.
      const scrubbed = redactor ? rest.map((arg) => (typeof arg === "string" ? redactor.scrub(arg) : typeof arg === "object" && arg !== null ? sanitize(arg, redactor) : arg)) : rest;
      if (isErrorLike(first)) {
        const err = redactor ? redactedError(first, redactor) : first;
        const message = typeof err === "string" ? err : err.message;
        target({ ...context, err }, ...(scrubbed.length ? scrubbed : [message]));
      } else if (typeof first === "object" && first !== null) {
        // The context wins: a field named `agent`, `name`, … is passed as `field_agent`, `field_name`, ….
        const record: Record<string, unknown> = {};
        applyContext(record, context);
        assignFields(record, prepare(first), context);
        target(record, ...scrubbed);
      } else {
        const msg = redactor && typeof first === "string" ? redactor.scrub(first) : first;
        if (context) target(context, msg, ...scrubbed);
        else target(msg, ...scrubbed);
      }
    }) as LogFn;

  return {
    trace: method("trace"),
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    fatal: method("fatal"),
    get level() {
      return pino.level as LevelSetting;
    },
    set level(level: LevelSetting) {
      pino.level = level;
    },
    isLevelEnabled(level: LevelName) {
      return pino.isLevelEnabled ? pino.isLevelEnabled(level) : LEVEL_VALUES[level] >= thresholdOf(pino.level);
    },
    child(bindings: Record<string, unknown>) {
      return fromPino(pino.child(redactor ? prepare(bindings) : bindings), options);
    },
  };
}
