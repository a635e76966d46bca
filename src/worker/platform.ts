import { basename, join } from "node:path";
import { createAssetRouter, type AssetRouter } from "../assets/index.ts";
import type { ProjectConfig, RateLimitConfig } from "../config/types.ts";
import { openD1Database, d1DatabasePath, type D1Database } from "../d1/index.ts";
import { openKvNamespace, type KvNamespace } from "../kv/index.ts";
import type { Durability } from "../limits.ts";
import { createQueueProducers, openQueueStore, type QueueBackend } from "../queues/index.ts";
import { openRateLimitStore, RateLimiter, type RateLimitOptions, type RateLimitOutcome } from "../ratelimit/index.ts";
import { WorkerLoader } from "../sandbox/loader.ts";
import { secretsStoreBindings, type SecretStore } from "../secrets/index.ts";
import type { Clock } from "../time/clock.ts";
import { localHyperdrive } from "./hyperdrive.ts";
import { sendEmailBinding } from "./send-email.ts";
import { unsupportedBinding } from "./unsupported.ts";

/** What the platform bindings need from the process. */
export interface PlatformOptions {
  config: ProjectConfig;
  /** This environment's data directory. */
  dataDir: string;
  durability: Durability;
  clock: Clock;
  /** The environment's secret store (for `secrets_store_secrets`). */
  secrets: SecretStore;
  /** HEARTH_SMTP_URL, when set: `send_email` bindings send through it. */
  smtpUrl: string | undefined;
  /** Where Hyperdrive bindings find `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<BINDING>` (the process environment); none by default. */
  processEnv?: Readonly<Record<string, string | undefined>>;
  /** The worker's fetch, once there is one: what an asset miss (or `run_worker_first`) falls through to. */
  worker: (request: Request) => Promise<Response>;
  /** Opens a KV namespace somewhere else than its SQLite file (a cluster: the shared Postgres). */
  kvNamespace?: (id: string) => KvNamespace;
  /** Opens a D1 database somewhere else than its SQLite file here (a cluster: the node that holds it). */
  d1Database?: (databaseName: string) => D1Database;
  /** Opens the queues' store somewhere else than `queues.sqlite` (a cluster: the shared Postgres). */
  queueStore?: () => QueueBackend;
  /** Makes the rate limiters somewhere else than `ratelimit.sqlite` here (threads: counted by the first thread). */
  rateLimits?: (limits: readonly RateLimitConfig[]) => { bindings: Record<string, { limit(options: RateLimitOptions): Promise<RateLimitOutcome> }>; close(): void };
}

/** The bindings of a wrangler project, and what owns their files. */
export interface Platform {
  /** `env` entries: KV, D1, rate limiters, queue producers, assets, secrets, mail, loaders, unsupported stand-ins. */
  bindings: Record<string, unknown>;
  /** The queues' store, when the project has queues (consumers need it). */
  queues: QueueBackend | undefined;
  /** The assets, when `assets.directory` is set: requests go through it first. */
  assets: AssetRouter | undefined;
  /** What to tell the user that does not stop start-up (a deprecated variable name, …). */
  warnings: string[];
  /** Values the bindings hold that the logs must not show (Hyperdrive's connection strings and passwords). */
  secretValues: string[];
  /** Closes every file; pending writes are committed first. */
  close(): void;
}

/**
 * Builds every platform binding the config declares, each persisted under the environment's data
 * directory: `kv/<id>.sqlite`, `d1/<database>.sqlite`, `ratelimit.sqlite`, `queues.sqlite`.
 * Hyperdrive bindings connect to the databases their local connection strings name.
 *
 * @throws {Error} for a Hyperdrive binding without a usable local connection string, a file that cannot be opened, …
 */
export function openPlatform(options: PlatformOptions): Platform {
  const { config, dataDir, durability, clock } = options;
  const bindings: Record<string, unknown> = {};
  const closers: Array<() => void> = [];
  const warnings: string[] = [];
  const secretValues: string[] = [];
  try {
    // First: a missing connection string stops start-up before any file is opened.
    for (const hyperdrive of config.hyperdrive) {
      const made = localHyperdrive(hyperdrive, options.processEnv ?? {}, basename(config.path));
      bindings[hyperdrive.binding] = made.binding;
      warnings.push(...made.warnings);
      secretValues.push(...made.secretValues);
    }
    for (const kv of config.kvNamespaces) {
      const namespace: KvNamespace = options.kvNamespace ? options.kvNamespace(kv.id) : openKvNamespace(join(dataDir, "kv", `${kv.id}.sqlite`), { clock, durability });
      closers.push(() => namespace.close());
      bindings[kv.binding] = namespace;
    }
    for (const d1 of config.d1Databases) {
      const database: D1Database = options.d1Database ? options.d1Database(d1.databaseName) : openD1Database(d1DatabasePath(dataDir, d1.databaseName), { durability });
      closers.push(() => database.close());
      bindings[d1.binding] = database;
    }
    if (config.rateLimits.length > 0 && options.rateLimits) {
      const limiters = options.rateLimits(config.rateLimits);
      closers.push(() => limiters.close());
      Object.assign(bindings, limiters.bindings);
    } else if (config.rateLimits.length > 0) {
      const store = openRateLimitStore(join(dataDir, "ratelimit.sqlite"), { clock, durability });
      closers.push(() => store.close());
      for (const limit of config.rateLimits) bindings[limit.name] = new RateLimiter(store, limit);
    }
    let queues: QueueBackend | undefined;
    if (config.queueProducers.length > 0 || config.queueConsumers.length > 0) {
      const store = options.queueStore ? options.queueStore() : openQueueStore({ path: join(dataDir, "queues.sqlite"), clock, durability });
      queues = store;
      // The Postgres store's close is async (pending sends commit first): the runtime awaits it before the pool ends.
      closers.push(() => void store.close());
      Object.assign(bindings, createQueueProducers(store, config.queueProducers));
    }
    Object.assign(bindings, secretsStoreBindings(config.secretsStoreSecrets, options.secrets));
    for (const mail of config.sendEmail) bindings[mail.name] = sendEmailBinding(mail, options.smtpUrl, config);
    for (const name of config.workerLoaders) {
      const loader = new WorkerLoader();
      closers.push(() => loader.close());
      bindings[name] = loader;
    }
    let assets: AssetRouter | undefined;
    if (config.assets) {
      const router = createAssetRouter(config.assets, options.worker);
      assets = router;
      closers.push(() => router.close());
      if (config.assets.binding !== undefined) bindings[config.assets.binding] = router.binding;
    }
    for (const binding of config.unsupported) {
      if (!(binding.binding in bindings)) bindings[binding.binding] = unsupportedBinding(binding);
    }
    return {
      bindings,
      queues,
      assets,
      warnings,
      secretValues,
      close: () => closeAll(closers),
    };
  } catch (error) {
    closeAll(closers);
    throw error;
  }
}

function closeAll(closers: Array<() => void>): void {
  for (const close of closers.reverse()) {
    try {
      close();
    } catch (error) {
      console.error("[hearth] closing a binding failed:", error);
    }
  }
}
