/**
 * A Cloudflare project's configuration as Hearth uses it: the wrangler file (`wrangler.jsonc`,
 * `wrangler.json` or `wrangler.toml`) read, validated and resolved for one environment. Paths are
 * absolute; defaults are filled in; non-inheritable keys come from the environment only.
 * @module
 */

/** `durable_objects.bindings[]`: `env[name]` reaches instances of `className`. */
export interface DurableObjectBindingConfig {
  name: string;
  className: string;
  /** Set when the class lives in another worker: Hearth cannot serve it (reported as unsupported). */
  scriptName?: string;
}

/** One `migrations[]` step (or the equivalent derived from the declarative `exports` form). */
export interface MigrationStep {
  tag: string;
  newClasses: string[];
  newSqliteClasses: string[];
  renamedClasses: { from: string; to: string }[];
  deletedClasses: string[];
}

export interface KvNamespaceConfig {
  binding: string;
  /** The namespace's identity: `id` from the config, else the binding name. Bindings with one id share data. */
  id: string;
}

export interface D1DatabaseConfig {
  binding: string;
  /** `database_name`, else the binding name: the database's identity and file name. */
  databaseName: string;
  databaseId?: string;
  /** Absolute; default `<config dir>/migrations`. */
  migrationsDir: string;
  /** Default "d1_migrations". */
  migrationsTable: string;
}

export interface RateLimitConfig {
  /** The binding name (`ratelimits[].name`). */
  name: string;
  /** Bindings with one namespace id share counters. */
  namespaceId: string;
  limit: number;
  period: 10 | 60;
}

export interface QueueProducerConfig {
  binding: string;
  queue: string;
  /** Default delay of every message sent through this binding, seconds. */
  deliveryDelay?: number;
}

export interface QueueConsumerConfig {
  queue: string;
  /** Default 10, at most 100. */
  maxBatchSize: number;
  /** Seconds; default 5, at most 60. */
  maxBatchTimeout: number;
  /** Default 3, at most 100. */
  maxRetries: number;
  deadLetterQueue?: string;
  /** Seconds before a retried message is delivered again; default 0. */
  retryDelay?: number;
  maxConcurrency?: number;
}

export interface WorkflowConfig {
  binding: string;
  name: string;
  className: string;
  scriptName?: string;
}

export type HtmlHandling = "auto-trailing-slash" | "force-trailing-slash" | "drop-trailing-slash" | "none";
export type NotFoundHandling = "single-page-application" | "404-page" | "none";

export interface AssetsConfig {
  /** Absolute path of `assets.directory`. */
  directory: string;
  binding?: string;
  htmlHandling: HtmlHandling;
  notFoundHandling: NotFoundHandling;
  /** true / false, or glob patterns (a leading `!` negates) of paths that go to the worker first. */
  runWorkerFirst: boolean | string[];
}

export interface SendEmailConfig {
  name: string;
  destinationAddress?: string;
  allowedDestinationAddresses?: string[];
  allowedSenderAddresses?: string[];
}

export interface SecretsStoreSecretConfig {
  binding: string;
  storeId: string;
  secretName: string;
}

/** `hyperdrive[]`: a connection to a database of the developer's own, as `wrangler dev` makes one. */
export interface HyperdriveConfig {
  binding: string;
  /** The Hyperdrive configuration on Cloudflare; not used locally. */
  id?: string;
  /**
   * The database to connect to locally. `CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_<binding>`
   * in the environment wins over it. Holds a password: never printed.
   */
  localConnectionString?: string;
}

/** The module types of wrangler's `rules` (`ConfigModuleRuleType`). */
export type ModuleRuleType = "ESModule" | "CommonJS" | "CompiledWasm" | "Text" | "Data" | "PythonModule" | "PythonRequirement";

/** One of wrangler's `rules[]`: imports matching `globs` load as `type`. */
export interface ModuleRuleConfig {
  type: ModuleRuleType;
  globs: string[];
  /** true: later rules of the same type (the defaults included) still apply. */
  fallthrough?: boolean;
}

/** A binding Hearth cannot provide on a self-hosted machine (`ai`, `r2_buckets`, …). */
export interface UnsupportedBinding {
  /** `env[binding]`. */
  binding: string;
  /** The config key it was declared under, e.g. "r2_buckets". */
  key: string;
  /** Where it was declared, e.g. "wrangler.jsonc:14". */
  where: string;
  /** What to use instead on Hearth. */
  instead: string;
}

/** The project, resolved for one environment. */
export interface ProjectConfig {
  /** Absolute path of the config file. */
  path: string;
  /** Its directory: relative paths in the config resolve against it. */
  dir: string;
  /** The `--env` name, or undefined for the top level. */
  envName: string | undefined;
  /** The names of the `env.<name>` sections the file defines (for `--env` checks elsewhere, e.g. secrets). */
  environments?: string[];
  /** `name`, with `-<env>` appended inside an environment (wrangler's rule). */
  name: string | undefined;
  /** Absolute path of `main`. */
  main: string | undefined;
  /**
   * wrangler's `build.command` (and `build.cwd` as written), when set. Hearth does not run it: it is
   * named when `main` does not exist yet.
   */
  build?: { command: string; cwd?: string };
  compatibilityDate: string | undefined;
  compatibilityFlags: string[];
  durableObjects: DurableObjectBindingConfig[];
  /** From `migrations`, or derived from `exports` (the two are mutually exclusive). */
  migrations: MigrationStep[];
  /** Config `vars`: strings, and JSON values kept as parsed. */
  vars: Record<string, unknown>;
  /** `secrets.required`, when declared. */
  secretsRequired: string[] | undefined;
  kvNamespaces: KvNamespaceConfig[];
  d1Databases: D1DatabaseConfig[];
  rateLimits: RateLimitConfig[];
  queueProducers: QueueProducerConfig[];
  queueConsumers: QueueConsumerConfig[];
  /** `triggers.crons`. */
  crons: string[];
  workflows: WorkflowConfig[];
  /** `worker_loaders[].binding`. */
  workerLoaders: string[];
  assets: AssetsConfig | undefined;
  sendEmail: SendEmailConfig[];
  secretsStoreSecrets: SecretsStoreSecretConfig[];
  hyperdrive: HyperdriveConfig[];
  /** wrangler's `rules`, as written (the defaults are added where imports are loaded). */
  moduleRules: ModuleRuleConfig[];
  unsupported: UnsupportedBinding[];
  /** `dev.ip` / `dev.port` (top level only). */
  dev: { ip?: string; port?: number };
  /** Problems that do not stop start-up (a top-level binding missing from the environment, …). */
  warnings: string[];
}
