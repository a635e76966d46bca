import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findWranglerConfig, wranglerConfigsIn } from "../../src/config/find.ts";
import { loadProjectConfig } from "../../src/config/load.ts";
import type { ProjectConfig } from "../../src/config/types.ts";
import { useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

/** One project using every supported binding, written as JSONC. */
const JSONC = `{
  // The project of the tests, as Cloudflare's docs would write it.
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "agents-app",
  "main": "src/index.ts",
  "compatibility_date": "2025-09-01",
  "compatibility_flags": ["nodejs_compat"],
  "durable_objects": {
    "bindings": [
      { "name": "CHAT", "class_name": "ChatAgent" },
      { "name": "COUNTER", "class_name": "Tally" },
    ],
  },
  "migrations": [
    { "tag": "v1", "new_sqlite_classes": ["ChatAgent", "Counter"] },
    { "tag": "v2", "renamed_classes": [{ "from": "Counter", "to": "Tally" }], "deleted_classes": ["Old"] },
  ],
  "vars": { "GREETING": "hello", "LIMITS": { "max": 3, "tags": ["a", "b"] }, "DEBUG": true },
  "secrets": { "required": ["API_KEY"] },
  "kv_namespaces": [{ "binding": "CACHE" }, { "binding": "MEMORY", "id": "shared-memory" }],
  "d1_databases": [
    { "binding": "DB", "database_name": "app-db", "database_id": "0000-1111" },
    { "binding": "LOGS", "migrations_dir": "db/logs", "migrations_table": "applied" },
  ],
  "ratelimits": [{ "name": "LIMITER", "namespace_id": "1001", "simple": { "limit": 100, "period": 60 } }],
  "queues": {
    "producers": [{ "binding": "JOBS", "queue": "jobs", "delivery_delay": 5 }],
    "consumers": [
      { "queue": "jobs", "max_batch_size": 50, "max_retries": 10, "dead_letter_queue": "jobs-dlq", "retry_delay": 30 },
      { "queue": "jobs-dlq" },
    ],
  },
  "triggers": { "crons": ["*/5 * * * *", "0 3 * * MON"] },
  "workflows": [{ "binding": "ONBOARD", "name": "onboarding", "class_name": "Onboarding" }],
  "worker_loaders": [{ "binding": "LOADER" }],
  "assets": { "directory": "public", "binding": "ASSETS", "not_found_handling": "single-page-application", "run_worker_first": ["/api/*", "!/api/docs"] },
  "send_email": [{ "name": "EMAIL", "allowed_destination_addresses": ["ops@example.com"] }],
  "secrets_store_secrets": [{ "binding": "STRIPE", "store_id": "store-1", "secret_name": "stripe_key" }],
  "hyperdrive": [{ "binding": "PG", "id": "hd-1", "localConnectionString": "postgres://app:secret@localhost:5432/app" }],
  "rules": [{ "type": "Text", "globs": ["**/*.md"], "fallthrough": true }, { "type": "Data", "globs": ["**/*.dat"], "fallthrough": false }],
  "dev": { "ip": "0.0.0.0", "port": 8788 },
}
`;

const TOML = `# The same project, as TOML.
"$schema" = "node_modules/wrangler/config-schema.json"
name = "agents-app"
main = "src/index.ts"
compatibility_date = "2025-09-01"
compatibility_flags = ["nodejs_compat"]

[[durable_objects.bindings]]
name = "CHAT"
class_name = "ChatAgent"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Tally"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["ChatAgent", "Counter"]

[[migrations]]
tag = "v2"
renamed_classes = [{ from = "Counter", to = "Tally" }]
deleted_classes = ["Old"]

[vars]
GREETING = "hello"
LIMITS = { max = 3, tags = ["a", "b"] }
DEBUG = true

[secrets]
required = ["API_KEY"]

[[kv_namespaces]]
binding = "CACHE"

[[kv_namespaces]]
binding = "MEMORY"
id = "shared-memory"

[[d1_databases]]
binding = "DB"
database_name = "app-db"
database_id = "0000-1111"

[[d1_databases]]
binding = "LOGS"
migrations_dir = "db/logs"
migrations_table = "applied"

[[ratelimits]]
name = "LIMITER"
namespace_id = "1001"
simple = { limit = 100, period = 60 }

[[queues.producers]]
binding = "JOBS"
queue = "jobs"
delivery_delay = 5

[[queues.consumers]]
queue = "jobs"
max_batch_size = 50
max_retries = 10
dead_letter_queue = "jobs-dlq"
retry_delay = 30

[[queues.consumers]]
queue = "jobs-dlq"

[triggers]
crons = ["*/5 * * * *", "0 3 * * MON"]

[[workflows]]
binding = "ONBOARD"
name = "onboarding"
class_name = "Onboarding"

[[worker_loaders]]
binding = "LOADER"

[assets]
directory = "public"
binding = "ASSETS"
not_found_handling = "single-page-application"
run_worker_first = ["/api/*", "!/api/docs"]

[[send_email]]
name = "EMAIL"
allowed_destination_addresses = ["ops@example.com"]

[[secrets_store_secrets]]
binding = "STRIPE"
store_id = "store-1"
secret_name = "stripe_key"

[[hyperdrive]]
binding = "PG"
id = "hd-1"
localConnectionString = "postgres://app:secret@localhost:5432/app"

[[rules]]
type = "Text"
globs = ["**/*.md"]
fallthrough = true

[[rules]]
type = "Data"
globs = ["**/*.dat"]
fallthrough = false

[dev]
ip = "0.0.0.0"
port = 8788
`;

function expectedConfig(dir: string, file: string): ProjectConfig {
  return {
    path: join(dir, file),
    dir,
    envName: undefined,
    environments: [],
    name: "agents-app",
    main: join(dir, "src/index.ts"),
    compatibilityDate: "2025-09-01",
    compatibilityFlags: ["nodejs_compat"],
    durableObjects: [
      { name: "CHAT", className: "ChatAgent" },
      { name: "COUNTER", className: "Tally" },
    ],
    migrations: [
      { tag: "v1", newClasses: [], newSqliteClasses: ["ChatAgent", "Counter"], renamedClasses: [], deletedClasses: [] },
      { tag: "v2", newClasses: [], newSqliteClasses: [], renamedClasses: [{ from: "Counter", to: "Tally" }], deletedClasses: ["Old"] },
    ],
    vars: { GREETING: "hello", LIMITS: { max: 3, tags: ["a", "b"] }, DEBUG: true },
    secretsRequired: ["API_KEY"],
    kvNamespaces: [
      { binding: "CACHE", id: "CACHE" },
      { binding: "MEMORY", id: "shared-memory" },
    ],
    d1Databases: [
      { binding: "DB", databaseName: "app-db", databaseId: "0000-1111", migrationsDir: join(dir, "migrations"), migrationsTable: "d1_migrations" },
      { binding: "LOGS", databaseName: "LOGS", migrationsDir: join(dir, "db/logs"), migrationsTable: "applied" },
    ],
    rateLimits: [{ name: "LIMITER", namespaceId: "1001", limit: 100, period: 60 }],
    queueProducers: [{ binding: "JOBS", queue: "jobs", deliveryDelay: 5 }],
    queueConsumers: [
      { queue: "jobs", maxBatchSize: 50, maxBatchTimeout: 5, maxRetries: 10, deadLetterQueue: "jobs-dlq", retryDelay: 30 },
      { queue: "jobs-dlq", maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3 },
    ],
    crons: ["*/5 * * * *", "0 3 * * MON"],
    workflows: [{ binding: "ONBOARD", name: "onboarding", className: "Onboarding" }],
    workerLoaders: ["LOADER"],
    assets: {
      directory: join(dir, "public"),
      binding: "ASSETS",
      htmlHandling: "auto-trailing-slash",
      notFoundHandling: "single-page-application",
      runWorkerFirst: ["/api/*", "!/api/docs"],
    },
    sendEmail: [{ name: "EMAIL", allowedDestinationAddresses: ["ops@example.com"] }],
    secretsStoreSecrets: [{ binding: "STRIPE", storeId: "store-1", secretName: "stripe_key" }],
    hyperdrive: [{ binding: "PG", id: "hd-1", localConnectionString: "postgres://app:secret@localhost:5432/app" }],
    moduleRules: [
      { type: "Text", globs: ["**/*.md"], fallthrough: true },
      { type: "Data", globs: ["**/*.dat"], fallthrough: false },
    ],
    unsupported: [],
    dev: { ip: "0.0.0.0", port: 8788 },
    warnings: [],
  };
}

describe("the three config formats", () => {
  it.each([
    ["wrangler.jsonc", JSONC],
    ["wrangler.json", JSONC],
    ["wrangler.toml", TOML],
  ])("%s gives the full ProjectConfig, defaults filled in", (file, text) => {
    const dir = project({ [file]: text, "public/index.html": "<h1>hi</h1>" });
    expect(loadProjectConfig({ path: join(dir, file) })).toStrictEqual(expectedConfig(dir, file));
  });

  it("give the same ProjectConfig for the same project", () => {
    const load = (file: string, text: string): Omit<ProjectConfig, "path"> => {
      const dir = project({ [file]: text, "public/index.html": "" });
      const { path: _path, dir: _dir, main, assets, d1Databases, ...rest } = loadProjectConfig({ path: join(dir, file) });
      // Paths differ by temp directory only.
      const local = (path: string): string => path.slice(dir.length);
      return {
        ...rest,
        dir: "",
        main: main === undefined ? undefined : local(main),
        assets: assets && { ...assets, directory: local(assets.directory) },
        d1Databases: d1Databases.map((d1) => ({ ...d1, migrationsDir: local(d1.migrationsDir) })),
      };
    };
    const fromJsonc = load("wrangler.jsonc", JSONC);
    expect(load("wrangler.json", JSONC)).toStrictEqual(fromJsonc);
    expect(load("wrangler.toml", TOML)).toStrictEqual(fromJsonc);
  });

  it("fill defaults for a minimal project", () => {
    const dir = project({ "wrangler.toml": 'name = "tiny"\n' });
    const config = loadProjectConfig({ path: join(dir, "wrangler.toml") });
    expect(config).toMatchObject({
      name: "tiny",
      main: undefined,
      compatibilityDate: undefined,
      compatibilityFlags: [],
      durableObjects: [],
      migrations: [],
      vars: {},
      secretsRequired: undefined,
      crons: [],
      assets: undefined,
      hyperdrive: [],
      moduleRules: [],
      unsupported: [],
      dev: {},
      warnings: [],
    });
  });
});

describe("finding the config file", () => {
  it("takes wrangler.json, then wrangler.jsonc, then wrangler.toml (wrangler's order)", () => {
    const dir = project({ "wrangler.toml": 'name = "t"', "wrangler.jsonc": '{ "name": "c" }' });
    expect(findWranglerConfig(dir)).toBe(join(dir, "wrangler.jsonc"));
    expect(wranglerConfigsIn(dir)).toEqual([join(dir, "wrangler.jsonc"), join(dir, "wrangler.toml")]);
    const withJson = project({ "wrangler.toml": "", "wrangler.jsonc": "{}", "wrangler.json": "{}" });
    expect(findWranglerConfig(withJson)).toBe(join(withJson, "wrangler.json"));
    const tomlOnly = project({ "wrangler.toml": "" });
    expect(findWranglerConfig(tomlOnly)).toBe(join(tomlOnly, "wrangler.toml"));
  });

  it("finds nothing in a directory without one (a folder named like one does not count)", () => {
    const dir = project({ "wrangler.toml/inner.txt": "" });
    expect(findWranglerConfig(dir)).toBeUndefined();
  });

  it("warns, naming the winner, when several exist", () => {
    const dir = project({ "wrangler.toml": 'name = "t"', "wrangler.jsonc": '{ "name": "c" }' });
    const config = loadProjectConfig({ path: findWranglerConfig(dir) ?? "" });
    expect(config.name).toBe("c");
    expect(config.warnings).toEqual([
      `several wrangler config files in ${dir}: wrangler.jsonc, wrangler.toml; reading wrangler.jsonc (wrangler reads the first of wrangler.json, wrangler.jsonc, wrangler.toml)`,
    ]);
    expect(loadProjectConfig({ path: join(dir, "wrangler.toml") }).warnings).toEqual([
      `several wrangler config files in ${dir}: wrangler.jsonc, wrangler.toml; reading wrangler.toml`,
    ]);
  });
});
