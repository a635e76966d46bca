/**
 * The console from the start of `hearth start` until its observability opens (observability.ts):
 * apart from it, so that starting the capture loads only the logger, not the runtime.
 * @module
 */
import { captureConsole } from "../observability/logs/console-capture.ts";
import { createLogger } from "../observability/logs/logger.ts";
import type { LogRecord } from "../observability/logs/types.ts";
import type { RunOptions } from "./args.ts";

/** The console capture from the start of `hearth start` until the observability takes over, and what it recorded. */
let startup: { restore: () => void; records: LogRecord[] } | undefined;
/** Records kept from before the log store opens: start-up says little, a loop that logs must not fill memory. */
const STARTUP_RECORDS = 1_000;

/**
 * From here until {@link startCliObservability}, console lines go where they will go then: with JSON
 * logs, every line becomes a JSON line (the runtime's own messages while it opens the data directory
 * included); with coloured ones, lines print as they are. Either way each is kept, and handed to the
 * log store once it opens. Called first thing by `hearth start` (and each thread's server); once per
 * thread. Returns whether this call began the capture.
 */
export function captureStartupConsole(options: RunOptions, dev: boolean): boolean {
  if (startup !== undefined) return false;
  const records: LogRecord[] = [];
  const keep = (record: LogRecord): void => {
    if (records.length < STARTUP_RECORDS) records.push(record);
  };
  const level = options.logLevel ?? "info";
  const json = (options.logFormat ?? (dev ? "pretty" : "json")) === "json";
  const logger = createLogger({ level, pretty: !json, onRecord: keep });
  const keepOnly = createLogger({ level, destination: { write: () => true }, onRecord: keep });
  startup = { restore: captureConsole(logger, json ? { everywhere: true } : { recordOutside: keepOnly }), records };
  return true;
}

/** Ends the start-up capture (a server that failed to start, in a process that goes on); returns what it recorded. */
export function endStartupConsole(): LogRecord[] {
  const ended = startup;
  startup = undefined;
  ended?.restore();
  return ended?.records ?? [];
}
