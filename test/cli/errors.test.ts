import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, FIXTURES, ROOT, cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

describe("hearth errors and usage", () => {
  it("reports a missing entry file and exits non-zero", async () => {
    // The processes start side by side (as in the tests below): each is independent of the others.
    const clis = [];
    for (const command of ["start", "dev"]) clis.push(runCli([command, "src/does-not-exist.ts", "--port", "0", "--data", await tempDir()]));
    for (const cli of clis) {
      const { code } = await cli.exited();
      expect(code).toBe(1);
      expect(cli.stderr()).toContain("Entry file not found: src/does-not-exist.ts");
      expect(cli.stderr()).toContain(join(ROOT, "src/does-not-exist.ts"));
      expect(cli.stderr()).not.toMatch(/\n\s+at /); // no stack trace for an expected error
    }
  });

  it("says in one line why the data directory cannot be used, and exits 1 (dev too, instead of waiting)", async () => {
    const dir = await tempDir();
    const file = join(dir, "a-file");
    writeFileSync(file, "not a directory\n");
    const cases: Array<[string, RegExp]> = [
      [file, /it is a file, not a directory/],
      [join(file, "data"), /a part of its path is a file, not a directory/],
    ];
    // sysfs refuses new directories to everyone.
    if (existsSync("/sys/kernel")) cases.push(["/sys/hearth-data", /permission denied|not permitted|read-only/]);
    const clis = cases.flatMap(([data]) => ["start", "dev"].map((command) => runCli([command, "examples/counter/src/index.ts", "--port", "0", "--data", data])));
    for (const [i, cli] of clis.entries()) {
      const [data, reason] = cases[Math.floor(i / 2)]!;
      const { code } = await cli.exited();
      expect(code, cli.output()).toBe(1);
      const lines = cli.stderr().trim().split("\n");
      expect(lines, cli.output()).toHaveLength(1);
      expect(lines[0]).toContain(`cannot use data directory ${data}: `);
      expect(lines[0]).toMatch(reason);
      expect(cli.output()).not.toContain("waiting");
    }
  });

  it("names the port in use, suggests --port and exits non-zero", async () => {
    await withTakenPort(async (port) => {
      const clis = [];
      for (const command of ["start", "dev"]) clis.push(runCli([command, "examples/counter/src/index.ts", "--port", String(port), "--data", await tempDir()]));
      for (const cli of clis) {
        const { code } = await cli.exited();
        expect(code).toBe(1);
        expect(cli.stderr()).toContain(`Port ${port} is already in use on 127.0.0.1`);
        expect(cli.stderr()).toContain("--port");
      }
    });
  });

  it("names a taken --smtp-port once, without a stack trace", async () => {
    await withTakenPort(async (port) => {
      const cli = runCli(["start", "examples/counter/src/index.ts", "--port", "0", "--smtp-port", String(port), "--data", await tempDir()]);
      expect((await cli.exited()).code).toBe(1);
      expect(cli.stderr()).toContain(`Port ${port} is already in use on 127.0.0.1. Stop the other server or pick another port with --smtp-port <n>`);
      expect(cli.output()).not.toContain("EADDRINUSE");
      expect(cli.output()).not.toMatch(/\n\s+at |\\n\s+at /);
    });
  });

  it("reports an entry that throws while importing", async () => {
    const cli = runCli(["start", join(FIXTURES, "throws.ts"), "--port", "0", "--data", await tempDir()]);
    const { code } = await cli.exited();
    expect(code).toBe(1);
    expect(cli.stderr()).toContain("throws.ts threw while loading");
    expect(cli.stderr()).toContain("kaboom while importing the entry");
  });

  it("shows a syntax error where it is, with its line, and no compiler stack", async () => {
    const dir = await tempDir();
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "broken.ts"), 'export class A {\n  f() { return "x" }\n}}\n');
    writeFileSync(join(dir, "broken.js"), 'export class A {\n  f() { return "x" }\n}}\n');
    writeFileSync(join(dir, "imports.ts"), 'import "./lib.ts";\nexport const x = 1;\n');
    writeFileSync(join(dir, "lib.ts"), "export const a = ;\n");
    const run = (entry: string) => runCli(["start", entry, "--port", "0", "--data", join(dir, `.hearth-${entry}`)], { cwd: dir });
    const [ts, js, imported] = [run("broken.ts"), run("broken.js"), run("imports.ts")];
    for (const [cli, file] of [[ts, "broken.ts"], [js, "broken.js"]] as const) {
      expect((await cli.exited()).code).toBe(1);
      expect(cli.stderr()).toContain(`syntax error in ${file}:3:2: Unexpected "}"`);
      expect(cli.stderr()).toContain('    2 |   f() { return "x" }\n  > 3 | }}\n      |  ^');
      expect(cli.stderr()).not.toMatch(/\n\s+at /);
      expect(cli.stderr()).not.toContain("esbuild");
    }
    expect((await imported.exited()).code).toBe(1);
    expect(imported.stderr()).toContain('syntax error in lib.ts:1:18: Unexpected ";"\n  > 1 | export const a = ;\n      |                  ^\n  (imported while loading imports.ts)');
    expect(imported.stderr()).not.toMatch(/\n\s+at /);
  });

  it("serves a CommonJS project's named agents without a warning, and says how to allow top-level await", async () => {
    const dir = await tempDir();
    // npm init's package.json: CommonJS.
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "cjs-app", version: "1.0.0", type: "commonjs" }));
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(ROOT, join(dir, "node_modules", "hearth"), "dir");
    writeFileSync(join(dir, "only.ts"), 'import { Agent } from "hearth";\nexport class Only extends Agent { onRequest() { return new Response("only"); } }\n');
    writeFileSync(join(dir, "tla.ts"), 'import { Agent } from "hearth";\nconst v = await Promise.resolve(1);\nexport class Tla extends Agent {}\n');
    const only = runCli(["start", "only.ts", "--port", "0", "--data", join(dir, "d1")], { cwd: dir });
    const tla = runCli(["start", "tla.ts", "--port", "0", "--data", join(dir, "d2")], { cwd: dir });
    const url = await only.ready();
    expect(await (await fetch(`${url}/agents/only/a`)).text()).toBe("only");
    expect(only.stderr()).not.toContain("default export");
    expect(only.stderr()).toBe("");

    expect((await tla.exited()).code).toBe(1);
    expect(tla.stderr()).toContain("tla.ts:2:11: Top-level await is currently not supported");
    expect(tla.stderr()).toContain('hint: the file was compiled as CommonJS (its package.json has no "type": "module")');
    expect(tla.stderr()).not.toMatch(/\n\s+at /);
  });

  it("warns about an entry without agents but still serves its fetch", async () => {
    const cli = runCli(["start", join(FIXTURES, "worker-only.ts"), "--port", "0", "--data", await tempDir()]);
    const url = await cli.ready();
    expect(cli.stderr()).toContain("exports no Agent classes; only its fetch handler is served");
    const response = await fetch(`${url}/hello`);
    expect(await response.text()).toBe("worker saw /hello");
  });

  it("refuses an entry with neither agents nor a fetch handler", async () => {
    const cli = runCli(["start", join(FIXTURES, "nothing.ts"), "--port", "0", "--data", await tempDir()]);
    const { code } = await cli.exited();
    expect(code).toBe(1);
    expect(cli.stderr()).toContain("nothing to serve");
  });

  it("rejects unknown flags and bad values with exit code 2", async () => {
    const cases: Array<[string[], string]> = [
      [["start", "x.ts", "--prot", "1"], "error unknown option --prot (did you mean --port?)\nRun `hearth --help` for usage."],
      [["dev", "x.ts", "--inspectr"], "unknown option --inspectr (did you mean --inspector?)"],
      [["start", "x.ts", "--frobnicate"], "error unknown option --frobnicate\n"],
      [["start", "x.ts", "--port"], "error --port needs a value."],
      [["frobnicate"], 'Unknown command "frobnicate" (expected dev, start, secret, d1, inspect or cluster)'],
      [["strat", "x.ts"], 'Unknown command "strat": did you mean start?'],
      [["dev", "x.ts", "--port", "9380", "--inspector-port", "9380"], "--inspector-port and --port must differ (both are 9380): the inspector needs a port of its own"],
      [["start", "x.ts", "--port", "http"], "--port must be a port number"],
      [["start", "x.ts", "--durability", "maybe"], '--durability must be "strict" or "relaxed"'],
      [["serve", "x.ts"], 'Unknown command "serve"'],
      [["dev"], "Missing entry file"],
      [[], "Missing command"],
    ];
    const clis = cases.map(([args]) => runCli(args));
    for (const [i, [args, message]] of cases.entries()) {
      const cli = clis[i]!;
      const { code } = await cli.exited();
      expect(code, args.join(" ")).toBe(2);
      expect(cli.stderr()).toContain(message);
      expect(cli.stderr(), args.join(" ")).not.toContain("To specify a positional argument");
    }
  });

  // A system Node older than the runtime's: the one a global `npm i -g hearth` may run under.
  const oldNode = olderNode("/usr/bin/node");
  it.skipIf(oldNode === undefined)("refuses a Node older than 22.12 in one line, before loading the runtime", () => {
    const result = spawnSync(oldNode!.path, [CLI, "start", "examples/counter/src/index.ts", "--port", "0"], { cwd: ROOT, encoding: "utf8", env: cleanEnv() });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(`error Hearth needs Node ≥ 22.12; this is ${oldNode!.version}`);
    expect(result.stdout).toBe("");
  });

  it("prints help and the version", async () => {
    const help = runCli(["--help"]);
    const version = runCli(["--version"]);
    expect((await help.exited()).code).toBe(0);
    expect(help.stdout()).toContain("Usage: hearth <command> [entry] [options]");
    expect(help.stdout()).toContain("--durability <strict|relaxed>");

    expect((await version.exited()).code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout().trim()).toBe(pkg.version);
  });
});

/** Runs `fn` with a loopback port another server holds. */
async function withTakenPort(fn: (port: number) => Promise<void>): Promise<void> {
  const blocker = createServer();
  blocker.listen(0, "127.0.0.1");
  await once(blocker, "listening");
  const address = blocker.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  try {
    await fn(address.port);
  } finally {
    blocker.close();
  }
}

/** The Node at `path` and its version, when it is there and older than 22.12. */
function olderNode(path: string): { path: string; version: string } | undefined {
  if (!existsSync(path)) return undefined;
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "";
  const [major = 0, minor = 0] = version.replace(/^v/, "").split(".").map(Number);
  return major > 0 && (major < 22 || (major === 22 && minor < 12)) ? { path, version } : undefined;
}
