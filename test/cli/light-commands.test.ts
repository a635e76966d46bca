import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, cleanup, requireBuild, ROOT, runCli, tempDir } from "./helpers.ts";

/**
 * The commands that are not servers answer from a small part of the package: `hearth inspect` is an
 * HTTP client of the inspector, and loading the runtime for it (~650 modules) made every call take
 * ~0.6 s of CPU, in scripts as in the test suite. A server loads the cluster's code only with
 * `--cluster` and the inspector's only when it runs one. Checked by the modules loaded, not by time.
 */
let dir: string;
let hook: string;

beforeAll(async () => {
  requireBuild();
  dir = await tempDir("hearth-light-");
  hook = join(dir, "record-modules.mjs");
  writeFileSync(
    hook,
    [
      'import { registerHooks } from "node:module";',
      'import { writeSync } from "node:fs";',
      "const loaded = [];",
      "registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });",
      'process.on("exit", () => writeSync(2, `\\nMODULES ${JSON.stringify(loaded)}\\n`));',
    ].join("\n"),
  );
});
afterAll(cleanup);

function modulesOf(args: readonly string[], env: Record<string, string> = {}): { loaded: string[]; stderr: string } {
  const result = spawnSync(process.execPath, ["--import", hook, CLI, ...args], { cwd: dir, env: cleanEnv(env), encoding: "utf8" });
  return { loaded: listed(result.stderr), stderr: result.stderr };
}

function listed(stderr: string): string[] {
  const line = stderr.split("\n").find((text) => text.startsWith("MODULES "));
  if (line === undefined) throw new Error(`no module list in:\n${stderr}`);
  const root = pathToFileURL(join(ROOT, "/")).href; // paths relative to the checkout: "dist/cli/main.js"
  return (JSON.parse(line.slice("MODULES ".length)) as string[]).map((url) => url.replace(root, ""));
}

const RUNTIME = ["dist/index.js", "dist/host/host.js", "dist/storage/database.js", "dist/sandbox/loader.js"];

describe("commands that are not servers", () => {
  it("hearth inspect with --data loads none of the runtime", () => {
    const { loaded, stderr } = modulesOf(["inspect", "agents", "--data", join(dir, "data")]);
    expect(stderr).toContain("No running inspector for"); // it ran to where it needs the server
    expect(loaded).toContain("dist/cli/tools.js");
    expect(loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
  });

  it("nor with HEARTH_DATA_DIR, nor with --url", () => {
    expect(modulesOf(["inspect", "agents"], { HEARTH_DATA_DIR: join(dir, "data") }).loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
    expect(modulesOf(["inspect", "agents", "--url", "http://127.0.0.1:9", "--token", "t"]).loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
  });

  it("hearth start without --cluster or --inspector serves without loading either", async () => {
    const server = runCli(["start", join(ROOT, "examples", "counter", "src", "index.ts"), "--port", "0", "--data", join(dir, "served")], {
      env: cleanEnv({ NODE_OPTIONS: `--import ${hook}` }),
    });
    const url = await server.ready();
    expect((await fetch(`${url}/agents/counter/light`)).status).toBeLessThan(500); // it serves
    server.proc.kill("SIGTERM");
    await server.exited();
    const loaded = listed(server.stderr());
    expect(loaded).toContain("dist/host/host.js");
    expect(loaded.filter((url) => url.startsWith("dist/cluster/") || url.startsWith("dist/inspector/") || url.includes("node_modules/pg/"))).toEqual([]);
  });
});
