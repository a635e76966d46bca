import { captureConsole } from "../observability/logs/console-capture.ts";
import { createLogger } from "../observability/logs/logger.ts";
import type { Logger } from "../observability/logs/types.ts";
import type { RunOptions } from "./args.ts";

/** What `hearth dev` / `hearth start` switch on around the host: the logger and console capture. */
export interface CliObservability {
  /** The process's logger: JSON lines under `start`, coloured lines under `dev` (or as `--log-format` says). */
  readonly logger: Logger;
  /** Undoes the console capture. */
  close(): void;
}

/**
 * Sets up logging for a served project: a logger on stdout at `--log-level`, and `console.*` inside an
 * agent's event captured as records carrying the agent's class, name, request and trace ids.
 */
export function startCliObservability(options: RunOptions, dev: boolean): CliObservability {
  const format = options.logFormat ?? (dev ? "pretty" : "json");
  const logger = createLogger({ level: options.logLevel ?? "info", pretty: format === "pretty" });
  const restoreConsole = captureConsole(logger);
  return { logger, close: restoreConsole };
}
