import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
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
import { STREAMED, type Route, type RouteContext } from "./router.ts";
import { agentDataRoutes } from "./routes/agent-data.ts";
import { agentSqlRoutes } from "./routes/agent-sql.ts";
import { agentTaskRoutes } from "./routes/agent-tasks.ts";
import { agentRoutes } from "./routes/agents.ts";
import { observabilityRoutes } from "./routes/observability.ts";
import { overviewRoutes } from "./routes/overview.ts";
import { sessionRoutes } from "./routes/session.ts";
import { teamRunRoutes } from "./routes/team-runs.ts";
import { workflowRoutes } from "./routes/workflows.ts";
import { Credentials, randomToken } from "./security.ts";
import type { InspectorSources } from "./sources.ts";
import { LiveStream, streamData, watchSources, type RelayedMessage } from "./stream.ts";
import { TeamRunIndex } from "./team-run-index.ts";

/** What the inspector reads and keeps, with or without a listener of its own. */
export interface InspectorCoreOptions extends InspectorSources {
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
  /** Where the audit log and the team-run index live. Default `<dataDir>/inspector`. */
  stateDir?: string;
}

/** The routes and what they read and write: an inspector without its listener. */
export interface InspectorCore {
  routes: Route[];
  sources: InspectorSources;
  stream: LiveStream;
  audit: AuditLog;
  info: RouteContext["info"];
  /** Answers for the whole of `cluster` from now on; returns what runs requests the others forward here. */
  joinCluster(cluster: InspectorCluster): ForwardedDispatch;
  close(): void;
}

/** Builds the inspector's routes over its sources, with the audit log, team-run index, metrics history and live stream they use. */
export function inspectorCore(options: InspectorCoreOptions, credentials: Credentials): InspectorCore {
  const sources: InspectorSources = {
    host: options.host,
    metrics: options.metrics,
    spans: options.spans ?? (options.spanStore ? spanSourceOf(options.spanStore) : undefined),
    logs: options.logs ?? (options.logStore ? logSourceOf(options.logStore) : undefined),
    problems: options.problems ?? (options.problemStore ? problemSourceOf(options.problemStore) : undefined),
    alerts: options.alerts ?? (options.alertEngine ? alertSourceOf(options.alertEngine) : undefined),
    catalog: options.catalog ?? catalogSourceOf(options.host.catalog),
  };
  const stateDir = options.stateDir ?? join(options.host.dataDir, "inspector");
  const audit = new AuditLog(join(stateDir, "audit.sqlite"), options.host.durability);
  const teamRuns = new TeamRunIndex(join(stateDir, "team-runs.sqlite"), { dataDir: options.host.dataDir, durability: options.host.durability });
  teamRuns.listen();
  const metrics = options.metrics ? new MetricsHistory(options.metrics, options.metricsSampleMs) : undefined;
  const stream = new LiveStream({ sources, metrics, ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}) });
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const clusterRef: ClusterRef = { current: undefined };
  const routes: Route[] = clusterAwareRoutes(
    [
      ...sessionRoutes(credentials),
      ...overviewRoutes(metrics, loopDelay, teamRuns),
      ...agentRoutes,
      ...agentSqlRoutes,
      ...agentTaskRoutes,
      ...agentDataRoutes,
      ...workflowRoutes,
      ...teamRunRoutes(teamRuns),
      ...observabilityRoutes(metrics),
      { method: "GET", path: "/api/stream", stream: true, produces: "text/event-stream", handler: (ctx) => (ctx.stream.open(ctx.request, ctx.response, ctx.query), STREAMED) },
    ],
    clusterRef,
  );
  const version = options.version ?? "0.0.0";
  routes.push({ method: "GET", path: "/api/openapi.json", handler: () => ({ json: openApiDocument(routes, version) }) });
  const info = { version, dataDir: options.host.dataDir, startedAt: Date.now() };
  return {
    routes,
    sources,
    stream,
    audit,
    info,
    joinCluster(cluster) {
      clusterRef.current = cluster;
      if (cluster.relay) stream.addRelay(cluster.relay);
      return forwardedDispatch({ routes: [...routes, ...clusterInternalRoutes], sources, stream, audit, info });
    },
    close() {
      loopDelay.disable();
      stream.close();
      metrics?.close();
      teamRuns.close();
      audit.close();
    },
  };
}

/** An inspector without a listener: it answers what another one forwards (see {@link startInspectorPeer}). */
export interface InspectorPeer {
  /** Joins `cluster` (whose inspector forwards here); returns what runs the forwarded requests. */
  joinCluster(cluster: InspectorCluster): ForwardedDispatch;
  /** Sends this host's live events, logs and spans to `deliver`, batched per turn of the event loop, until the returned function is called. */
  watch(deliver: (messages: RelayedMessage[]) => void): () => void;
  close(): void;
}

/**
 * The inspector of a host another host's inspector shows (a thread of `hearth start --threads N`):
 * the same routes over this host's agents, traces and logs, reached only through requests that
 * inspector forwards, under the role the caller has there. It has no listener and no tokens of its own.
 * @example
 * const peer = startInspectorPeer({ host, logStore, stateDir: join(shardDir, "inspector") });
 * const dispatch = peer.joinCluster(view);
 * const answer = await dispatch({ method: "GET", path: "/api/agents/Chat/a/state", role: "viewer", from: "thread-0" });
 */
export function startInspectorPeer(options: InspectorCoreOptions): InspectorPeer {
  // Sign-in happens on the inspector that forwards: these tokens are never handed out.
  const core = inspectorCore(options, new Credentials(randomToken(), randomToken()));
  return {
    joinCluster: (cluster) => core.joinCluster(cluster),
    watch(deliver) {
      let batch: RelayedMessage[] = [];
      const stops = watchSources(core.sources, undefined, (topic, value, className, agent) => {
        if (batch.push({ topic, data: streamData(value), ...(className !== undefined ? { className } : {}), ...(agent !== undefined ? { agent } : {}) }) > 1) return;
        setImmediate(() => {
          const sent = batch;
          batch = [];
          deliver(sent);
        });
      });
      return () => {
        for (const stop of stops) stop();
      };
    },
    close: () => core.close(),
  };
}
