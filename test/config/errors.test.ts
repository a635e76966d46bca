import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProjectConfig } from "../../src/config/load.ts";
import { configError, loadJson, useProjectDirs } from "./fixture.ts";

const project = useProjectDirs();

/** The message of the ConfigError loading `config` (as pretty-printed wrangler.jsonc) throws. */
function failure(config: unknown, envName?: string): string {
  return configError(() => loadJson(project(), config, envName)).message;
}

describe("config errors name the file, line and key path", () => {
  it("for a value of the wrong type", () => {
    expect(failure({ name: 42 })).toBe("wrangler.jsonc:2: name must be a non-empty string (got 42)");
    expect(failure({ main: ["a"] })).toBe('wrangler.jsonc:2: main must be a non-empty string (got ["a"])');
    expect(failure({ compatibility_flags: "nodejs_compat" })).toBe(
      'wrangler.jsonc:2: compatibility_flags must be an array of strings (got "nodejs_compat")',
    );
    expect(failure({ kv_namespaces: { binding: "A" } })).toBe('wrangler.jsonc:2: kv_namespaces must be an array (got {"binding":"A"})');
    expect(failure({ kv_namespaces: ["A"] })).toBe('wrangler.jsonc:3: kv_namespaces[0] must be an object (got "A")');
    expect(failure({ vars: [] })).toBe("wrangler.jsonc:2: vars must be an object (got [])");
    expect(failure({ dev: { port: "8787" } })).toBe('wrangler.jsonc:3: dev.port must be an integer from 0 to 65535 (got "8787")');
    expect(failure({ assets: { directory: "public", run_worker_first: "yes" } })).toBe(
      'wrangler.jsonc:4: assets.run_worker_first must be true, false or an array of route patterns (got "yes")',
    );
  });

  it("for a missing required field, pointing at its table", () => {
    expect(failure({ kv_namespaces: [{ id: "x" }] })).toBe("wrangler.jsonc:3: kv_namespaces[0].binding is required");
    expect(failure({ durable_objects: { bindings: [{ name: "A" }] } })).toBe(
      "wrangler.jsonc:4: durable_objects.bindings[0].class_name is required",
    );
    expect(failure({ assets: { binding: "ASSETS" } })).toBe(
      "wrangler.jsonc:2: assets.directory is required: the folder of static files to serve",
    );
  });

  it("for an assets block without a directory in a @cloudflare/vite-plugin project, saying where the plugin's build puts the files", () => {
    const dir = project({ "vite.config.ts": `import { cloudflare } from "@cloudflare/vite-plugin";\nexport default { plugins: [cloudflare()] };\n` });
    expect(configError(() => loadJson(dir, { main: "src/server.ts", assets: { not_found_handling: "single-page-application" } })).message).toBe(
      "wrangler.jsonc:3: assets.directory is required: the folder of static files to serve. With @cloudflare/vite-plugin the plugin fills it in" +
        ' at build time; on Hearth, run `vite build` and set "directory": "./dist/client" (the plugin\'s client output;' +
        " <build.outDir>/client when vite.config sets build.outDir)",
    );
  });

  it("in TOML as in JSONC, with the line of the key", () => {
    const toml = ['name = "app"', "", "[[ratelimits]]", 'name = "LIMITER"', 'namespace_id = "1001"', "simple = { limit = 100, period = 30 }"].join("\n");
    const dir = project({ "wrangler.toml": toml });
    expect(configError(() => loadProjectConfig({ path: join(dir, "wrangler.toml") })).message).toBe(
      "wrangler.toml:6: ratelimits[0].simple.period must be 10 or 60 (got 30)",
    );
  });

  it("for a compatibility date that is not YYYY-MM-DD", () => {
    expect(failure({ compatibility_date: "2025-13-45" })).toBe(
      'wrangler.jsonc:2: compatibility_date must be a date written as a string, "YYYY-MM-DD" (got "2025-13-45")',
    );
  });

  it("for a compatibility date that does not exist", () => {
    expect(failure({ compatibility_date: "2024-02-31" })).toBe(
      'wrangler.jsonc:2: compatibility_date must be a real calendar date, "YYYY-MM-DD" (got "2024-02-31", which does not exist)',
    );
    expect(failure({ compatibility_date: "2023-02-29" })).toMatch(/^wrangler\.jsonc:2: compatibility_date must be a real calendar date/);
    expect(loadJson(project(), { compatibility_date: "2024-02-29" }).compatibilityDate).toBe("2024-02-29");
  });

  it("for a TOML date where a string belongs (dates are not JSON)", () => {
    const dir = project({ "wrangler.toml": 'compatibility_date = 2025-01-01\n[vars]\nSINCE = 2024-05-01\n' });
    const path = join(dir, "wrangler.toml");
    expect(configError(() => loadProjectConfig({ path })).message).toBe(
      'wrangler.toml:1: compatibility_date must be a date written as a string, "YYYY-MM-DD" (got a TOML date (quote it to make it a string))',
    );
    const varsOnly = project({ "wrangler.toml": "[vars]\nSINCE = 2024-05-01\n" });
    expect(configError(() => loadProjectConfig({ path: join(varsOnly, "wrangler.toml") })).message).toBe(
      "wrangler.toml:2: vars.SINCE must be a string or a JSON value (got a TOML date (quote it to make it a string))",
    );
  });

  it("for a binding name used twice across binding kinds", () => {
    const message = failure({ kv_namespaces: [{ binding: "STORE" }], d1_databases: [{ binding: "STORE" }] });
    expect(message).toBe(
      'wrangler.jsonc:9: d1_databases[0].binding is "STORE", a name already used by kv_namespaces[0].binding (wrangler.jsonc:4): ' +
        "env.STORE can hold one thing, so binding names must be unique across all binding kinds",
    );
    expect(failure({ vars: { LIMITER: "x" }, ratelimits: [{ name: "LIMITER", namespace_id: "1", simple: { limit: 1, period: 10 } }] })).toMatch(
      /^wrangler\.jsonc:7: ratelimits\[0\]\.name is "LIMITER", a name already used by vars\.LIMITER \(wrangler\.jsonc:3\)/,
    );
    expect(failure({ ai: { binding: "AI" }, queues: { producers: [{ binding: "AI", queue: "q" }] } })).toMatch(
      /^wrangler\.jsonc:\d+: queues\.producers\[0\]\.binding is "AI", a name already used by ai\.binding/,
    );
    expect(failure({ kv_namespaces: [{ binding: "A" }, { binding: "A" }] })).toMatch(/^wrangler\.jsonc:7: kv_namespaces\[1\]\.binding is "A"/);
  });

  it("but lets a var stand in for a required secret of the same name", () => {
    const config = loadJson(project(), { vars: { API_KEY: "dev-key" }, secrets: { required: ["API_KEY"] } });
    expect(config.secretsRequired).toEqual(["API_KEY"]);
  });

  it("for a required secret named like a binding", () => {
    expect(failure({ kv_namespaces: [{ binding: "TOKEN" }], secrets: { required: ["TOKEN"] } })).toMatch(
      /^wrangler\.jsonc:9: secrets\.required\[0\] is "TOKEN", a name already used by kv_namespaces\[0\]\.binding/,
    );
  });

  it("for a binding name that is not a JS identifier", () => {
    expect(failure({ kv_namespaces: [{ binding: "my-cache" }] })).toBe(
      'wrangler.jsonc:4: kv_namespaces[0].binding "my-cache" is not a valid binding name: use letters, digits, _ and $, not starting with a digit',
    );
    expect(failure({ durable_objects: { bindings: [{ name: "CHAT", class_name: "2Chat" }] } })).toBe(
      'wrangler.jsonc:6: durable_objects.bindings[0].class_name "2Chat" is not a valid class name: use letters, digits, _ and $, not starting with a digit',
    );
  });

  it("for a storage name that could leave the data directory", () => {
    expect(failure({ d1_databases: [{ binding: "DB", database_name: "../db" }] })).toBe(
      'wrangler.jsonc:5: d1_databases[0].database_name "../db" cannot be used as a storage name: no / or \\, not starting with ".", at most 255 characters',
    );
  });
});

describe("rate limit errors", () => {
  const limiter = (simple: unknown, namespaceId: unknown = "1001"): unknown => ({
    ratelimits: [{ name: "LIMITER", namespace_id: namespaceId, simple }],
  });

  it("refuse a period other than 10 or 60", () => {
    expect(failure(limiter({ limit: 100, period: 30 }))).toBe("wrangler.jsonc:8: ratelimits[0].simple.period must be 10 or 60 (got 30)");
    expect(failure(limiter({ limit: 100 }))).toBe("wrangler.jsonc:6: ratelimits[0].simple.period is required (10 or 60)");
  });

  it("refuse a limit that is not a positive integer", () => {
    expect(failure(limiter({ limit: 0, period: 60 }))).toBe("wrangler.jsonc:7: ratelimits[0].simple.limit must be an integer of at least 1 (got 0)");
    expect(failure(limiter({ limit: 2.5, period: 60 }))).toBe("wrangler.jsonc:7: ratelimits[0].simple.limit must be an integer of at least 1 (got 2.5)");
    expect(failure(limiter({ period: 60 }))).toBe("wrangler.jsonc:6: ratelimits[0].simple.limit is required");
  });

  it("refuse a namespace_id that is not a positive integer string", () => {
    const problem = (got: string): string =>
      `wrangler.jsonc:5: ratelimits[0].namespace_id must be a positive integer written as a string, e.g. "1001" (got ${got})`;
    expect(failure(limiter({ limit: 1, period: 10 }, 1001))).toBe(problem("1001"));
    expect(failure(limiter({ limit: 1, period: 10 }, "abc"))).toBe(problem('"abc"'));
    expect(failure(limiter({ limit: 1, period: 10 }, "0"))).toBe(problem('"0"'));
    expect(failure(limiter({ limit: 1, period: 10 }, "-5"))).toBe(problem('"-5"'));
  });

  it("require simple", () => {
    expect(failure({ ratelimits: [{ name: "L", namespace_id: "1" }] })).toBe("wrangler.jsonc:3: ratelimits[0].simple is required: { limit, period }");
  });
});

describe("queue errors", () => {
  const consumer = (settings: Record<string, unknown>): unknown => ({ queues: { consumers: [{ queue: "jobs", ...settings }] } });

  it.each([
    ["max_batch_size", 101, "an integer from 1 to 100"],
    ["max_batch_size", 0, "an integer from 1 to 100"],
    ["max_batch_timeout", 61, "a number from 0 to 60"],
    ["max_retries", 101, "an integer from 0 to 100"],
    ["retry_delay", 43_201, "an integer from 0 to 43200"],
    ["max_concurrency", 251, "an integer from 1 to 250"],
  ])("refuse %s = %s (the limit is %s)", (key, value, range) => {
    expect(failure(consumer({ [key]: value }))).toBe(`wrangler.jsonc:6: queues.consumers[0].${key} must be ${range} (got ${value})`);
  });

  it("refuse a producer delay over 12 hours", () => {
    expect(failure({ queues: { producers: [{ binding: "Q", queue: "q", delivery_delay: 50_000 }] } })).toBe(
      "wrangler.jsonc:7: queues.producers[0].delivery_delay must be an integer from 0 to 43200 (got 50000)",
    );
  });

  it("refuse two consumers of one queue and a queue that is its own dead-letter queue", () => {
    expect(failure({ queues: { consumers: [{ queue: "jobs" }, { queue: "jobs" }] } })).toBe(
      'wrangler.jsonc:8: queues.consumers[1].queue "jobs" already has a consumer (a queue has one consumer)',
    );
    expect(failure(consumer({ dead_letter_queue: "jobs" }))).toBe(
      'wrangler.jsonc:6: queues.consumers[0].dead_letter_queue must differ from the queue it serves ("jobs")',
    );
  });

  it("refuse dead letter queues that make a cycle, naming it", () => {
    expect(
      failure({
        queues: {
          consumers: [
            { queue: "jobs", dead_letter_queue: "jobs-dlq" },
            { queue: "jobs-dlq", dead_letter_queue: "jobs" },
          ],
        },
      }),
    ).toBe(
      'wrangler.jsonc:6: queues.consumers[0].dead_letter_queue makes a cycle of dead letter queues: "jobs" → "jobs-dlq" → "jobs" (a message failing in each would move round it until retention); end it with a queue that has no dead_letter_queue',
    );
    const longer = [
      { queue: "a", dead_letter_queue: "b" },
      { queue: "x", dead_letter_queue: "b" },
      { queue: "b", dead_letter_queue: "c" },
      { queue: "c", dead_letter_queue: "b" },
    ];
    expect(failure({ queues: { consumers: longer } })).toMatch(
      /^wrangler\.jsonc:\d+: queues\.consumers\[2\]\.dead_letter_queue makes a cycle of dead letter queues: "b" → "c" → "b" /,
    );
    // A chain that ends, or that ends in a queue nobody consumes (its messages are kept), is fine.
    const chain = { queues: { consumers: [{ queue: "a", dead_letter_queue: "b" }, { queue: "b", dead_letter_queue: "c" }, { queue: "c" }] } };
    expect(loadJson(project(), chain).queueConsumers.map((consumer) => consumer.deadLetterQueue)).toEqual(["b", "c", undefined]);
    const unconsumed = { queues: { consumers: [{ queue: "a", dead_letter_queue: "b" }, { queue: "b", dead_letter_queue: "a", type: "http_pull" }] } };
    expect(loadJson(project(), unconsumed).queueConsumers).toHaveLength(1);
  });

  it("skip http_pull consumers with a warning", () => {
    const config = loadJson(project(), { queues: { consumers: [{ queue: "jobs", type: "http_pull" }] } });
    expect(config.queueConsumers).toEqual([]);
    expect(config.warnings).toEqual([
      'wrangler.jsonc: the http_pull consumer of queue "jobs" is not served (Hearth has no pull API); its messages wait for a worker consumer',
    ]);
  });
});

describe("assets errors", () => {
  it("refuse an unknown html_handling or not_found_handling", () => {
    expect(failure({ assets: { directory: "public", html_handling: "add-slash" } })).toBe(
      'wrangler.jsonc:4: assets.html_handling must be one of "auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none" (got "add-slash")',
    );
    expect(failure({ assets: { directory: "public", not_found_handling: "spa" } })).toBe(
      'wrangler.jsonc:4: assets.not_found_handling must be one of "single-page-application", "404-page", "none" (got "spa")',
    );
  });

  it("refuse a run_worker_first pattern that is not a route", () => {
    expect(failure({ assets: { directory: "public", run_worker_first: ["api/*"] } })).toBe(
      'wrangler.jsonc:5: assets.run_worker_first[0] must be a route pattern starting with "/" or "!/" (got "api/*")',
    );
  });

  it("fill the defaults and warn when the directory does not exist yet", () => {
    const config = loadJson(project(), { assets: { directory: "dist" } });
    expect(config.assets).toEqual({ directory: join(config.dir, "dist"), htmlHandling: "auto-trailing-slash", notFoundHandling: "none", runWorkerFirst: false });
    expect(config.warnings).toEqual([
      'wrangler.jsonc: assets.directory "dist" does not exist (yet): no static files are served until it does and the server restarts' +
        " (hearth dev restarts by itself when a build writes .js files into it)",
    ]);
  });
});

describe("other binding errors", () => {
  it("refuse destination_address together with allowed_destination_addresses", () => {
    expect(failure({ send_email: [{ name: "EMAIL", destination_address: "a@x.com", allowed_destination_addresses: ["b@x.com"] }] })).toBe(
      "wrangler.jsonc:5: send_email[0].destination_address cannot be set together with allowed_destination_addresses (keep one)",
    );
  });

  it("refuse duplicate and invalid workflow names", () => {
    const flow = (name: string, binding: string): unknown => ({ binding, name, class_name: "Flow" });
    expect(failure({ workflows: [flow("onboarding", "A"), flow("onboarding", "B")] })).toBe(
      'wrangler.jsonc:10: workflows[1].name "onboarding" is already the name of another workflow (workflow names are unique)',
    );
    expect(failure({ workflows: [flow("on boarding", "A")] })).toBe(
      'wrangler.jsonc:5: workflows[0].name "on boarding" is not a valid workflow name: letters, digits, - and _, at most 64 characters',
    );
  });

  it("require every field of a secrets store secret", () => {
    expect(failure({ secrets_store_secrets: [{ binding: "S", store_id: "x" }] })).toBe(
      "wrangler.jsonc:3: secrets_store_secrets[0].secret_name is required",
    );
  });

  it("warn about unknown keys inside a binding (a typo would otherwise fall back to a default)", () => {
    const config = loadJson(project(), { kv_namespaces: [{ binding: "A", namespace: "x" }] });
    expect(config.warnings).toEqual(['wrangler.jsonc: unknown key "namespace" in kv_namespaces[0] (ignored)']);
  });
});
