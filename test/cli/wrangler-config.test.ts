/**
 * `hearth start` on wrangler projects as wrangler reads them: CLOUDFLARE_ENV and `--env ""`, a
 * Worker with only static assets, `build.command` when `main` is not built, a `script_name` naming
 * the worker itself, and config warnings printed once under `--threads`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir("hearth-wrangler-config-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** The test runner's environment without CLOUDFLARE_ENV, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = cleanEnv(extra);
  if (!("CLOUDFLARE_ENV" in extra)) delete base.CLOUDFLARE_ENV;
  return base;
}

/** Starts the project, answers one request, and stops it: the banner and the answer. */
async function serveOnce(dir: string, args: string[], extra: Record<string, string> = {}, path = "/"): Promise<{ output: string; status: number; body: string }> {
  const server = runCli(["start", "--port", "0", ...args], { cwd: dir, env: env(extra) });
  const base = await server.ready();
  const response = await fetch(`${base}${path}`);
  const body = await response.text();
  server.proc.kill("SIGTERM");
  await server.exited();
  return { output: server.output(), status: response.status, body };
}

const WHO = {
  "wrangler.jsonc": JSON.stringify({ name: "app", main: "src/index.ts", vars: { WHO: "top" }, env: { staging: { vars: { WHO: "staging" } } } }, null, 2),
  "src/index.ts": `export default { fetch: (request, env) => new Response(env.WHO) };\n`,
};

describe("the environment: --env, else CLOUDFLARE_ENV", () => {
  it("CLOUDFLARE_ENV chooses the environment when --env is not given, and the banner says so", async () => {
    const dir = await project(WHO);
    const chosen = await serveOnce(dir, [], { CLOUDFLARE_ENV: "staging" });
    expect(chosen.body).toBe("staging");
    expect(chosen.output).toContain("(env: staging, from CLOUDFLARE_ENV)");
    // --env wins over the variable.
    const flag = await serveOnce(dir, ["--env", "staging"], { CLOUDFLARE_ENV: "nope" });
    expect(flag.body).toBe("staging");
    expect(flag.output).toContain("(env: staging)");
  });

  it('--env "" and an empty CLOUDFLARE_ENV are the top level', async () => {
    const dir = await project(WHO);
    const emptyFlag = await serveOnce(dir, ["--env", ""], { CLOUDFLARE_ENV: "staging" });
    expect(emptyFlag.body).toBe("top");
    expect(emptyFlag.output).not.toContain("(env:");
    expect((await serveOnce(dir, [], { CLOUDFLARE_ENV: "" })).body).toBe("top");
  });

  it("an unknown environment from CLOUDFLARE_ENV is named as such", async () => {
    const dir = await project(WHO);
    const result = spawnSync(process.execPath, [CLI, "start", "--port", "0"], { cwd: dir, env: env({ CLOUDFLARE_ENV: "prod" }), encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain(`no environment found with name "prod" (CLOUDFLARE_ENV=prod)`);
  });
});

describe("hearth secret with CLOUDFLARE_ENV", () => {
  it("works on that environment's secrets, as wrangler's commands do; --env \"\" is the top level", async () => {
    const dir = await project({ "wrangler.jsonc": JSON.stringify({ name: "app", main: "src/index.ts", env: { staging: {} } }) });
    const hearth = (args: string[], extra: Record<string, string>, input?: string) =>
      spawnSync(process.execPath, [CLI, "secret", ...args], { cwd: dir, env: env(extra), encoding: "utf8", timeout: 20_000, ...(input !== undefined ? { input } : {}) });
    expect(hearth(["put", "TOKEN"], { CLOUDFLARE_ENV: "staging" }, "value").stdout).toContain("Saved secret TOKEN for environment staging.");
    const names = (args: string[], extra: Record<string, string>) => (JSON.parse(hearth(["list", ...args], extra).stdout) as { name: string }[]).map(({ name }) => name);
    expect(names(["--env", "staging"], {})).toEqual(["TOKEN"]);
    expect(names([], {})).toEqual([]);
    expect(names(["--env", ""], { CLOUDFLARE_ENV: "staging" })).toEqual([]);
  });

  it("is ignored without a wrangler config, as hearth start ignores it: the secret goes where the server reads it", async () => {
    const dir = await project({ "src/index.ts": "export default { fetch: () => new Response('ok') };\n" });
    const hearth = (args: string[], extra: Record<string, string>, input?: string) =>
      spawnSync(process.execPath, [CLI, "secret", ...args], { cwd: dir, env: env(extra), encoding: "utf8", timeout: 20_000, ...(input !== undefined ? { input } : {}) });
    const saved = hearth(["put", "TOKEN"], { CLOUDFLARE_ENV: "staging" }, "value");
    expect(saved.stdout).toContain("Saved secret TOKEN");
    expect(saved.stdout).not.toContain("staging");
    expect((JSON.parse(hearth(["list"], {}).stdout) as { name: string }[]).map(({ name }) => name)).toEqual(["TOKEN"]);
  });
});

describe("a Worker with only static assets (no main)", () => {
  it("is served: the assets answer every request, not_found_handling included", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ name: "site", compatibility_date: "2025-01-01", assets: { directory: "./public" } }),
      "public/index.html": "<h1>home</h1>",
    });
    const home = await serveOnce(dir, []);
    expect(home.status).toBe(200);
    expect(home.body).toBe("<h1>home</h1>");
    expect(home.output).toContain("static assets only");
    expect((await serveOnce(dir, [], {}, "/missing")).status).toBe(404);

    writeFileSync(join(dir, "wrangler.jsonc"), JSON.stringify({ name: "site", assets: { directory: "./public", not_found_handling: "single-page-application" } }));
    const spa = await serveOnce(dir, [], {}, "/settings/profile");
    expect(spa.status).toBe(200);
    expect(spa.body).toBe("<h1>home</h1>");
  });

  it("with an assets binding is refused, as wrangler refuses it", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ name: "site", assets: { directory: "./public", binding: "ASSETS" } }),
      "public/index.html": "<h1>home</h1>",
    });
    const result = spawnSync(process.execPath, [CLI, "start", "--port", "0"], { cwd: dir, env: env(), encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stdout + result.stderr).toContain("assets.binding cannot be used in an assets-only Worker");
  });
});

describe("build.command", () => {
  it("is named when main is not built yet; Hearth does not run it", async () => {
    const dir = await project({
      "wrangler.toml": `name = "w"\nmain = "dist/index.js"\ncompatibility_date = "2025-01-01"\n[build]\ncommand = "npm run build"\n`,
    });
    const result = spawnSync(process.execPath, [CLI, "start", "--port", "0"], { cwd: dir, env: env(), encoding: "utf8", timeout: 20_000 });
    const output = result.stdout + result.stderr;
    expect(result.status).not.toBe(0);
    expect(output).toContain(`Entry file not found: ${join("dist", "index.js")}`);
    expect(output).toContain("wrangler's build.command is `npm run build`: run it first");
  });
});

describe("a script_name naming the worker itself", () => {
  it("binds the class locally (the name resolved for the environment)", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        name: "app",
        main: "src/index.ts",
        env: {
          staging: {
            durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter", script_name: "app-staging" }] },
            migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
          },
        },
      }),
      "src/index.ts": `import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  async inc() { const n = ((await this.ctx.storage.get("n")) ?? 0) + 1; await this.ctx.storage.put("n", n); return n; }
}
export default { fetch: async (request, env) => new Response(String(await env.COUNTER.get(env.COUNTER.idFromName("a")).inc())) };
`,
    });
    const served = await serveOnce(dir, ["--env", "staging"]);
    expect(served.body).toBe("1");
    expect(served.output).not.toContain("is not available on Hearth");
  });
});

describe("config warnings under --threads", () => {
  it("are printed once, not once per thread", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ name: "w", main: "src/index.ts", vectorize: [{ binding: "VECTORS", index_name: "docs" }] }),
      "src/index.ts": `export default { fetch: () => new Response("ok") };\n`,
    });
    // Stopped and exited before counting: every thread's output has arrived by then.
    const served = await serveOnce(dir, ["--threads", "2"]);
    expect(served.body).toBe("ok");
    expect(served.output.match(/env\.VECTORS \(vectorize, wrangler\.jsonc:1\) is not available on Hearth/g)).toHaveLength(1);
  });
});
