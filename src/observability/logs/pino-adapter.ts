import { currentLogContext, readLogContext } from "./context.ts";
import { LEVEL_VALUES, thresholdOf, type LevelName, type LevelSetting } from "./levels.ts";
import { compileRedactor, type RedactOptions } from "./redact.ts";
import { sanitize } from "./sanitize.ts";
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

  /** A JSON-safe, redacted copy of the fields; Error values stay Errors for pino's serializers. */
  const prepare = (fields: object): Record<string, unknown> => {
    if (!redactor) return { ...fields };
    const plain: Record<string, unknown> = {};
    const errors: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) (isErrorLike(value) ? errors : plain)[key] = value;
    return { ...(sanitize(plain, redactor) as Record<string, unknown>), ...errors };
  };

  const method = (level: LevelName): LogFn =>
    ((first: unknown, ...rest: unknown[]) => {
      const target = pino[level].bind(pino);
      const context = withContext ? currentLogContext() : undefined;
      // Arguments pino formats into the message (`%j`, `%o`): strings scrubbed, objects redacted copies.
      const scrubbed = redactor ? rest.map((arg) => (typeof arg === "string" ? redactor.scrub(arg) : typeof arg === "object" && arg !== null ? sanitize(arg, redactor) : arg)) : rest;
      if (isErrorLike(first)) {
        target({ ...context, err: first }, ...(scrubbed.length ? scrubbed : [first.message]));
      } else if (typeof first === "object" && first !== null) {
        target({ ...context, ...prepare(first) }, ...scrubbed);
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
