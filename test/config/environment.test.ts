import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

const BASE = {
  name: "app",
  main: "src/index.ts",
  compatibility_date: "2025-09-01",
  compatibility_flags: ["nodejs_compat"],
  triggers: { crons: ["0 * * * *"] },
  migrations: [{ tag: "v1", new_sqlite_classes: ["Chat"] }],
  vars: { MODE: "top" },
  kv_namespaces: [{ binding: "CACHE" }],
  durable_objects: { bindings: [{ name: "CHAT", class_name: "Chat" }] },
  ratelimits: [{ name: "LIMITER", namespace_id: "1", simple: { limit: 5, period: 10 } }],
};

describe("environments", () => {
  it("inherit inheritable keys and append the environment to the name", () => {
    const config = loadJson(project(), { ...BASE, env: { staging: { vars: { MODE: "staging" } } } }, "staging");
    expect(config.envName).toBe("staging");
    expect(config.environments).toEqual(["staging"]);
    expect(config.name).toBe("app-staging");
    expect(config.main).toBe(join(config.dir, "src/index.ts"));
    expect(config.compatibilityDate).toBe("2025-09-01");
    expect(config.compatibilityFlags).toEqual(["nodejs_compat"]);
    expect(config.crons).toEqual(["0 * * * *"]);
    expect(config.migrations.map((step) => step.tag)).toEqual(["v1"]);
  });

  it("let an environment override inheritable keys, its own name kept as written", () => {
    const config = loadJson(
      project(),
      { ...BASE, env: { production: { name: "app-prod", main: "src/prod.ts", triggers: { crons: [] }, compatibility_flags: [] } } },
      "production",
    );
    expect(config.name).toBe("app-prod");
    expect(config.main).toBe(join(config.dir, "src/prod.ts"));
    expect(config.crons).toEqual([]);
    expect(config.compatibilityFlags).toEqual([]);
  });

  it("do not inherit non-inheritable keys: bindings and vars come from the environment only", () => {
    const config = loadJson(
      project(),
      { ...BASE, env: { staging: { vars: { MODE: "staging" }, kv_namespaces: [{ binding: "STAGING_CACHE", id: "s" }] } } },
      "staging",
    );
    expect(config.vars).toEqual({ MODE: "staging" });
    expect(config.kvNamespaces).toEqual([{ binding: "STAGING_CACHE", id: "s" }]);
    expect(config.durableObjects).toEqual([]);
    expect(config.rateLimits).toEqual([]);
  });

  it("warn, naming the key and the environment, for each top-level binding key the environment lacks", () => {
    const config = loadJson(project(), { ...BASE, env: { staging: { vars: { MODE: "staging" } } } }, "staging");
    expect(config.warnings).toEqual(
      ["kv_namespaces", "durable_objects", "ratelimits"].map(
        (key) =>
          `wrangler.jsonc: "${key}" exists at the top level, but not on "env.staging". "${key}" is not inherited by environments, ` +
          `so "env.staging" has none; add "${key}" to "env.staging" if it needs them.`,
      ),
    );
  });

  it("give no such warning at the top level", () => {
    const config = loadJson(project(), { ...BASE, env: { staging: {} } });
    expect(config.envName).toBeUndefined();
    expect(config.name).toBe("app");
    expect(config.vars).toEqual({ MODE: "top" });
    expect(config.kvNamespaces).toEqual([{ binding: "CACHE", id: "CACHE" }]);
    expect(config.warnings).toEqual([]);
  });

  it("treat an empty --env as the top level, as wrangler does", () => {
    expect(loadJson(project(), { ...BASE, env: { staging: {} } }, "").name).toBe("app");
  });

  it("warn about top-level-only and unknown keys inside an environment", () => {
    const config = loadJson(project(), { name: "app", env: { staging: { dev: { port: 1 }, colour: "blue" } } }, "staging");
    expect(config.dev).toEqual({});
    expect(config.warnings).toEqual([
      'wrangler.jsonc: "dev" is only read at the top level, not in "env.staging" (ignored)',
      'wrangler.jsonc: unknown key "colour" in "env.staging" (ignored)',
    ]);
  });

  it("read top-level-only keys (dev) from the top level inside an environment", () => {
    expect(loadJson(project(), { name: "app", dev: { port: 9000 }, env: { staging: {} } }, "staging").dev).toEqual({ port: 9000 });
  });

  it("report errors inside an environment with the environment's key path and line", () => {
    const dir = project();
    const error = configError(() =>
      loadJson(dir, { name: "app", env: { staging: { ratelimits: [{ name: "L", namespace_id: "1", simple: { limit: 1, period: 5 } }] } } }, "staging"),
    );
    expect(error.message).toBe("wrangler.jsonc:11: env.staging.ratelimits[0].simple.period must be 10 or 60 (got 5)");
  });

  it("refuse an environment that does not exist, listing those that do", () => {
    const dir = project();
    const error = configError(() => loadJson(dir, { ...BASE, env: { staging: {}, production: {} } }, "prod"));
    expect(error.message).toBe(
      'wrangler.jsonc: no environment found with name "prod" (--env prod). The environments defined are: "staging", "production".',
    );
    expect(error.file).toBe(join(dir, "wrangler.jsonc"));
  });

  it("refuse --env when the file defines no environments", () => {
    const dir = project({ "wrangler.toml": 'name = "app"\n' });
    expect(configError(() => loadProjectConfig({ path: join(dir, "wrangler.toml"), envName: "staging" })).message).toBe(
      'wrangler.toml: no environment found with name "staging" (--env staging). wrangler.toml defines no environments (no "env" section); drop --env to use the top level.',
    );
  });

  it("require env and each environment to be tables", () => {
    expect(configError(() => loadJson(project(), { env: [] }, "x")).message).toBe("wrangler.jsonc:2: env must be an object (got [])");
    expect(configError(() => loadJson(project(), { env: { staging: 3 } }, "staging")).message).toBe(
      "wrangler.jsonc:3: env.staging must be an object (got 3)",
    );
  });

  it("read [env.<name>] sections in TOML", () => {
    const toml = [
      'name = "app"',
      "[[kv_namespaces]]",
      'binding = "CACHE"',
      "[env.staging]",
      "[[env.staging.kv_namespaces]]",
      'binding = "CACHE"',
      'id = "staging-cache"',
      "[env.staging.vars]",
      'MODE = "staging"',
    ].join("\n");
    const dir = project({ "wrangler.toml": toml });
    const config = loadProjectConfig({ path: join(dir, "wrangler.toml"), envName: "staging" });
    expect(config.name).toBe("app-staging");
    expect(config.kvNamespaces).toEqual([{ binding: "CACHE", id: "staging-cache" }]);
    expect(config.vars).toEqual({ MODE: "staging" });
    expect(config.warnings).toEqual([]);
  });
});
