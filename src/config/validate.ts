import { resolve } from "node:path";
import { readAssets } from "./assets.ts";
import { checkBindingNames } from "./binding-names.ts";
import type { ResolvedEnvironment, ResolvedKey } from "./environment.ts";
import type { KeyPath } from "./key-path.ts";
import { IGNORED_WITH_WARNING, isKnownKey } from "./keys.ts";
import { checkBoundClassesLive, readExports, readMigrations } from "./migrations.ts";
import {
  asTable,
  type CheckContext,
  describeValue,
  fail,
  isTable,
  optionalNumber,
  optionalString,
  optionalStringArray,
  warnUnknownKeys,
} from "./read.ts";
import { readD1Databases, readKvNamespaces, readQueues, readRateLimits, readUnsafeRateLimits } from "./storage-bindings.ts";
import type { MigrationStep, ProjectConfig } from "./types.ts";
import { collectUnsupported } from "./unsupported.ts";
import { readModuleRules } from "./module-rules.ts";
import { readDurableObjects, readHyperdrive, readSecretsStoreSecrets, readSendEmail, readWorkerLoaders, readWorkflows } from "./worker-bindings.ts";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Validates the environment's keys and fills every field of {@link ProjectConfig}, defaults
 * included. Problems that do not stop start-up go to `warnings`.
 *
 * @throws {ConfigError} on the first bad value, naming its key path and line.
 */
export function buildProjectConfig(ctx: CheckContext, resolved: ResolvedEnvironment): ProjectConfig {
  const { keys } = resolved;
  const entry = (key: string): ResolvedKey | undefined => keys.get(key);
  // Scalars are read from a one-key table, so every reader reports the same `file:line: path` way.
  const scalarAt = (key: string): { table: Record<string, unknown>; at: KeyPath } => {
    const found = entry(key);
    return { table: found === undefined ? {} : { [key]: found.value }, at: found === undefined ? [] : found.at.slice(0, -1) };
  };
  const read = <T>(key: string, reader: (ctx: CheckContext, value: unknown, at: KeyPath) => T, fallback: T): T => {
    const found = entry(key);
    return found === undefined ? fallback : reader(ctx, found.value, found.at);
  };

  const name = scalarAt("name");
  const workerName = optionalString(ctx, name.table, "name", name.at);
  const main = scalarAt("main");
  const mainPath = optionalString(ctx, main.table, "main", main.at);
  const compat = scalarAt("compatibility_flags");
  const queues = read("queues", readQueues, { producers: [], consumers: [] });

  const config: ProjectConfig = {
    path: ctx.source.path,
    dir: ctx.dir,
    envName: resolved.envName,
    environments: resolved.environments,
    name: workerName,
    main: mainPath === undefined ? undefined : resolve(ctx.dir, mainPath),
    ...read("build", readBuild, {}),
    compatibilityDate: compatibilityDate(ctx, entry("compatibility_date")),
    compatibilityFlags: optionalStringArray(ctx, compat.table, "compatibility_flags", compat.at) ?? [],
    durableObjects: read("durable_objects", (c, value, at) => readDurableObjects(c, value, at, workerName), []),
    migrations: migrations(ctx, entry("migrations"), entry("exports")),
    vars: read("vars", readVars, {}),
    secretsRequired: read("secrets", readSecrets, undefined),
    kvNamespaces: read("kv_namespaces", readKvNamespaces, []),
    d1Databases: read("d1_databases", readD1Databases, []),
    rateLimits: [...read("ratelimits", readRateLimits, []), ...read("unsafe", readUnsafeRateLimits, [])],
    queueProducers: queues.producers,
    queueConsumers: queues.consumers,
    crons: read("triggers", readCrons, []),
    workflows: read("workflows", (c, value, at) => readWorkflows(c, value, at, workerName), []),
    workerLoaders: read("worker_loaders", readWorkerLoaders, []),
    assets: read("assets", readAssets, undefined),
    sendEmail: read("send_email", readSendEmail, []),
    secretsStoreSecrets: read("secrets_store_secrets", readSecretsStoreSecrets, []),
    hyperdrive: read("hyperdrive", readHyperdrive, []),
    moduleRules: read("rules", readModuleRules, []),
    unsupported: ctx.unsupported,
    dev: read("dev", readDev, {}),
    warnings: ctx.warnings,
  };
  const durableObjectsAt = entry("durable_objects")?.at;
  if (durableObjectsAt !== undefined) checkBoundClassesLive(ctx, config.durableObjects, config.migrations, durableObjectsAt);
  collectUnsupported(ctx, resolved);
  checkBindingNames(ctx);
  warnAboutIgnoredKeys(ctx, resolved);
  return config;
}

function compatibilityDate(ctx: CheckContext, found: ResolvedKey | undefined): string | undefined {
  if (found === undefined) return undefined;
  const value = found.value;
  if (typeof value !== "string" || !ISO_DATE.test(value) || Number.isNaN(Date.parse(value))) {
    fail(ctx, found.at, `must be a date written as a string, "YYYY-MM-DD" (got ${describeValue(value)})`);
  }
  // Date.parse rolls an impossible day over ("2024-02-31" is March 2nd): the date must read back as written.
  if (new Date(value).toISOString().slice(0, 10) !== value) {
    fail(ctx, found.at, `must be a real calendar date, "YYYY-MM-DD" (got ${describeValue(value)}, which does not exist)`);
  }
  return value;
}

/** `migrations`, or the steps derived from `exports`; the two cannot both be set. */
function migrations(ctx: CheckContext, migrationsKey: ResolvedKey | undefined, exportsKey: ResolvedKey | undefined): MigrationStep[] {
  const fromMigrations = migrationsKey === undefined ? [] : readMigrations(ctx, migrationsKey.value, migrationsKey.at);
  if (exportsKey === undefined) return fromMigrations;
  const fromExports = readExports(ctx, exportsKey.value, exportsKey.at);
  // An empty `exports` table is wrangler's default: it does not compete with `migrations`.
  if (Object.keys(asTable(ctx, exportsKey.value, exportsKey.at)).length === 0) return fromMigrations;
  if (fromMigrations.length > 0) {
    const inherited = migrationsKey !== undefined && migrationsKey.at.length !== exportsKey.at.length ? "including inherited ones; " : "";
    fail(ctx, exportsKey.at, `cannot be set together with "migrations" (${inherited}exports is the declarative form of migrations: keep one)`);
  }
  return fromExports;
}

/** `vars`: strings, and JSON values kept as parsed; TOML dates are refused (they are not JSON). */
function readVars(ctx: CheckContext, value: unknown, at: KeyPath): Record<string, unknown> {
  const vars = asTable(ctx, value, at);
  for (const [key, item] of Object.entries(vars)) {
    checkJson(ctx, item, [...at, key]);
    ctx.names.push({ name: key, at: [...at, key], kind: "var" });
  }
  return vars;
}

function checkJson(ctx: CheckContext, value: unknown, path: KeyPath): void {
  if (value instanceof Date) fail(ctx, path, `must be a string or a JSON value (got ${describeValue(value)})`);
  if (Array.isArray(value)) value.forEach((item: unknown, index) => checkJson(ctx, item, [...path, index]));
  else if (isTable(value)) for (const [key, item] of Object.entries(value)) checkJson(ctx, item, [...path, key]);
}

/** `secrets.required` (undefined when not declared). */
function readSecrets(ctx: CheckContext, value: unknown, at: KeyPath): string[] | undefined {
  const secrets = asTable(ctx, value, at);
  warnUnknownKeys(ctx, secrets, ["required"], at);
  const required = optionalStringArray(ctx, secrets, "required", at);
  required?.forEach((name, index) => {
    if (name === "") fail(ctx, [...at, "required", index], "must be a non-empty string");
    ctx.names.push({ name, at: [...at, "required", index], kind: "secret" });
  });
  return required === undefined ? undefined : [...new Set(required)];
}

/** `build`: the custom build wrangler runs before bundling. Hearth runs none; the command is kept for messages. */
function readBuild(ctx: CheckContext, value: unknown, at: KeyPath): Pick<ProjectConfig, "build"> {
  const build = asTable(ctx, value, at);
  warnUnknownKeys(ctx, build, ["command", "cwd", "watch_dir", "upload"], at);
  // An empty command is no build (wrangler skips it too).
  if (build.command === "") return {};
  const command = optionalString(ctx, build, "command", at);
  const cwd = build.cwd === "" ? undefined : optionalString(ctx, build, "cwd", at);
  return command === undefined ? {} : { build: { command, ...(cwd !== undefined ? { cwd } : {}) } };
}

function readCrons(ctx: CheckContext, value: unknown, at: KeyPath): string[] {
  const triggers = asTable(ctx, value, at);
  warnUnknownKeys(ctx, triggers, ["crons", "events"], at);
  return optionalStringArray(ctx, triggers, "crons", at) ?? [];
}

function readDev(ctx: CheckContext, value: unknown, at: KeyPath): { ip?: string; port?: number } {
  const dev = asTable(ctx, value, at);
  const result: { ip?: string; port?: number } = {};
  const ip = optionalString(ctx, dev, "ip", at);
  const port = optionalNumber(ctx, dev, "port", at, { min: 0, max: 65_535 });
  if (ip !== undefined) result.ip = ip;
  if (port !== undefined) result.port = port;
  return result;
}

function warnAboutIgnoredKeys(ctx: CheckContext, resolved: ResolvedEnvironment): void {
  for (const [key, { value }] of resolved.keys) {
    const why = IGNORED_WITH_WARNING[key];
    const empty = value === undefined || (isTable(value) && Object.keys(value).length === 0) || (Array.isArray(value) && value.length === 0);
    if (why !== undefined && !empty) ctx.warnings.push(`${ctx.source.fileName}: ${why}`);
  }
  for (const key of Object.keys(ctx.source.raw)) {
    if (!isKnownKey(key)) ctx.warnings.push(`${ctx.source.fileName}: unknown key "${key}" at the top level (ignored)`);
  }
}
