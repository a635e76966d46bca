import { join } from "node:path";
import type { ClusterNode } from "../cluster/node.ts";
import type { PostgresSecretStore } from "../cluster/bindings/index.ts";
import type * as ClusterParts from "./cluster-parts.ts";
import type { Host } from "../platform/host.ts";
import { startEmailService, type EmailService } from "../email/serve-email.ts";
import { runWithContext } from "../worker/execution-context.ts";
import { CLOSE_GRACE_MS, DEV_CLOSE_GRACE_MS, newExecutionContext, serve, type HearthServer, type WorkerFetch } from "../gateway/serve.ts";
import { traceHttpRequest } from "../observability/traces/hooks.ts";
import { threadBindings } from "../shards/bindings/index.ts";
import { threadInspectorView } from "../shards/inspector-view.ts";
import { addShardMetrics } from "../shards/metrics.ts";
import { prepareShardLayout, shardStateDir } from "../shards/layout.ts";
import { systemClock } from "../time/clock.ts";
import type { Shard } from "../shards/shard.ts";
import type { RunOptions } from "./args.ts";
import type { BannerInfo } from "./banner.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { CliError } from "./errors.ts";
import { isSupervised } from "./ipc.ts";
import { printWarning } from "./output.ts";
import { runInOrder } from "./in-order.ts";
import { startCliInspector, startCliInspectorPeer, startCliObservability } from "./observability.ts";
import { captureStartupConsole, endStartupConsole } from "./startup-console.ts";
import { readVersion } from "./version.ts";
import { resolveProject } from "./project.ts";
import { openEntryRuntime, openWranglerRuntime } from "./runtime.ts";
import { defaultOpenConnectionCap, followDescriptorLimit, setOpenConnectionCap, shareCrowdedThreshold } from "../storage/parking.ts";
import { droppingUnreturnedSockets } from "../websocket/handed-out.ts";

/** The shard a server is, when agents are spread over threads (see threads.ts). */
export interface ServerShard {
  shard: Shard;
  threads: number;
  /** The first thread runs the inspector: this thread answers what it forwards (its agents, traces, logs). */
  inspectorPeer?: boolean;
  /** Settles when the other threads stopped (see RuntimeShard.bindingsOutlive). */
  bindingsOutlive?: () => Promise<void>;
}

/**
 * What other shards' requests get on this one: the worker's fetch, continuing the request id and trace
 * they send. `listener()` is the address the threads' servers share (what the MCP transport's
 * DNS-rebinding guard checks a request's Host against).
 */
function peerFetch(fetch: WorkerFetch, env: Record<string, unknown>, listener: () => string): (request: Request) => Promise<Response> {
  return async (request) => {
    // The request id and trace the handing thread sent along continue here.
    return traceHttpRequest(request, () => droppingUnreturnedSockets(() => fetch(request, env, newExecutionContext({ listener: listener() }))));
  };
}

/** A listening server and the host behind it. */
export interface RunningServer {
  banner: BannerInfo;
  /** Stops accepting requests, closes connections, then closes the host (flushing agent storage). */
  stop(): Promise<void>;
  /**
   * The first half of {@link stop}: stops accepting requests and closes connections, the host still
   * running (another thread's requests handed here are still answered). `stop` after it does the rest.
   */
  stopServing?(): Promise<void>;
}

/**
 * Loads vars and the entry, creates the host and listens.
 *
 * @throws {CliError} when the entry cannot be loaded, serves nothing, or the port cannot be bound.
 */
export async function startServer(options: RunOptions, cwd: string, sharding?: ServerShard): Promise<RunningServer> {
  // A thread's server too: its runtime's first lines are log records like the rest (a no-op where runStart did it).
  const capturing = captureStartupConsole(options, options.command === "dev" || isSupervised());
  try {
    return await openServer(options, cwd, sharding);
  } catch (error) {
    // The console is the process's again, should it go on without this server.
    if (capturing) endStartupConsole();
    throw error;
  }
}

async function openServer(options: RunOptions, cwd: string, sharding: ServerShard | undefined): Promise<RunningServer> {
  const project = await resolveProject(options, cwd);
  // The data directory is this process's before anything in it is touched (threads.ts took it for threads).
  const release = sharding ? undefined : lockDataDir(project.dataDir);
  // A data directory last served by several threads: its single-thread index and catalog are stale.
  if (!sharding) prepareShardLayout(project.dataDir, 1);
  // The descriptor limit is the process's: its threads share the connections it allows (a set cap is
  // divided; the default one follows what the process's descriptors leave, which each thread sees).
  const threads = sharding?.threads ?? 1;
  const maxOpen = project.settings?.maxOpenConnections;
  if (maxOpen !== undefined) setOpenConnectionCap(Math.max(1, Math.floor(maxOpen / threads)));
  else followDescriptorLimit(Math.floor(defaultOpenConnectionCap() / threads));
  shareCrowdedThreshold(threads);
  const settings = project.options;
  const dev = options.command === "dev" || isSupervised();
  const clustered = options.cluster && !sharding ? await joinCluster(options.cluster, project.dataDir) : undefined;
  const cluster = clustered?.node;
  const madeHost: { current?: Host } = {}; // the host is made after its placement (a cluster's, or a thread's bindings)
  // The shared bindings (KV, cron claims) use a small pool of their own, so their traffic cannot starve
  // the node's commits and leases; it connects only if the project has such bindings.
  const bindingsPool = clustered?.parts.createClusterPool({ connectionString: clustered.options.connectionString, max: 5, applicationName: `hearth-${clustered.node.nodeId}-bindings` });
  // The cluster's secrets, loaded before the worker (its env strings) and kept fresh for its bindings.
  // Refused here when the cluster holds secrets and HEARTH_SECRET_KEY is missing or another key.
  let secrets: PostgresSecretStore | undefined;
  if (clustered && bindingsPool && project.config) {
    try {
      secrets = await clustered.parts.openPostgresSecretStore(bindingsPool, { envName: project.config.envName, keyEnv: process.env.HEARTH_SECRET_KEY });
    } catch (error) {
      await bindingsPool.end();
      await cluster?.close();
      throw new CliError("startup", (error as Error).message, { cause: error });
    }
  }
  const shard = sharding
    ? {
        placement: sharding.shard,
        stateDir: shardStateDir(project.dataDir, sharding.shard.index, sharding.threads),
        mode: `--threads ${sharding.threads}`,
        ...(sharding.bindingsOutlive ? { bindingsOutlive: sharding.bindingsOutlive } : {}),
        // KV, D1, rate limits, queues and workflows are the first thread's, reached from the others.
        ...threadBindings(sharding.shard, { dataDir: project.dataDir, durability: project.options.durability ?? "relaxed", clock: systemClock }, () => madeHost.current),
      }
    : clustered
      ? {
          ...clustered.node.hostOptions(() => madeHost.current!),
          stateDir: project.dataDir,
          mode: "--cluster",
          cronGate: clustered.parts.clusterCronGate({ pool: bindingsPool!, nodeId: clustered.node.nodeId }),
          kvNamespace: (id: string) => clustered.parts.openPostgresKvNamespace(bindingsPool!, id),
          queueStore: () => clustered.parts.openPostgresQueueStore(bindingsPool!),
          ...(secrets ? { secrets } : {}),
          d1Database: clustered.parts.clusterD1(clustered.node, { dataDir: project.dataDir }),
          workflows: () => clustered.parts.clusterWorkflows(clustered.node, { stateDir: project.dataDir, host: () => madeHost.current }),
        }
      : undefined;
  let runtime: Awaited<ReturnType<typeof openEntryRuntime>>;
  try {
    runtime = project.config ? await openWranglerRuntime(project, cwd, dev, shard) : await openEntryRuntime(project, cwd, dev, shard);
  } catch (error) {
    await secrets?.close();
    await bindingsPool?.end();
    await cluster?.close();
    throw error;
  }
  const { host, entry } = runtime;
  madeHost.current = host;
  // The config's warnings are the same in every thread: the first thread (or the only one) prints them.
  if (!sharding || sharding.shard.index === 0) for (const warning of runtime.warnings) printWarning(warning);
  let observability: ReturnType<typeof startCliObservability>;
  try {
    observability = startCliObservability(options, {
      dev,
      host,
      ...(sharding && sharding.shard.index > 0 ? { dir: join(shardStateDir(project.dataDir, sharding.shard.index, sharding.threads), "observability") } : {}),
      ...(runtime.queueDepths ? { queueDepths: runtime.queueDepths } : {}),
      ...(runtime.secretValues ? { secretValues: runtime.secretValues } : {}),
      ...(project.settings?.alerts ? { alerts: project.settings.alerts } : {}),
    });
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }

  const emailHandler = entry.email;
  let mail: EmailService;
  try {
    mail = await startEmailService({
      env: host.env,
      // `waitUntil` from cloudflare:workers reaches an email handler's context, as a fetch handler's.
      handler: emailHandler && ((message, env, ctx) => runWithContext(ctx, () => emailHandler(message, env, ctx))),
      fetch: runtime.fetch,
      smtpPort: settings.smtpPort,
      hostname: settings.host,
      vars: process.env,
      // A wrangler project's env holds only what its config declares.
      bindEmail: project.config === undefined,
      waitUntil: runtime.waitUntil,
    });
  } catch (error) {
    await runtime.close().catch(() => undefined);
    await observability.close();
    throw listenError(error, { ...settings, port: settings.smtpPort ?? settings.port }, "--smtp-port");
  }
  for (const warning of mail.warnings) printWarning(warning);

  // A cluster node's inspector shows the whole cluster: other nodes' inspectors run requests here over an internal route.
  const inspectorView = clustered?.parts.clusterInspectorView(clustered.node, host);
  const workerFetch =
    clustered && inspectorView
      ? clustered.parts.withInspectorRoute(clustered.node.wrapFetch(mail.fetch ?? runtime.fetch), { key: clustered.node.inspectorAccess.key, answer: (request) => inspectorView.answer(request) })
      : (mail.fetch ?? runtime.fetch);
  const metrics = observability.metrics;
  // The first thread's inspector shows every thread: each is one of its "nodes".
  const threadView = sharding ? threadInspectorView(sharding.shard, host) : undefined;
  // Every thread listens on the same address (reusePort); its URL is known once this one listens.
  let listenUrl = `http://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${settings.port}`;
  if (sharding) sharding.shard.attach(host, peerFetch(workerFetch, host.env, () => listenUrl), metrics && (() => metrics.expose()));
  if (sharding && metrics) addShardMetrics(metrics.registry, sharding.shard);
  let server: HearthServer;
  try {
    server = await serve({
      host,
      port: settings.port,
      hostname: settings.host,
      fetch: sharding ? sharding.shard.route(workerFetch) : workerFetch,
      metrics: metrics ?? false,
      // Every thread answers /metrics with all threads' metrics, labelled by thread.
      ...(sharding && metrics ? { exposeMetrics: () => sharding.shard.gatherMetrics() } : {}),
      // Every cluster node answers /metrics with the whole cluster's, labelled by node (?scope=node: its own).
      ...(cluster && metrics ? { exposeMetrics: cluster.metrics(() => metrics.expose()) } : {}),
      // `hearth dev` shows an exception's message in the 500 it causes (as wrangler dev does); `hearth start` never does.
      exposeErrors: dev,
      ...(sharding ? { reusePort: true, handOff: sharding.shard.handOff({ exposeErrors: dev }) } : {}),
    });
  } catch (error) {
    await mail.close().catch(() => undefined);
    await runtime.close().catch(() => undefined);
    await observability.close();
    throw listenError(error, settings);
  }

  listenUrl = server.url;
  // Requests the other threads' servers hand over are answered by this one, as its own.
  sharding?.shard.answerWith(server.url, server.answer, server.adopt);

  let inspector: Awaited<ReturnType<typeof startCliInspector>>;
  const serverPort = Number(new URL(server.url).port);
  try {
    // The settings as resolved: a port from hearth.config.ts or wrangler's `dev` counts as --port.
    inspector = await startCliInspector(settings, {
      dev,
      host,
      serverPort,
      metrics: observability.metrics,
      stores: observability.stores,
      version: readVersion(),
    });
  } catch (error) {
    await runInOrder([() => server.close(), () => mail.close(), () => runtime.close(), () => observability.close()]).catch(() => undefined);
    throw inspectorError(error, settings, serverPort);
  }

  if (inspector && inspectorView) inspectorView.attach(inspector.handle.joinCluster(inspectorView));
  if (inspector && threadView) threadView.attach(inspector.handle.joinCluster(threadView));
  const peer =
    !inspector && sharding?.inspectorPeer
      ? await startCliInspectorPeer({ dev, host, metrics, stores: observability.stores, version: readVersion() }, join(shardStateDir(project.dataDir, sharding.shard.index, sharding.threads), "inspector"))
      : undefined;
  if (peer && threadView) threadView.attach(peer.joinCluster(threadView), (deliver) => peer.watch(deliver));
  runtime.start();
  let serving: Promise<void> | undefined;
  const stopServing = (): Promise<void> =>
    // Requests in progress are still answered (within CLOSE_GRACE_MS; under dev, whose reloads must be
    // quick and which kills a server after 8 s, DEV_CLOSE_GRACE_MS); the host's drain then ends the rest.
    // With several threads, every thread's host and links outlive every thread's server (threads.ts
    // stopAll): a request here that another thread answers is answered within the same grace.
    (serving ??= runInOrder([
      () => inspector?.handle.close(),
      () => peer?.close(),
      () => cluster?.drain(),
      () => server.close({ graceMs: dev ? DEV_CLOSE_GRACE_MS : CLOSE_GRACE_MS }),
    ]));
  return {
    banner: {
      command: options.command,
      entry: entry.display,
      agents: Object.keys(entry.agents),
      durableObjects: Object.keys(entry.durableObjects),
      workflows: Object.keys(entry.workflows),
      hasFetch: entry.fetch !== undefined,
      ...(entry.mcp ? { mcp: entry.mcp } : {}),
      url: server.url,
      ...(options.metrics !== false ? { metrics: `${server.url}/metrics` } : {}),
      ...(inspector ? { inspector: inspector.banner } : {}),
      ...(mail.smtp || mail.webhookPath || mail.outbound
        ? {
            email: {
              ...(mail.smtp ? { smtp: mail.smtp.url } : {}),
              ...(mail.webhookPath ? { webhook: server.url + mail.webhookPath } : {}),
              ...(mail.outbound ? { outbound: mail.outbound } : {}),
            },
          }
        : {}),
      dataDir: project.dataDir,
      durability: host.durability,
      ...(clustered ? { cluster: { nodeId: clustered.node.nodeId, advertise: clustered.options.advertise, database: clustered.parts.redacted(clustered.options.connectionString) } } : {}),
      ...runtime.banner,
      pendingTasks: host.pendingTasks,
    },
    // A cluster node first hands its agents over while still listening (new requests are turned away
    // with a retryable 503, peers claim the agents at once), and leaves the cluster last.
    stopServing,
    stop: () =>
      runInOrder([
        stopServing,
        () => mail.close(),
        () => runtime.close(),
        () => observability.close(),
        () => secrets?.close(),
        () => closeBindingsPool(bindingsPool, clustered?.parts),
        () => cluster?.close(),
        () => release?.(),
      ]),
  };
}

/** KV writes still on their way are committed (or fail) before the pool goes. */
async function closeBindingsPool(pool: ReturnType<typeof ClusterParts.createClusterPool> | undefined, parts: typeof ClusterParts | undefined): Promise<void> {
  if (pool === undefined || parts === undefined) return;
  await parts.settlePostgresKvWrites();
  await pool.end();
}

/** A node joined to the cluster, with the cluster's wiring: that code (and the Postgres client) loads only for --cluster. */
interface Clustered {
  node: ClusterNode;
  parts: typeof ClusterParts;
  options: NonNullable<RunOptions["cluster"]>;
}

async function joinCluster(options: NonNullable<RunOptions["cluster"]>, dataDir: string): Promise<Clustered> {
  const parts = await import("./cluster-parts.ts");
  try {
    return { node: await parts.ClusterNode.start(options, dataDir), parts, options };
  } catch (error) {
    throw new CliError("startup", (error as Error).message, { cause: error });
  }
}

function inspectorError(error: unknown, options: RunOptions, serverPort: number): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const port = options.inspectorPort ?? serverPort + 1;
  if (code === "EADDRINUSE" && port === serverPort) {
    return new CliError("startup", `The inspector's port and the server's must differ: both are ${port}. Pick another with --inspector-port <n>, or turn it off with --no-inspector.`, { cause: error });
  }
  if (code === "EADDRINUSE") {
    return new CliError("port-in-use", `The inspector's port ${port} is already in use. Pick another with --inspector-port <n>, or turn it off with --no-inspector.`, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new CliError("startup", `Could not start the inspector: ${detail}`, { cause: error });
}

function listenError(error: unknown, options: RunOptions, flag = "--port"): CliError {
  const code = (error as { code?: unknown } | null)?.code;
  const where = `${options.host}:${options.port}`;
  if (error instanceof Error && error.name === "EmailError") {
    return new CliError("startup", `Mail is misconfigured: ${error.message}`, { cause: error });
  }
  if (code === "EADDRINUSE") {
    return new CliError(
      "port-in-use",
      `Port ${options.port} is already in use on ${options.host}. Stop the other server or pick another port with ${flag} <n> (${flag} 0 picks a free one).`,
      { cause: error },
    );
  }
  if (code === "EACCES") {
    return new CliError("startup", `No permission to listen on ${where}; try a port above 1023 with --port <n>.`, {
      cause: error,
    });
  }
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
    return new CliError("startup", `Cannot listen on ${where}: ${options.host} is not an address of this machine (--host).`, {
      cause: error,
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new CliError("startup", `Could not listen on ${where}: ${detail}`, { cause: error });
}
