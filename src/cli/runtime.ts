import { relative } from "node:path";
import { planMigrations } from "../worker/migrations.ts";
import { bindClasses, type BoundClasses } from "../worker/classes.ts";
import { createWorkerEvents, type WorkerEvents, type WorkerEventsOptions } from "../worker/events.ts";
import { composeWorkerFetch } from "../worker/fetch.ts";
import { openPlatform, type Platform, type PlatformOptions } from "../worker/platform.ts";
import { lateBinding, setWorkerEnv } from "../worker/worker-env.ts";
import { listenerOf, newExecutionContext, type WorkerFetch } from "../gateway/serve.ts";
import { trackedContext } from "../worker/execution-context.ts";
import { Host, type HostOptions } from "../platform/host.ts";
import type { HostPlacement } from "../host/placement.ts";
import type { WorkflowPlacement } from "../workflow/hosted-workflows.ts";
import { systemClock } from "../time/clock.ts";
import { waitAtMost } from "../time/wait-at-most.ts";
import { SMTP_URL_VAR } from "../email/outbound.ts";
import type { BannerInfo } from "./banner.ts";
import { exportVars, loadVarFiles } from "./env-files.ts";
import { loadEntry, type EntryModule } from "./entry.ts";
import { CliError } from "./errors.ts";
import { runInOrder } from "./in-order.ts";
import type { Project } from "./project.ts";
import { loadProjectVars } from "./project-vars.ts";
import type { SecretStore } from "../secrets/index.ts";

/** A host with the worker around it, ready to be served. */
export interface Runtime {
  host: Host;
  entry: EntryModule;
  /** What the HTTP server calls for every request. */
  fetch: WorkerFetch;
  /** What the start-up banner adds for a wrangler project. */
  banner: Partial<BannerInfo>;
  warnings: string[];
  /** The project's secret values, for the logs to scrub (none without a wrangler config). */
  secretValues?: string[];
  /** Backlogs of the project's queues, for metrics (none without queues). */
  queueDepths?: () => Iterable<{ queue: string; messages: number; bytes: number }>;
  /** Where handlers' `ctx.waitUntil` work goes: `close` waits for it (a few seconds at most) before the agents close. */
  waitUntil: (promise: Promise<unknown>) => void;
  /** Starts queue consumers and cron triggers: called once the server listens. */
  start(): void;
  close(): Promise<void>;
}

/** What a host needs to be one shard of several (see src/shards): its placement and its own state directory. */
export interface RuntimeShard {
  placement: HostPlacement;
  stateDir: string;
  /** The flag that spread the agents, for messages: `--threads 4`, `--cluster`. */
  mode: string;
  /** Where agent databases replicate their commits (a cluster node's log). */
  replication?: HostOptions["replication"];
  /** Which process runs each cron trigger's scheduled time (a cluster): crons are then shared. */
  cronGate?: WorkerEventsOptions["cronGate"];
  /** Where KV namespaces live when not in local files (a cluster's Postgres): KV is then shared. */
  kvNamespace?: PlatformOptions["kvNamespace"];
  /** Where D1 databases are served when not from local files (a cluster's owning node): D1 is then shared. */
  d1Database?: PlatformOptions["d1Database"];
  /** Where the queues live when not in a local file (a cluster's Postgres): queues are then shared. */
  queueStore?: PlatformOptions["queueStore"];
  /** Where the rate limiters count when not in a local file (threads: the first thread counts for all). */
  rateLimits?: PlatformOptions["rateLimits"];
  /** Set under threads: true when queue consumers and cron triggers run in another thread of this process (none here). */
  eventsElsewhere?: boolean;
  /** The environment's secrets when not in the data directory (a cluster's Postgres): secrets are then shared. */
  secrets?: SecretStore;
  /** Where workflow instances run when not in this host (the cluster's nodes holding their partitions): workflows are then shared. */
  workflows?: () => WorkflowPlacement | undefined;
  /** Settles when the other threads stopped: the bindings this one serves them (KV, D1, queues, workflows) close after it. */
  bindingsOutlive?: () => Promise<void>;
}

function shardOptions(shard: RuntimeShard | undefined, workflows: Record<string, unknown>): Partial<Pick<HostOptions, "placement" | "stateDir" | "replication" | "workflowPlacement">> {
  if (!shard) return {};
  // The shared workflows' placement only where there are workflows (a cluster's claims their instances).
  const workflowPlacement = shard.workflows && Object.keys(workflows).length > 0 ? shard.workflows() : undefined;
  return { placement: shard.placement, stateDir: shard.stateDir, ...(shard.replication ? { replication: shard.replication } : {}), ...(workflowPlacement ? { workflowPlacement } : {}) };
}

/**
 * Bindings whose state lives in one SQLite file that one thread opens (exclusive locking), or whose
 * work must run once per process: not shard-aware yet, so a project using one runs on one thread.
 */
function unshardable(config: NonNullable<Project["config"]> | undefined, workflows: readonly string[], shard: RuntimeShard): string[] {
  const uses: string[] = [];
  if (workflows.length > 0 && !shard.workflows) uses.push(`workflows (${workflows.join(", ")})`);
  if (!config) return uses;
  if (config.kvNamespaces.length > 0 && !shard.kvNamespace) uses.push("KV");
  if (config.d1Databases.length > 0 && !shard.d1Database) uses.push("D1");
  // Rate limits count per process when each has its own data directory (cluster nodes): Cloudflare's
  // limits count per location, approximately, the same way.
  if (config.rateLimits.length > 0 && shard.mode !== "--cluster" && !shard.rateLimits) uses.push("rate limits");
  if ((config.queueProducers.length > 0 || config.queueConsumers.length > 0) && !shard.queueStore) uses.push("queues");
  // Crons run once per process: gated between processes (a cluster), or on one of its threads (eventsElsewhere says which).
  if (config.crons.length > 0 && !shard.cronGate && shard.eventsElsewhere === undefined) uses.push("cron triggers");
  return uses;
}

/** Fails with a clear message when a spread runtime (threads, cluster nodes) would need a binding it does not share yet. */
export function refuseUnshardable(config: NonNullable<Project["config"]> | undefined, workflows: readonly string[], shard: RuntimeShard): void {
  const { mode } = shard;
  const uses = unshardable(config, workflows, shard);
  if (uses.length === 0) return;
  const instead = mode.startsWith("--threads") ? "Run it with --threads 1 (the default)." : "Run it as one node (without --cluster).";
  throw new CliError("config", `${mode} cannot serve this project yet: it uses ${uses.join(", ")}, whose state is not shared between ${mode.startsWith("--threads") ? "threads" : "nodes"} yet. ${instead}`);
}

/** Host settings from hearth.config.ts and the command line; `hearth dev` shows exceptions' messages to clients (a failed onConnect's close reason). */
function hostSettings(project: Project, dev: boolean): Pick<HostOptions, "durability" | "hibernateAfterMs" | "maxLiveAgents" | "maxMessageBytes" | "exposeErrors"> {
  const { settings, options } = project;
  return {
    exposeErrors: dev,
    ...(options.durability !== undefined ? { durability: options.durability } : {}),
    ...(settings?.hibernateAfterMs !== undefined ? { hibernateAfterMs: settings.hibernateAfterMs } : {}),
    ...(settings?.maxLiveAgents !== undefined ? { maxLiveAgents: settings.maxLiveAgents } : {}),
    ...(settings?.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
  };
}

function newHost(options: HostOptions): Host {
  try {
    return new Host(options);
  } catch (error) {
    throw new CliError("startup", `Could not create the host: ${(error as Error).message}`, { cause: error });
  }
}

/** An entry given on its own: every exported Agent is served; vars from .env / .dev.vars. */
export async function openEntryRuntime(project: Project, cwd: string, dev: boolean, shard?: RuntimeShard): Promise<Runtime> {
  if (!project.entry) throw new Error("openEntryRuntime needs an entry");
  let vars: Record<string, string>;
  try {
    vars = loadVarFiles(cwd, process.env).vars;
  } catch (error) {
    throw new CliError("startup", (error as Error).message, { cause: error });
  }
  exportVars(vars, process.env);
  setWorkerEnv({ ...vars }); // module scope of the entry reads `env` from cloudflare:workers as it is imported
  const entry = await loadEntry(project.entry.path, cwd);
  if (shard) refuseUnshardable(undefined, Object.keys(entry.workflows), shard);
  const host = newHost({ dataDir: project.dataDir, agents: entry.agents, durableObjects: entry.durableObjects, workflows: entry.workflows, vars, ...hostSettings(project, dev), ...shardOptions(shard, entry.workflows) });
  setWorkerEnv(host.env, true);
  const { fetch } = composeWorkerFetch({ fetch: entry.fetch, assets: () => undefined, cron: undefined });
  const lingering = trackedContext({ recordErrors: false });
  const track = lingering.ctx.waitUntil;
  return {
    host,
    entry,
    fetch: (request, env, given) => {
      return fetch(request, env, newExecutionContext({ track, props: given.props, listener: listenerOf(given) }));
    },
    waitUntil: track,
    banner: {},
    warnings: [...entry.warnings],
    start: () => {},
    // Before the agents close: waitUntil work may still call them.
    close: () => runInOrder([() => waitAtMost(lingering.settled(), WAIT_UNTIL_GRACE_MS), () => host.close()]),
  };
}

/**
 * A wrangler project: vars and secrets, platform bindings (built before the entry is imported, so its
 * module scope can use `env` from cloudflare:workers), migrations, the bound classes, the host, then
 * queue consumers and cron triggers.
 */
export async function openWranglerRuntime(project: Project, cwd: string, dev: boolean, shard?: RuntimeShard): Promise<Runtime> {
  const config = project.config;
  if (!config) throw new Error("openWranglerRuntime needs a wrangler config");
  if (shard) refuseUnshardable(config, config.workflows.map((workflow) => workflow.binding), shard);
  const warnings = [...config.warnings];
  const startup = (error: unknown, kind: "startup" | "config" = "startup"): CliError =>
    error instanceof CliError ? error : new CliError(kind, (error as Error).message, { cause: error });

  let loaded;
  try {
    loaded = loadProjectVars(config, project.options.dataDir, process.env, shard?.secrets);
  } catch (error) {
    throw startup(error, "config");
  }
  warnings.push(...loaded.warnings);
  exportVars(Object.fromEntries(Object.entries(loaded.vars).filter((entry): entry is [string, string] => typeof entry[1] === "string")), process.env);

  const durability = project.options.durability ?? "relaxed";
  let forward: (request: Request) => Promise<Response> = () => Promise.resolve(new Response("Starting", { status: 503 }));
  let platform: Platform;
  try {
    platform = openPlatform({
      config,
      dataDir: project.dataDir,
      durability,
      clock: systemClock,
      secrets: loaded.secrets,
      smtpUrl: process.env[SMTP_URL_VAR],
      processEnv: process.env,
      worker: (request) => forward(request),
      ...(shard?.kvNamespace ? { kvNamespace: shard.kvNamespace } : {}),
      ...(shard?.d1Database ? { d1Database: shard.d1Database } : {}),
      ...(shard?.queueStore ? { queueStore: shard.queueStore } : {}),
      ...(shard?.rateLimits ? { rateLimits: shard.rateLimits } : {}),
    });
  } catch (error) {
    // A missing assets directory or an unusable name is fixed by editing files (dev waits for that);
    // a data directory locked by another process is not.
    throw startup(error, /locked by another process/.test((error as Error).message) ? "startup" : "config");
  }
  warnings.push(...platform.warnings, ...(platform.assets?.warnings ?? []));
  let host: Host | undefined;
  let events: WorkerEvents | undefined;
  try {
    // The class bindings exist once the host does; at module scope they are stand-ins that reach it then.
    const late = [...config.durableObjects.filter((binding) => binding.scriptName === undefined).map((binding) => binding.name), ...config.workflows.map((workflow) => workflow.binding)];
    setWorkerEnv({ ...loaded.vars, ...platform.bindings, ...Object.fromEntries(late.map((name) => [name, lateBinding(name, () => host?.env[name])])) });
    const entry = project.entry ? await loadEntry(project.entry.path, cwd, { moduleRules: config.moduleRules }) : assetsOnlyEntry(config, cwd);
    warnings.push(...entry.warnings.filter((warning) => !warning.includes("exports no Agent classes")));
    // Loading the config already refused a binding to a class the migrations leave deleted or renamed away.
    const migrations = planMigrations(project.dataDir, config.migrations, config.path);
    warnings.push(...migrations.warnings);
    const bound = bindClasses(config, entry.exports, entry.display, migrations.storage);
    // Recorded only once the classes are found: a start that fails on them leaves the data directory as it was.
    migrations.commit();
    host = newHost({
      dataDir: project.dataDir,
      agents: bound.agents,
      durableObjects: bound.durableObjects,
      exportedClasses: bound.exportedClasses,
      workflows: bound.workflows,
      vars: loaded.vars,
      bindings: platform.bindings,
      storageNames: bound.storageNames,
      ...hostSettings(project, dev),
      ...shardOptions(shard, bound.workflows),
    });
    const env = host.env;
    for (const [alias, binding] of Object.entries(bound.aliases)) env[alias] = env[binding];
    setWorkerEnv(env, true);
    events = createWorkerEvents({
      config,
      handlers: entry.handlers,
      env,
      queueStore: platform.queues,
      dataDir: project.dataDir,
      durability,
      clock: systemClock,
      ...(shard?.cronGate ? { cronGate: shard.cronGate } : {}),
      ...(shard?.eventsElsewhere ? { elsewhere: true } : {}),
    });
    warnings.push(...events.warnings);
    const running = events;
    // A Worker with only static assets has no fetch of its own: what the assets do not answer is a 404.
    const assetsOnly = project.entry === undefined;
    const composed = composeWorkerFetch({ fetch: entry.fetch ?? (assetsOnly ? notFound : undefined), assets: () => platform.assets, cron: dev ? () => running.cron : undefined });
    // Work a request hands to ctx.waitUntil finishes before the bindings close at shutdown.
    const lingering = trackedContext({ recordErrors: false });
    // One context per request, as on Cloudflare (a handler's `ctx.props` is its request's alone); all share the tracker.
    const track = lingering.ctx.waitUntil;
    // The address the server listens on (what the MCP transport's DNS-rebinding guard checks a Host
    // against): the same for every request, learnt from the first; the worker reached through the
    // assets router (a request no asset answers) or a binding gets it too.
    let listener: string | undefined;
    forward = (request) => {
      // No worker: the assets answer every request themselves, not_found_handling included (as on Cloudflare).
      if (assetsOnly && platform.assets) return platform.assets.binding.fetch(request);
      return composed.worker(request, env, newExecutionContext({ track, listener }));
    };
    for (const binding of config.unsupported) {
      warnings.push(`env.${binding.binding} (${binding.key}, ${binding.where}) is not available on Hearth: ${binding.instead}`);
    }
    const openedHost = host;
    return {
      host,
      entry,
      fetch: (request, _env, given) => {
        listener ??= listenerOf(given);
        return composed.fetch(request, env, newExecutionContext({ track, props: given.props, listener }));
      },
      warnings,
      waitUntil: track,
      secretValues: [...loaded.secretValues, ...platform.secretValues],
      banner: {
        // What is served: the bound classes (exported-only ones are reached as sub-agents, not by URL).
        // A second binding of a class is served at its own name's URL too (the same instances).
        ...servedBindings(bound),
        project: {
          config: config.path,
          ...(config.envName !== undefined ? { env: config.envName, ...(project.options.envFrom === "CLOUDFLARE_ENV" ? { envFrom: "CLOUDFLARE_ENV" } : {}) } : {}),
        },
        bindings: describeBindings(config),
        ...(migrations.applied.length > 0 ? { migrations: migrations.applied } : {}),
        ...(config.assets ? { assets: config.assets.directory } : {}),
        ...(running.cron && config.crons.length > 0 ? { crons: config.crons } : {}),
      },
      ...(platform.queues ? { queueDepths: () => platform.queues!.backlogs() } : {}),
      start: () => running.start(),
      close: () =>
        runInOrder([
          () => running.close(),
          // Before the agents close: waitUntil work may still call them.
          () => waitAtMost(lingering.settled(), WAIT_UNTIL_GRACE_MS),
          () => openedHost.close(),
          () => shard?.bindingsOutlive?.(),
          async () => platform.queues?.close(),
          () => platform.close(),
        ]),
    };
  } catch (error) {
    await events?.close().catch(() => undefined);
    await host?.close().catch(() => undefined);
    platform.close();
    if (error instanceof CliError) throw error;
    throw new CliError("config", (error as Error).message, { cause: error });
  }
}

/** The worker of a Worker with only static assets: it has none, so a request the assets leave is a 404. */
function notFound(): Promise<Response> {
  return Promise.resolve(new Response("Not Found", { status: 404 }));
}

/** The entry of a Worker with only static assets (no `main`): no handlers, no classes; shown as its assets directory. */
function assetsOnlyEntry(config: NonNullable<Project["config"]>, cwd: string): EntryModule {
  const directory = config.assets?.directory ?? config.dir;
  const shown = relative(cwd, directory);
  const display = `${shown === "" ? "." : shown.startsWith("..") ? directory : shown} (static assets only, no main)`;
  return { path: config.path, display, agents: {}, durableObjects: {}, workflows: {}, fetch: undefined, handlers: {}, exports: {}, warnings: [] };
}

/** How long shutdown waits for requests' waitUntil work before closing the bindings under it. */
const WAIT_UNTIL_GRACE_MS = 5_000;

/** One short line per binding kind for the banner: `KV CACHE, SESSIONS`. */
function describeBindings(config: NonNullable<Project["config"]>): string[] {
  const lines: string[] = [];
  const add = (kind: string, names: string[]): void => {
    if (names.length > 0) lines.push(`${kind} ${names.join(", ")}`);
  };
  add("KV", config.kvNamespaces.map((kv) => kv.binding));
  add("D1", config.d1Databases.map((db) => db.binding));
  add("rate limit", config.rateLimits.map((limit) => limit.name));
  add("queue", config.queueProducers.map((producer) => `${producer.binding} → ${producer.queue}`));
  add("consumer", config.queueConsumers.map((consumer) => consumer.queue));
  add("loader", config.workerLoaders);
  add("Hyperdrive", config.hyperdrive.map((hyperdrive) => hyperdrive.binding));
  add("secret store", config.secretsStoreSecrets.map((secret) => secret.binding));
  add("send_email", config.sendEmail.map((mail) => mail.name));
  if (config.assets?.binding !== undefined) add("assets", [config.assets.binding]);
  return lines;
}

/** The agent and Durable Object bindings served by URL, each class's aliases after it. */
function servedBindings(bound: BoundClasses): { agents: string[]; durableObjects: string[] } {
  const agents = Object.keys(bound.agents);
  const durableObjects = Object.keys(bound.durableObjects);
  for (const [alias, first] of Object.entries(bound.aliases)) (first in bound.agents ? agents : durableObjects).push(alias);
  return { agents, durableObjects };
}
