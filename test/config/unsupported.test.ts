import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.ts";
import { UNSUPPORTED_BINDING_KINDS } from "../../src/config/unsupported.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

describe("unsupported bindings", () => {
  it("are listed with their key, config line and what to use instead (JSONC)", () => {
    const text = [
      "{",
      '  "name": "app",',
      '  // AI for the chat',
      '  "ai": { "binding": "AI" },',
      '  "r2_buckets": [',
      '    { "binding": "FILES", "bucket_name": "files" },',
      '    { "binding": "BACKUPS", "bucket_name": "backups" },',
      "  ],",
      '  "services": [{ "binding": "AUTH", "service": "auth-worker" }],',
      "}",
    ].join("\n");
    const dir = project({ "wrangler.jsonc": text });
    const config = loadProjectConfig({ path: join(dir, "wrangler.jsonc") });
    expect(config.unsupported).toEqual([
      { binding: "AI", key: "ai", where: "wrangler.jsonc:4", instead: UNSUPPORTED_BINDING_KINDS.ai?.instead },
      { binding: "FILES", key: "r2_buckets", where: "wrangler.jsonc:6", instead: UNSUPPORTED_BINDING_KINDS.r2_buckets?.instead },
      { binding: "BACKUPS", key: "r2_buckets", where: "wrangler.jsonc:7", instead: UNSUPPORTED_BINDING_KINDS.r2_buckets?.instead },
      { binding: "AUTH", key: "services", where: "wrangler.jsonc:9", instead: UNSUPPORTED_BINDING_KINDS.services?.instead },
    ]);
    expect(config.warnings).toEqual([]);
  });

  it("are located in TOML: arrays of tables, inline tables and environments", () => {
    const text = [
      'name = "app"', // 1
      "pipelines = [", // 2
      '  { binding = "PG", pipeline = "x" },', // 3
      "]", // 4
      "", // 5
      "[ai]", // 6
      'binding = "AI"', // 7
      "", // 8
      "[[vectorize]]", // 9
      'binding = "VECTORS"', // 10
      'index_name = "docs"', // 11
      "", // 12
      "[env.staging]", // 13
      'browser = { binding = "BROWSER" }', // 14
      "[[env.staging.analytics_engine_datasets]]", // 15
      'binding = "EVENTS"', // 16
    ].join("\n");
    const dir = project({ "wrangler.toml": text });
    const top = loadProjectConfig({ path: join(dir, "wrangler.toml") });
    expect(top.unsupported.map(({ binding, where }) => [binding, where])).toEqual([
      ["AI", "wrangler.toml:7"],
      ["VECTORS", "wrangler.toml:10"],
      ["PG", "wrangler.toml:3"],
    ]);
    const staging = loadProjectConfig({ path: join(dir, "wrangler.toml"), envName: "staging" });
    expect(staging.unsupported.map(({ binding, key, where }) => [binding, key, where])).toEqual([
      ["BROWSER", "browser", "wrangler.toml:14"],
      ["EVENTS", "analytics_engine_datasets", "wrangler.toml:16"],
    ]);
  });

  it("cover Durable Objects and workflows of another worker (script_name), which stay in their lists", () => {
    const config = loadJson(project(), {
      durable_objects: { bindings: [{ name: "REMOTE", class_name: "Room", script_name: "rooms-worker" }] },
      workflows: [{ binding: "FLOW", name: "flow", class_name: "Flow", script_name: "flows-worker" }],
    });
    expect(config.durableObjects).toEqual([{ name: "REMOTE", className: "Room", scriptName: "rooms-worker" }]);
    expect(config.workflows).toEqual([{ binding: "FLOW", name: "flow", className: "Flow", scriptName: "flows-worker" }]);
    expect(config.unsupported.map(({ binding, key, where }) => [binding, key, where])).toEqual([
      ["REMOTE", "durable_objects", "wrangler.jsonc:5"],
      ["FLOW", "workflows", "wrangler.jsonc:13"],
    ]);
  });

  it("leave out a script_name naming this worker itself (its resolved name under --env): bound locally, as wrangler does", () => {
    const dir = project();
    const self = (name: string) => ({
      durable_objects: { bindings: [{ name: "ROOM", class_name: "Room", script_name: name }] },
      workflows: [{ binding: "FLOW", name: "flow", class_name: "Flow", script_name: name }],
      migrations: [{ tag: "v1", new_sqlite_classes: ["Room"] }],
    });
    const top = loadJson(dir, { name: "app", ...self("app") });
    expect(top.durableObjects).toEqual([{ name: "ROOM", className: "Room" }]);
    expect(top.workflows).toEqual([{ binding: "FLOW", name: "flow", className: "Flow" }]);
    expect(top.unsupported).toEqual([]);

    const envs = { name: "app", env: { staging: self("app-staging"), old: self("app") } };
    const staging = loadJson(dir, envs, "staging");
    expect(staging.durableObjects).toEqual([{ name: "ROOM", className: "Room" }]);
    expect(staging.workflows).toEqual([{ binding: "FLOW", name: "flow", className: "Flow" }]);
    expect(staging.unsupported).toEqual([]);
    // Under --env old the worker is app-old: "app" is another worker there.
    const old = loadJson(dir, envs, "old");
    expect(old.durableObjects).toEqual([{ name: "ROOM", className: "Room", scriptName: "app" }]);
    expect(old.unsupported.map(({ binding, key }) => `${key}:${binding}`)).toEqual(["durable_objects:ROOM", "workflows:FLOW"]);
  });

  it("cover containers, unsafe bindings and every other kind Hearth cannot provide", () => {
    const config = loadJson(project(), {
      containers: [{ class_name: "Sandbox", image: "./Dockerfile" }],
      unsafe: { bindings: [{ name: "INTERNAL", type: "x" }] },
      images: { binding: "IMAGES" },
      mtls_certificates: [{ binding: "CERT", certificate_id: "c" }],
      dispatch_namespaces: [{ binding: "TENANTS", namespace: "t" }],
      pipelines: [{ binding: "PIPE", pipeline: "p" }],
      vpc_services: [{ binding: "VPC", service_id: "s" }],
    });
    expect(config.unsupported.map(({ binding, key }) => `${key}:${binding}`)).toEqual([
      "images:IMAGES",
      "mtls_certificates:CERT",
      "dispatch_namespaces:TENANTS",
      "pipelines:PIPE",
      "vpc_services:VPC",
      "unsafe:INTERNAL",
      "containers:Sandbox",
    ]);
    for (const entry of config.unsupported) expect(entry.instead.length).toBeGreaterThan(10);
  });

  it("say honestly what to use instead", () => {
    const instead = (key: string): string => UNSUPPORTED_BINDING_KINDS[key]?.instead ?? "";
    expect(instead("ai")).toContain("chatModelFromEnv");
    expect(instead("ai")).toContain("OPENAI_BASE_URL");
    expect(instead("ai")).toContain("Ollama");
    expect(instead("r2_buckets")).toContain("MinIO");
    expect(instead("vectorize")).toContain("sqlite-vec");
    expect(instead("vectorize")).toContain("pgvector");
    expect(instead("browser")).toContain("playwright-core");
    expect(instead("analytics_engine_datasets")).toContain("D1");
    expect(instead("services")).toContain("HTTP");
  });

  it("still need a valid binding name", () => {
    expect(() => loadJson(project(), { r2_buckets: [{ bucket_name: "x" }] })).toThrow("wrangler.jsonc:3: r2_buckets[0].binding is required");
  });

  it("do not include send_email, which Hearth provides through its SMTP sender", () => {
    const config = loadJson(project(), { send_email: [{ name: "EMAIL", destination_address: "ops@example.com" }] });
    expect(config.sendEmail).toEqual([{ name: "EMAIL", destinationAddress: "ops@example.com" }]);
    expect(config.unsupported).toEqual([]);
  });

  it("ignore tail_consumers and deploy-only keys silently", () => {
    const config = loadJson(project(), {
      tail_consumers: [{ service: "logs" }],
      routes: [{ pattern: "example.com/*", zone_name: "example.com" }],
      observability: { enabled: true },
      placement: { mode: "smart" },
      account_id: "abc",
      workers_dev: true,
    });
    expect(config.unsupported).toEqual([]);
    expect(config.warnings).toEqual([]);
  });
});

describe("unknown and unapplied keys", () => {
  it("warn about unknown top-level keys, like wrangler", () => {
    const config = loadJson(project(), { name: "app", kv_namespace: [{ binding: "A" }] });
    expect(config.warnings).toEqual(['wrangler.jsonc: unknown key "kv_namespace" at the top level (ignored)']);
    expect(config.kvNamespaces).toEqual([]);
  });

  it("warn about keys with a run-time effect that Hearth does not apply", () => {
    const config = loadJson(project(), { define: { VERSION: '"1"' }, alias: { foo: "./bar" }, define_unused: 1 });
    expect(config.warnings).toEqual([
      "wrangler.jsonc: Hearth does not bundle the worker, so `define` replacements are not applied; read the value from a var instead",
      "wrangler.jsonc: Hearth does not bundle the worker, so `alias` module replacements are not applied",
      'wrangler.jsonc: unknown key "define_unused" at the top level (ignored)',
    ]);
  });

  it("warn that workflow schedules are not run", () => {
    const config = loadJson(project(), { workflows: [{ binding: "F", name: "f", class_name: "Flow", schedules: ["0 * * * *"] }] });
    expect(config.warnings).toEqual([
      'wrangler.jsonc: workflows "f": "schedules" are not run by Hearth; start the workflow from a cron trigger (triggers.crons) instead',
    ]);
  });
});

describe("unsafe rate limiters (wrangler's form before `ratelimits`)", () => {
  it("are read as rate limit configs from wrangler.toml, and other unsafe bindings stay unsupported", () => {
    const toml = [
      'name = "app"', // 1
      "", // 2
      "[[unsafe.bindings]]", // 3
      'name = "MY_RATE_LIMITER"', // 4
      'type = "ratelimit"', // 5
      'namespace_id = "1001"', // 6
      "simple = { limit = 100, period = 60 }", // 7
      "", // 8
      "[[unsafe.bindings]]", // 9
      'name = "INTERNAL"', // 10
      'type = "something_else"', // 11
    ].join("\n");
    const dir = project({ "wrangler.toml": toml });
    const config = loadProjectConfig({ path: join(dir, "wrangler.toml") });
    expect(config.rateLimits).toEqual([{ name: "MY_RATE_LIMITER", namespaceId: "1001", limit: 100, period: 60 }]);
    expect(config.unsupported.map(({ binding, key, where }) => [binding, key, where])).toEqual([["INTERNAL", "unsafe", "wrangler.toml:10"]]);
    expect(config.warnings).toEqual([]);
  });

  it("are read from wrangler.jsonc and its environments, after the `ratelimits` ones", () => {
    const config = loadJson(
      project(),
      {
        name: "app",
        env: {
          staging: {
            ratelimits: [{ name: "NEW_FORM", namespace_id: "1", simple: { limit: 5, period: 10 } }],
            unsafe: { bindings: [{ name: "OLD_FORM", type: "ratelimit", namespace_id: "2", simple: { limit: 7, period: 60 } }] },
          },
        },
      },
      "staging",
    );
    expect(config.rateLimits).toEqual([
      { name: "NEW_FORM", namespaceId: "1", limit: 5, period: 10 },
      { name: "OLD_FORM", namespaceId: "2", limit: 7, period: 60 },
    ]);
    expect(config.unsupported).toEqual([]);
  });

  it("are checked as `ratelimits` are, at their own key path", () => {
    const limiter = (entry: Record<string, unknown>): unknown => ({
      unsafe: { bindings: [{ name: "LIMITER", type: "ratelimit", namespace_id: "1001", simple: { limit: 1, period: 60 }, ...entry }] },
    });
    const failure = (config: unknown): string => configError(() => loadJson(project(), config)).message;
    expect(failure(limiter({ simple: { limit: 100, period: 30 } }))).toBe("wrangler.jsonc:10: unsafe.bindings[0].simple.period must be 10 or 60 (got 30)");
    expect(failure(limiter({ namespace_id: 1001 }))).toBe(
      'wrangler.jsonc:7: unsafe.bindings[0].namespace_id must be a positive integer written as a string, e.g. "1001" (got 1001)',
    );
    expect(failure(limiter({ simple: undefined }))).toBe("wrangler.jsonc:4: unsafe.bindings[0].simple is required: { limit, period }");
    expect(failure({ ...(limiter({}) as object), ratelimits: [{ name: "LIMITER", namespace_id: "1", simple: { limit: 1, period: 10 } }] })).toMatch(
      /^wrangler\.jsonc:\d+: ratelimits\[0\]\.name is "LIMITER", a name already used by unsafe\.bindings\[0\]\.name /,
    );
  });

  it("warn about keys a rate limiter does not have", () => {
    const config = loadJson(project(), {
      unsafe: { bindings: [{ name: "LIMITER", type: "ratelimit", namespace_id: "1", simple: { limit: 1, period: 10 }, extra: 1 }] },
    });
    expect(config.rateLimits).toEqual([{ name: "LIMITER", namespaceId: "1", limit: 1, period: 10 }]);
    expect(config.warnings).toEqual(['wrangler.jsonc: unknown key "extra" in unsafe.bindings[0] (ignored)']);
  });
});
