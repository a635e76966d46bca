import { captureConsole } from "../observability/logs/console-capture.ts";
import { createLogger } from "../observability/logs/logger.ts";
import type { Logger } from "../observability/logs/types.ts";
import type { Host } from "../host/host.ts";
import { createHearthMetrics, type HearthMetrics } from "../observability/metrics/hearth-metrics.ts";
import type { RunOptions } from "./args.ts";

/** What `hearth dev` / `hearth start` switch on around the host: the logger, console capture and metrics. */
export interface CliObservability {
  /** The process's logger: JSON lines under `start`, coloured lines under `dev` (or as `--log-format` says). */
  readonly logger: Logger;
  /** The metrics `/metrics` serves, unless `--no-metrics`. */
  readonly metrics: HearthMetrics | undefined;
  /** Undoes the console capture. */
  close(): void;
}

/**
 * Sets up what a served project reports: a logger on stdout at `--log-level`, `console.*` inside an
 * agent's event captured as records carrying the agent's class, name, request and trace ids, and the
 * metrics `/metrics` serves (with the project's queue backlogs).
 */
export function startCliObservability(
  options: RunOptions,
  context: { dev: boolean; host: Host; queueDepths?: () => Iterable<{ queue: string; messages: number; bytes: number }> },
): CliObservability {
  const format = options.logFormat ?? (context.dev ? "pretty" : "json");
  const logger = createLogger({ level: options.logLevel ?? "info", pretty: format === "pretty" });
  // JSON output is for collectors: every console line of the process becomes a record then, the
  // runtime's own messages and a worker's fetch included; coloured output leaves those as they are.
  const restoreConsole = captureConsole(logger, { everywhere: format === "json" });
  const metrics = options.metrics === false ? undefined : createHearthMetrics({ host: context.host, ...(context.queueDepths ? { queueDepths: context.queueDepths } : {}) });
  return {
    logger,
    metrics,
    close: () => {
      restoreConsole();
      metrics?.close();
    },
  };
}
