import { join } from "node:path";
import type { Host } from "../platform/host.ts";
import { hasWorkflows, workflowCounts } from "../platform/host.ts";
// The inspector loads only when it starts (`dev`, `--inspector`): `hearth start` alone needs none of it.
import type { InspectorCoreOptions, InspectorHandle, InspectorPeer } from "../inspector/index.ts";
import { AlertEngine, type AlertsConfig } from "../observability/alerts/alert-engine.ts";
import { captureConsole } from "../observability/logs/console-capture.ts";
import { createLogger } from "../observability/logs/logger.ts";
import { endStartupConsole } from "./startup-console.ts";
import type { Logger } from "../observability/logs/types.ts";
import { createHearthMetrics, type HearthMetrics } from "../observability/metrics/hearth-metrics.ts";
import { costOfTokens } from "../observability/cost/prices.ts";
import { LogStore } from "../observability/store/log-store.ts";
import { ProblemStore } from "../observability/store/problems.ts";
import { enableTracing, type Tracing } from "../observability/traces/tracing.ts";
import type { RunOptions } from "./args.ts";
import { CliError } from "./errors.ts";
import { runInOrder } from "./in-order.ts";
import { writeInspectorEndpoint } from "./inspector-endpoint.ts";

/**
 * Share of ordinary traces the span file keeps across restarts (memory keeps every trace; the file
 * keeps every trace with an error, a model call or a slow span). Writing every span costs a
 * busy agent most of its throughput (bench/observability.ts, `--parts traces-file`).
 */
const SPAN_FILE_SAMPLE = 0.01;

/** What `hearth dev` / `hearth start` run around the host: logs, metrics, traces, alerts and the inspector. */
export interface CliObservability {
  /** The process's logger: JSON lines under `start`, coloured lines under `dev` (or as `--log-format` says). */
  readonly logger: Logger;
  /** The metrics `/metrics` serves, unless `--no-metrics`. */
  readonly metrics: HearthMetrics | undefined;
  /** Undoes the console capture and closes the stores. */
  close(): Promise<void>;
}

/** Where the served project's host is, and what else the inspector can read. */
export interface ObservabilityContext {
  dev: boolean;
  host: Host;
  /** Alert rules and contact points from hearth.config.ts. */
  alerts?: AlertsConfig;
  queueDepths?: () => Iterable<{ queue: string; messages: number; bytes: number }>;
  /** Where the logs, spans and alerts are kept; default `<data>/observability` (each thread of a sharded server has its own). */
  dir?: string;
  /** The project's secret values: scrubbed from every log line wherever they appear. */
  secretValues?: readonly string[];
}

/**
 * Sets up what a served project reports: a logger on stdout at `--log-level` whose records are also
 * kept (`<data>/observability/logs.sqlite`) and grouped into problems, `console.*` inside an agent's
 * event captured with its class, name, request and trace ids, the metrics `/metrics` serves (with the
 * project's queue backlogs), traces kept in `<data>/observability/spans.sqlite` (and sent over OTLP
 * when OTEL_EXPORTER_OTLP_ENDPOINT is set) and the alert rules' engine.
 */
export function startCliObservability(options: RunOptions, context: ObservabilityContext): CliObservability & { stores: ObservabilityStores } {
  const dir = context.dir ?? join(context.host.dataDir, "observability");
  const durability = context.host.durability;
  const format = options.logFormat ?? (context.dev ? "pretty" : "json");
  const earlier = endStartupConsole();
  const logStore = new LogStore({ path: join(dir, "logs.sqlite"), durability });
  for (const record of earlier) logStore.onRecord(record);
  const problems = new ProblemStore();
  // Errors reach the problems through the log (the runtime logs every agent error); subscribing to
  // every agents:* channel as well would make each agent build all its events.
  const stopProblems = [problems.observe(logStore, { since: Date.now() - 86_400_000 })];
  const redact = { secrets: context.secretValues ?? [] };
  const logger = createLogger({ level: options.logLevel ?? "info", pretty: format === "pretty", redact, onRecord: logStore.onRecord });
  // JSON output is for collectors: every console line of the process becomes a record then, the
  // runtime's own messages and a worker's fetch included; coloured output prints those as they are
  // and only keeps a record of each (so the runtime's errors still reach the problems).
  const keepOnly = createLogger({ level: options.logLevel ?? "info", destination: { write: () => true }, redact, onRecord: logStore.onRecord });
  const restoreConsole = captureConsole(logger, format === "json" ? { everywhere: true } : { recordOutside: keepOnly });
  const metrics =
    options.metrics === false
      ? undefined
      : createHearthMetrics({
          host: context.host,
          ...(context.queueDepths ? { queueDepths: context.queueDepths } : {}),
          ...(hasWorkflows(context.host) ? { workflowStates: () => Object.entries(workflowCounts(context.host)).map(([status, count]) => ({ status, count })) } : {}),
        });
  const tracing: Tracing | undefined =
    options.traces === false
      ? undefined
      : enableTracing({
          store: { persist: { path: join(dir, "spans.sqlite"), durability, sampleRatio: SPAN_FILE_SAMPLE } },
          costOf: (model, input, output) => costOfTokens(model, input, output),
          // The project's secret values, as the logs have them: an error quoting one is recorded without it.
          secrets: redact.secrets,
        });
  const alerts = new AlertEngine({ path: join(dir, "alerts.sqlite"), durability, errors: problems, ...(metrics ? { metrics: metrics.registry } : {}) });
  try {
    if (context.alerts) alerts.loadConfig(context.alerts);
  } catch (error) {
    alerts.close();
    void tracing?.close();
    metrics?.close();
    restoreConsole();
    logStore.close();
    throw new CliError("startup", `hearth.config.ts: alerts: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  alerts.start();
  return {
    logger,
    metrics,
    stores: { logStore, problems, tracing, alerts },
    close: () =>
      runInOrder([
        () => alerts.close(),
        () => tracing?.close(),
        () => metrics?.close(),
        () => restoreConsole(),
        () => stopProblems.forEach((stop) => stop()),
        () => logStore.close(),
      ]),
  };
}

/** The stores the inspector reads. */
export interface ObservabilityStores {
  logStore: LogStore;
  problems: ProblemStore;
  tracing: Tracing | undefined;
  alerts: AlertEngine;
}

/** The inspector's banner line: where to open it, and where the admin token is. */
export interface InspectorBanner {
  url: string;
  adminTokenFile?: string;
  warning?: string;
}

/**
 * Starts the inspector when asked (`dev` by default): on `--inspector-port` (default the server's
 * port + 1), loopback unless `--inspector-host` says otherwise (then with a loud warning).
 */
export async function startCliInspector(
  options: RunOptions,
  context: ObservabilityContext & { serverPort: number; metrics: HearthMetrics | undefined; stores: ObservabilityStores; version: string },
): Promise<{ handle: InspectorHandle; banner: InspectorBanner } | undefined> {
  if (options.inspector !== true && !(options.inspector === undefined && context.dev)) return undefined;
  const port = options.inspectorPort ?? (options.port === 0 ? 0 : context.serverPort + 1);
  const hostname = options.inspectorHost ?? "127.0.0.1";
  const { startInspector } = await import("../inspector/index.ts");
  const handle = await startInspector({
    ...inspectorSources(context),
    port,
    hostname,
    allowRemote: options.inspectorHost !== undefined,
    ...(options.inspectorAllowedHosts ? { allowedHosts: options.inspectorAllowedHosts } : {}),
  });
  const forget = writeInspectorEndpoint(context.host.dataDir, { url: handle.url, token: handle.token });
  return {
    handle: { ...handle, close: () => (forget(), handle.close()) },
    banner: {
      url: handle.openUrl,
      ...(handle.adminTokenFile ? { adminTokenFile: handle.adminTokenFile } : {}),
      ...(handle.warning ? { warning: handle.warning } : {}),
    },
  };
}

/** What the inspector reads here: the host, its metrics and the observability stores. */
type InspectorContext = ObservabilityContext & { metrics: HearthMetrics | undefined; stores: ObservabilityStores; version: string };

function inspectorSources(context: InspectorContext): InspectorCoreOptions {
  return {
    host: context.host,
    version: context.version,
    ...(context.metrics ? { metrics: context.metrics } : {}),
    logStore: context.stores.logStore,
    problemStore: context.stores.problems,
    alertEngine: context.stores.alerts,
    ...(context.stores.tracing ? { spanStore: context.stores.tracing.store } : {}),
  };
}

/**
 * The inspector of a thread that is not the first, under `--threads N`: no listener, it answers what
 * the first thread's inspector forwards (this thread's agents, traces and logs). Its audit log and
 * team-run index are in `stateDir`.
 */
export async function startCliInspectorPeer(context: InspectorContext, stateDir: string): Promise<InspectorPeer> {
  const { startInspectorPeer } = await import("../inspector/index.ts");
  return startInspectorPeer({ ...inspectorSources(context), stateDir });
}
