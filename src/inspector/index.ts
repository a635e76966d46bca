/**
 * The inspector: a web UI and HTTP API to look inside a running Hearth host — agents' state, SQL,
 * connections, tasks, workflows, traces, logs, metrics and alerts — on its own loopback listener,
 * behind a token, read-only unless the admin token unlocks changes, every change audited.
 * See docs/inspector/api.md and docs/inspector/security.md.
 * @packageDocumentation
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { AlertEngine } from "../observability/alerts/alert-engine.ts";
import type { LogStore } from "../observability/store/log-store.ts";
import type { ProblemStore } from "../observability/store/problems.ts";
import type { SpanStore } from "../observability/traces/store.ts";
import { alertSourceOf, catalogSourceOf, logSourceOf, problemSourceOf, spanSourceOf } from "./adapters.ts";
import { AuditLog } from "./audit.ts";
import type { ClusterRef, ForwardedDispatch, InspectorCluster } from "./cluster.ts";
import { clusterInternalRoutes } from "./cluster-agents.ts";
import { forwardedDispatch } from "./cluster-dispatch.ts";
import { clusterAwareRoutes } from "./cluster-routes.ts";
import { MetricsHistory } from "./metrics-history.ts";
import { openApiDocument } from "./openapi.ts";
import { STREAMED, type Route } from "./router.ts";
import { agentDataRoutes } from "./routes/agent-data.ts";
import { agentSqlRoutes } from "./routes/agent-sql.ts";
import { agentTaskRoutes } from "./routes/agent-tasks.ts";
import { agentRoutes } from "./routes/agents.ts";
import { observabilityRoutes } from "./routes/observability.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { sessionRoutes } from "./routes/session.ts";
import { teamRunRoutes } from "./routes/team-runs.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { Credentials, isLoopbackHost, randomToken } from "./security.ts";
import { inspectorHandler } from "./server.ts";
import type { InspectorSources } from "./sources.ts";
import { defaultUiDir } from "./static.ts";
import { LiveStream } from "./stream.ts";
import { TeamRunIndex } from "./team-run-index.ts";

export type { InspectorSources, MetricsSource, SpanSource, LogSource, ProblemSource, AlertSource, CatalogSource, SourcePage, SourceQuery } from "./sources.ts";
export { INSPECTOR_LIMITS } from "./limits.ts";
export { AuditLog, type AuditEntry } from "./audit.ts";
export type { Role } from "./security.ts";
export type { InspectorCluster, InspectorTarget, ForwardedRequest, ForwardedAnswer, ForwardedDispatch, ClusterAgentRow, ClusterNodeInfo } from "./cluster.ts";

/** Options of {@link startInspector}. */
export interface InspectorOptions extends InspectorSources {
  /** Port to listen on; 0 (default) picks a free one. `hearth dev` uses the server's port + 1. */
  port?: number;
  /** Address to listen on. Default `127.0.0.1`. Anything not loopback needs `allowRemote: true`. */
  hostname?: string;
  /** Allow a non-loopback `hostname` (the inspector then warns loudly: see the handle's `warning`). */
  allowRemote?: boolean;
  /** Host names besides loopback ones the `Host` header may carry (a reverse proxy's name). */
  allowedHosts?: readonly string[];
  /** The viewer token. Default: `HEARTH_INSPECTOR_TOKEN`, else random per start. */
  token?: string;
  /** The admin token. Default: `HEARTH_INSPECTOR_ADMIN_TOKEN`, else the one in `<dataDir>/inspector/admin-token`, else random (and written there, mode 0600). */
  adminToken?: string;
  /** Environment to read tokens from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Where the prebuilt UI is. Default: dist/inspector next to this module. */
  uiDir?: string;
  /** Reported by `GET /api/session`. */
  version?: string;
  /** Milliseconds between live-stream heartbeats. Default 15,000. */
  heartbeatMs?: number;
  /** Milliseconds between metric samples (history and the stream's `metrics` topic). Default 10,000. */
  metricsSampleMs?: number;
  /** The span store (traces section, `spans` topic); `spans` wins when both are given. */
  spanStore?: SpanStore;
  /** The log store (logs section, `logs` topic); `logs` wins when both are given. */
  logStore?: LogStore;
  /** The problem store (the overview's problems); `problems` wins when both are given. */
  problemStore?: ProblemStore;
  /** The alert engine (alerts section); `alerts` wins when both are given. */
  alertEngine?: AlertEngine;
}

/** A running inspector. */
export interface InspectorHandle {
  /** Base URL, e.g. `http://127.0.0.1:8788/`. */
  url: string;
  /** The URL to open: the base URL with `#token=<viewer token>` (the fragment never reaches a server). */
  openUrl: string;
  port: number;
  token: string;
  adminToken: string;
  /** Where the admin token is stored, when it was generated or read from there. */
  adminTokenFile: string | undefined;
  /** Set when listening beyond loopback: print it loudly. */
  warning: string | undefined;
  /**
   * Makes this inspector show the whole cluster `cluster` belongs to (docs/inspector/cluster.md).
   * Returns what runs requests other nodes forward here (wire it to the cluster's internal route).
   * @example
   * const dispatch = inspector.joinCluster(view);
   */
  joinCluster(cluster: InspectorCluster): ForwardedDispatch;
  close(): Promise<void>;
}

/** Minimum length of a token given by option or environment. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Starts the inspector on its own HTTP listener (127.0.0.1 by default).
 * @example
 * const inspector = await startInspector({ host, port: 8788, metrics });
 * console.log(`Inspector: ${inspector.openUrl}`);
 * await inspector.close();
 */
export async function startInspector(options: InspectorOptions): Promise<InspectorHandle> {
  const hostname = options.hostname ?? "127.0.0.1";
  let warning: string | undefined;
  if (!isLoopbackHost(hostname)) {
    if (!options.allowRemote) {
      throw new Error(`The inspector refuses to listen on ${hostname}: it is not a loopback address. Pass allowRemote: true (--inspector-host) to expose it beyond this machine.`);
    }
    warning = `WARNING: the inspector listens on ${hostname}, beyond this machine. Anyone who can reach it and has the token can read every agent's data; keep the tokens secret and prefer a reverse proxy with TLS.`;
  }
  const env = options.env ?? process.env;
  const token = checkedToken(options.token ?? env.HEARTH_INSPECTOR_TOKEN, "the viewer token (HEARTH_INSPECTOR_TOKEN)") ?? randomToken();
  const admin = adminTokenOf(options, env, options.host.dataDir);
  if (token === admin.token) throw new Error("The viewer and admin tokens of the inspector must differ");
  const credentials = new Credentials(token, admin.token);
  const sources: InspectorSources = {
    host: options.host,
    metrics: options.metrics,
    spans: options.spans ?? (options.spanStore ? spanSourceOf(options.spanStore) : undefined),
    logs: options.logs ?? (options.logStore ? logSourceOf(options.logStore) : undefined),
    problems: options.problems ?? (options.problemStore ? problemSourceOf(options.problemStore) : undefined),
    alerts: options.alerts ?? (options.alertEngine ? alertSourceOf(options.alertEngine) : undefined),
    catalog: options.catalog ?? catalogSourceOf(options.host.catalog),
  };
  const audit = new AuditLog(join(options.host.dataDir, "inspector", "audit.sqlite"), options.host.durability);
  const teamRuns = new TeamRunIndex(join(options.host.dataDir, "inspector", "team-runs.sqlite"), { dataDir: options.host.dataDir, durability: options.host.durability });
  teamRuns.listen();
  const metrics = options.metrics ? new MetricsHistory(options.metrics, options.metricsSampleMs) : undefined;
  const stream = new LiveStream({ sources, metrics, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const clusterRef: ClusterRef = { current: undefined };
  const routes: Route[] = clusterAwareRoutes([
    ...sessionRoutes(credentials),
    ...overviewRoutes(metrics, loopDelay, teamRuns),
    ...agentRoutes,
    ...agentSqlRoutes,
    ...agentTaskRoutes,
    ...agentDataRoutes,
    ...workflowRoutes,
    ...teamRunRoutes(teamRuns),
    ...observabilityRoutes(metrics),
    { method: "GET", path: "/api/stream", stream: true, handler: (ctx) => (ctx.stream.open(ctx.request, ctx.response, ctx.query), STREAMED) },
  ], clusterRef);
  const version = options.version ?? "0.0.0";
  routes.push({ method: "GET", path: "/api/openapi.json", handler: () => ({ json: openApiDocument(routes, version) }) });
  const info = { version, dataDir: options.host.dataDir, startedAt: Date.now() };
  const allowedHosts = new Set((options.allowedHosts ?? []).map((name) => name.toLowerCase()));
  if (!isLoopbackHost(hostname)) allowedHosts.add(hostname.toLowerCase());
  const server = createServer(
    inspectorHandler({
      routes,
      credentials,
      allowedHosts,
      sources,
      stream,
      audit,
      uiDir: options.uiDir ?? defaultUiDir(),
      info,
    }),
  );
  server.requestTimeout = 0; // the live stream stays open
  try {
    await listen(server, options.port ?? 0, hostname);
  } catch (error) {
    loopDelay.disable();
    stream.close();
    metrics?.close();
    teamRuns.close();
    audit.close();
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
  let closed: Promise<void> | undefined;
  return {
    url,
    openUrl: `${url}#token=${token}`,
    port,
    token,
    adminToken: admin.token,
    adminTokenFile: admin.file,
    warning,
    joinCluster: (cluster) => {
      clusterRef.current = cluster;
      return forwardedDispatch({ routes: [...routes, ...clusterInternalRoutes], sources, stream, audit, info });
    },
    close: () =>
      (closed ??= (async () => {
        loopDelay.disable();
        stream.close();
        metrics?.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        teamRuns.close();
        audit.close();
      })()),
  };
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function checkedToken(token: string | undefined, what: string): string | undefined {
  if (token === undefined || token === "") return undefined;
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) throw new Error(`${what} must be at least ${MIN_TOKEN_LENGTH} characters without spaces`);
  return token;
}

function adminTokenOf(options: InspectorOptions, env: Record<string, string | undefined>, dataDir: string): { token: string; file: string | undefined } {
  const given = checkedToken(options.adminToken ?? env.HEARTH_INSPECTOR_ADMIN_TOKEN, "the admin token (HEARTH_INSPECTOR_ADMIN_TOKEN)");
  if (given) return { token: given, file: undefined };
  const file = join(dataDir, "inspector", "admin-token");
  if (existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= MIN_TOKEN_LENGTH) return { token: stored, file };
  }
  const token = randomToken();
  mkdirSync(join(dataDir, "inspector"), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + "\n", { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, file };
}
