import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, cleanup, requireBuild, ROOT, tempDir } from "./helpers.ts";

/**
 * The commands that are not servers answer from a small part of the package: `hearth inspect` is an
 * HTTP client of the inspector, and loading the runtime for it (~650 modules) made every call take
 * ~0.6 s of CPU, in scripts as in the test suite. Checked by the modules a command loads, not by time.
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
  const line = result.stderr.split("\n").find((text) => text.startsWith("MODULES "));
  if (line === undefined) throw new Error(`no module list in:\n${result.stderr}`);
  return { loaded: (JSON.parse(line.slice("MODULES ".length)) as string[]).map((url) => url.replace(`file://${ROOT}`, "")), stderr: result.stderr };
}

const RUNTIME = ["/dist/index.js", "/dist/host/host.js", "/dist/storage/database.js", "/dist/sandbox/loader.js"];

describe("commands that are not servers", () => {
  it("hearth inspect with --data loads none of the runtime", () => {
    const { loaded, stderr } = modulesOf(["inspect", "agents", "--data", join(dir, "data")]);
    expect(stderr).toContain("No running inspector for"); // it ran to where it needs the server
    expect(loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
  });

  it("nor with HEARTH_DATA_DIR, nor with --url", () => {
    expect(modulesOf(["inspect", "agents"], { HEARTH_DATA_DIR: join(dir, "data") }).loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
    expect(modulesOf(["inspect", "agents", "--url", "http://127.0.0.1:9", "--token", "t"]).loaded.filter((url) => RUNTIME.includes(url))).toEqual([]);
  });
});
