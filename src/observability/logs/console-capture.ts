import { formatWithOptions, inspect } from "node:util";
import { insideAgentEvent } from "./context.ts";
import type { LevelName } from "./levels.ts";
import { compileRedactor, type RedactOptions, type Redactor } from "./redact.ts";
import { sanitize } from "./sanitize.ts";
import { isErrorLike } from "./serialize-error.ts";
import type { Logger } from "./types.ts";

/** The console methods captured, and the level each becomes. */
export const CAPTURED_CONSOLE_METHODS: Readonly<Record<"log" | "info" | "debug" | "warn" | "error", LevelName>> = Object.freeze({
  log: "info",
  info: "info",
  debug: "debug",
  warn: "warn",
  error: "error",
});

type ConsoleMethod = keyof typeof CAPTURED_CONSOLE_METHODS;

export interface CaptureConsoleOptions {
  /** The console to capture. Default the global `console`. */
  console?: Console;
  /**
   * Redaction for objects passed to the console, applied before they are formatted into the message
   * (the logger's own redaction only sees the finished string). Default: the well-known secret keys and
   * credential-shaped values; give the logger's paths here too.
   */
  redact?: RedactOptions | readonly string[];
  /**
   * Capture the console outside agents' events too (a worker's fetch, the runtime's own messages):
   * what a server whose output is collected as JSON lines wants. Default false.
   */
  everywhere?: boolean;
  /**
   * Outside agents' events (when `everywhere` is off), the console prints as before and each line is
   * also written to this logger — one that only keeps records (a log store), so the runtime's own
   * errors reach the problems without changing what the terminal shows.
   */
  recordOutside?: Logger;
}

/**
 * Makes `console.log/info/debug/warn/error` inside an agent's event become log records of `logger`,
 * carrying that agent's class and name (and the request and trace ids). Arguments are formatted as
 * console formats them (objects redacted first); a lone Error becomes the record's `err`. Outside any agent's event the console
 * works as before. Returns a function that undoes the capture.
 * @example
 * const restore = captureConsole(createLogger());
 * // in an agent: console.log("saw %d items", 3) → {"level":30,…,"agent":"Inbox","name":"ada","msg":"saw 3 items"}
 * restore();
 */
export function captureConsole(logger: Logger, options: CaptureConsoleOptions = {}): () => void {
  const target = options.console ?? console;
  const redactor = compileRedactor(options.redact);
  // Objects become redacted copies, errors formatted into the message as well as the structured one.
  const redacted = (arg: unknown): unknown => {
    if (typeof arg !== "object" || arg === null) return arg;
    return isErrorLike(arg) ? redactedError(arg, redactor) : sanitize(arg, redactor, { forInspect: true });
  };
  const everywhere = options.everywhere === true;
  const outsideLogger = everywhere ? undefined : options.recordOutside;
  let active = true;
  let writing = false;
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  const wrappers = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const [method, level] of Object.entries(CAPTURED_CONSOLE_METHODS) as [ConsoleMethod, LevelName][]) {
    const original = target[method] as (...args: unknown[]) => void;
    const wrapper = function (this: unknown, ...args: unknown[]): void {
      // `writing` guards a logger whose destination is the console itself.
      if (!active || writing) return original.apply(this, args);
      let into = logger;
      if (!everywhere && !insideAgentEvent()) {
        original.apply(this, args);
        if (outsideLogger === undefined) return;
        into = outsideLogger;
      }
      if (!into.isLevelEnabled(level)) return;
      writing = true;
      try {
        const last = args.at(-1);
        if (args.length === 1 && isErrorLike(args[0])) into[level](args[0]);
        // console.error("saving failed:", error): the error stays structured, the rest is the message.
        else if (args.length > 1 && isErrorLike(last)) into[level](last as object, formatWithOptions({ colors: false }, ...args.slice(0, -1).map(redacted)));
        else into[level](formatWithOptions({ colors: false }, ...args.map(redacted)));
      } finally {
        writing = false;
      }
    };
    originals.set(method, original);
    wrappers.set(method, wrapper);
    target[method] = wrapper;
  }
  return () => {
    if (!active) return;
    active = false;
    for (const [method, original] of originals) {
      // Someone wrapped the console after us: leave theirs in place; ours now passes everything through.
      if (target[method] === wrappers.get(method)) target[method] = original;
    }
  };
}

/**
 * What an error formatted into a message (not the trailing one, which stays structured) shows: its
 * stack with the cause chain, then its other properties redacted, as util.inspect shows an error's
 * own properties after its stack.
 */
function redactedError(error: Error, redactor: Redactor): object {
  const copy = sanitize(error, redactor, { forInspect: true });
  let text: string;
  let properties: Record<string, unknown> = {};
  if (typeof copy === "object" && copy !== null) {
    const { type, message, stack, ...rest } = copy as Record<string, unknown>;
    properties = rest;
    text = typeof stack === "string" && stack !== "" ? stack : `${String(type)}: ${String(message)}`;
    if (Object.keys(properties).length > 0) text += ` ${inspect(properties, { colors: false })}`;
  } else {
    text = String(copy);
  }
  // `%j` writes an error's own properties, as JSON.stringify does.
  return { [inspect.custom]: () => text, toJSON: () => properties };
}
