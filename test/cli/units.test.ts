import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { closest, COMMANDS, parseCommandLine, toStartArgs, USAGE } from "../../src/cli/args.ts";
import { TOOLS } from "../../src/cli/tools.ts";
import { agentSegment, formatBanner, reachableUrl } from "../../src/cli/banner.ts";
import { exportVars, loadVarFiles } from "../../src/cli/env-files.ts";
import { defaultOf } from "../../src/cli/entry-file.ts";
import { CliError, isRecoverable, kindOfUnexpected } from "../../src/cli/errors.ts";
import { loadProjectVars } from "../../src/cli/project-vars.ts";
import { loadProjectConfig } from "../../src/config/index.ts";
import { isIgnoredPath, isWatchedFile } from "../../src/cli/watcher.ts";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function usageError(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error("expected a CliError");
}

describe("parseCommandLine", () => {
  const cwd = "/work/app";

  it("serves metrics unless --no-metrics or HEARTH_METRICS=0, and passes that on to the child", () => {
    const serveOptions = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const request = parseCommandLine(argv, env, cwd);
      if (request.kind !== "serve") throw new Error("expected serve");
      return request.options;
    };
    expect(serveOptions(["start", "a.ts"]).metrics).toBeUndefined();
    expect(serveOptions(["start", "a.ts", "--no-metrics"]).metrics).toBe(false);
    expect(serveOptions(["start", "a.ts"], { HEARTH_METRICS: "0" }).metrics).toBe(false);
    expect(toStartArgs(serveOptions(["dev", "a.ts", "--no-metrics"]))).toContain("--no-metrics");
    expect(toStartArgs(serveOptions(["dev", "a.ts"]))).not.toContain("--no-metrics");
  });

  it("reads the trace and inspector settings, and refuses contradictions", () => {
    const options = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const request = parseCommandLine(argv, env, cwd);
      if (request.kind !== "serve") throw new Error("expected serve");
      return request.options;
    };
    expect(options(["start", "a.ts"])).not.toHaveProperty("traces");
    expect(options(["start", "a.ts", "--no-traces"]).traces).toBe(false);
    expect(options(["start", "a.ts"], { HEARTH_TRACES: "0" }).traces).toBe(false);
    expect(options(["start", "a.ts", "--inspector", "--inspector-port", "9001", "--inspector-host", "0.0.0.0"])).toMatchObject({ inspector: true, inspectorPort: 9001, inspectorHost: "0.0.0.0" });
    expect(options(["start", "a.ts"], { HEARTH_INSPECTOR: "1", HEARTH_INSPECTOR_PORT: "9002" })).toMatchObject({ inspector: true, inspectorPort: 9002 });
    expect(options(["start", "a.ts", "--inspector-allowed-hosts", "ops.example.com, inspect.local"]).inspectorAllowedHosts).toEqual(["ops.example.com", "inspect.local"]);
    expect(toStartArgs(options(["dev", "a.ts", "--inspector-allowed-hosts", "a,b"]))).toEqual(expect.arrayContaining(["--inspector-allowed-hosts", "a,b"]));
    expect(toStartArgs(options(["dev", "a.ts", "--no-inspector"]))).toContain("--no-inspector");
    expect(toStartArgs(options(["dev", "a.ts"]))).toContain("--inspector");
    expect(toStartArgs(options(["start", "a.ts"]))).not.toContain("--inspector");
    expect(usageError(() => parseCommandLine(["dev", "a.ts", "--inspector", "--no-inspector"], {}, cwd)).message).toContain("--inspector and --no-inspector contradict each other");
    expect(usageError(() => parseCommandLine(["dev", "a.ts", "--inspector-port", "x"], {}, cwd)).message).toContain("--inspector-port must be a port number");
  });

  it("applies defaults", () => {
    expect(parseCommandLine(["dev", "src/index.ts"], {}, cwd)).toEqual({
      kind: "serve",
      options: {
        command: "dev",
        entry: "src/index.ts",
        port: 8787,
        host: "127.0.0.1",
        dataDir: resolve(cwd, ".hearth"),
        durability: undefined,
        defaulted: ["port", "host", "dataDir", "durability"],
      },
    });
    const bare = parseCommandLine(["dev"], {}, cwd);
    expect(bare.kind === "serve" && bare.options.entry).toBeUndefined();
  });

  it("lets flags win over HEARTH_* variables, which win over defaults", () => {
    const env = { HEARTH_PORT: "9000", HEARTH_HOST: "0.0.0.0", HEARTH_DATA_DIR: "/var/hearth" };
    const fromEnv = parseCommandLine(["start", "a.ts"], env, cwd);
    expect(fromEnv.kind === "serve" && fromEnv.options).toMatchObject({ port: 9000, host: "0.0.0.0", dataDir: "/var/hearth" });
    const fromFlags = parseCommandLine(["start", "a.ts", "--port", "0", "--host", "::1", "--data", "d", "--durability", "relaxed"], env, cwd);
    expect(fromFlags.kind === "serve" && fromFlags.options).toMatchObject({
      port: 0,
      host: "::1",
      dataDir: resolve(cwd, "d"),
      durability: "relaxed",
    });
  });

  it("ignores empty HEARTH_* variables but rejects bad ones", () => {
    const empty = parseCommandLine(["start", "a.ts"], { HEARTH_PORT: "", HEARTH_DATA_DIR: " " }, cwd);
    expect(empty.kind === "serve" && empty.options).toMatchObject({ port: 8787, dataDir: resolve(cwd, ".hearth") });
    expect(usageError(() => parseCommandLine(["start", "a.ts"], { HEARTH_PORT: "80a" }, cwd)).message).toContain("HEARTH_PORT");
    expect(usageError(() => parseCommandLine(["start", "a.ts", "--port", "70000"], {}, cwd)).exitCode).toBe(2);
  });

  it("recognises help and version before anything else", () => {
    expect(parseCommandLine(["dev", "--help"], {}, cwd)).toEqual({ kind: "help", command: "dev" });
    expect(parseCommandLine(["start", "-h"], {}, cwd)).toEqual({ kind: "help", command: "start" });
    expect(parseCommandLine(["--help"], {}, cwd)).toEqual({ kind: "help" });
    expect(parseCommandLine(["-v"], {}, cwd)).toEqual({ kind: "version" });
  });

  it("takes the environment from --env, else CLOUDFLARE_ENV; an empty one is the top level", () => {
    const envOf = (argv: string[], env: NodeJS.ProcessEnv) => {
      const request = parseCommandLine(argv, env, cwd);
      if (request.kind !== "serve") throw new Error("expected serve");
      return { envName: request.options.envName, envFrom: request.options.envFrom, args: toStartArgs(request.options) };
    };
    expect(envOf(["start", "a.ts"], { CLOUDFLARE_ENV: "staging" })).toMatchObject({ envName: "staging", envFrom: "CLOUDFLARE_ENV" });
    expect(envOf(["start", "a.ts", "--env", "prod"], { CLOUDFLARE_ENV: "staging" })).toMatchObject({ envName: "prod", envFrom: "--env" });
    expect(envOf(["start", "a.ts", "--env", ""], { CLOUDFLARE_ENV: "staging" })).toMatchObject({ envName: undefined, envFrom: "--env" });
    expect(envOf(["start", "a.ts", "--env="], {})).toMatchObject({ envName: undefined, envFrom: "--env" });
    expect(envOf(["start", "a.ts"], { CLOUDFLARE_ENV: "" })).toMatchObject({ envName: undefined, envFrom: "CLOUDFLARE_ENV" });
    expect(envOf(["start", "a.ts"], {})).toMatchObject({ envName: undefined, envFrom: undefined });
    // dev's child inherits CLOUDFLARE_ENV and chooses again; `--env ""` travels, so the variable cannot override it.
    expect(envOf(["dev", "a.ts"], { CLOUDFLARE_ENV: "staging" }).args).not.toContain("--env");
    expect(envOf(["dev", "a.ts", "--env", ""], { CLOUDFLARE_ENV: "staging" }).args).toEqual(expect.arrayContaining(["--env", ""]));
    expect(usageError(() => parseCommandLine(["start", "a.ts", "--env"], {}, cwd)).message).toContain("--env needs a value");
  });

  it("round-trips options through toStartArgs", () => {
    const parsed = parseCommandLine(["dev", "e.ts", "--port", "1234", "--durability", "strict", "--env", "staging", "--config", "w.toml"], {}, cwd);
    if (parsed.kind !== "serve") throw new Error("expected serve");
    expect(parsed.options).toMatchObject({ envName: "staging", configPath: resolve(cwd, "w.toml"), defaulted: ["host", "dataDir"] });
    // What was given travels as a flag; what was defaulted stays open for the child to resolve from
    // its project files (dev runs it in the same working directory).
    expect(toStartArgs(parsed.options)).not.toContain("--host");
    const again = parseCommandLine(toStartArgs(parsed.options), {}, cwd);
    // dev's inspector (on by default) travels as a flag: `start` has it off unless asked.
    expect(again).toEqual({ kind: "serve", options: { ...parsed.options, command: "start", inspector: true } });
    const explicit = parseCommandLine(["dev", "e.ts", "--data", "/var/d", "--host", "::1"], {}, cwd);
    if (explicit.kind !== "serve") throw new Error("expected serve");
    expect(parseCommandLine(toStartArgs(explicit.options), {}, "/elsewhere")).toMatchObject({ options: { dataDir: "/var/d", host: "::1" } });
  });
});

describe("loadVarFiles", () => {
  it("reads .env then .dev.vars; the process environment wins only for declared names", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-vars-"));
    dirs.push(dir);
    await writeFile(join(dir, ".env"), "A=1\nB=from-env\n# comment\nQUOTED=\"two words\"\n");
    await writeFile(join(dir, ".dev.vars"), "B=from-dev-vars\nC=3\n");
    const { vars, files } = loadVarFiles(dir, { C: "shell", D: "undeclared" });
    expect(vars).toEqual({ A: "1", B: "from-dev-vars", QUOTED: "two words", C: "shell" });
    expect(files).toEqual([join(dir, ".env"), join(dir, ".dev.vars")]);
  });

  it("parses as wrangler does (dotenv.parse): escaped quotes, an unclosed quote, KEY: value", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-vars-"));
    dirs.push(dir);
    await writeFile(join(dir, ".env"), 'JSON="{\\"a\\":1}"\nOPEN="unclosed\nAFTER=after\nCOLON: value\n');
    expect(loadVarFiles(dir, {}).vars).toEqual({ JSON: '{\\"a\\":1}', OPEN: '"unclosed', AFTER: "after", COLON: "value" });
  });

  it("is empty without files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-vars-"));
    dirs.push(dir);
    expect(loadVarFiles(dir, {})).toEqual({ vars: {}, files: [] });
  });

  it("exports vars without overwriting the environment", () => {
    const env: NodeJS.ProcessEnv = { KEEP: "mine" };
    exportVars({ KEEP: "theirs", NEW: "added" }, env);
    expect(env).toEqual({ KEEP: "mine", NEW: "added" });
  });
});

describe("--help on vars files", () => {
  it("says what the loaders do: with a config .dev.vars and .env never combine; without one both are read", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-vars-"));
    dirs.push(dir);
    await writeFile(join(dir, "wrangler.jsonc"), `{ "main": "src/index.ts", "vars": { "A": "config" }, "env": { "staging": {} } }`);
    await writeFile(join(dir, ".env"), "B=from-env\n");
    await writeFile(join(dir, ".dev.vars"), "A=from-dev-vars\nC=3\n");
    await writeFile(join(dir, ".dev.vars.staging"), "C=staging\n");
    const load = (envName: string | undefined, processEnv: NodeJS.ProcessEnv) =>
      loadProjectVars(loadProjectConfig({ path: join(dir, "wrangler.jsonc"), envName }), join(dir, ".hearth"), processEnv).vars;
    expect(load(undefined, { C: "shell", D: "undeclared" })).toEqual({ A: "from-dev-vars", C: "shell" });
    expect(load("staging", {})).toEqual({ C: "staging" });
    expect(loadVarFiles(dir, {}).vars).toEqual({ A: "from-dev-vars", B: "from-env", C: "3" });
    const help = USAGE.replace(/\s+/g, " ");
    expect(help).toContain(
      "With a wrangler config: its vars; secrets stored with hearth secret put; then, from the config's directory, .dev.vars.<env> " +
        "(with --env, when it exists) or else .dev.vars, or, only when neither exists, .env, .env.local, .env.<env>, .env.<env>.local " +
        "(later file wins). The .dev.vars and .env files are never combined, as in wrangler.",
    );
    expect(help).toContain("Without one: ./.env, then ./.dev.vars (later file wins).");
    expect(help).toContain("a name set in one of those is taken from the process environment when it is set there too");
    expect(help).not.toContain("Only names listed in those files reach agents");
  });
});

describe("vars files and bindings", () => {
  it("refuses a var named like a binding, naming the file and the binding; a var may still replace a config var", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hearth-vars-"));
    dirs.push(dir);
    await writeFile(join(dir, "wrangler.jsonc"), `{ "main": "src/index.ts", "vars": { "GREETING": "config" }, "kv_namespaces": [{ "binding": "KV", "id": "a" }] }`);
    await writeFile(join(dir, ".dev.vars"), "GREETING=from-file\nKV=oops\n");
    const load = () => loadProjectVars(loadProjectConfig({ path: join(dir, "wrangler.jsonc") }), join(dir, ".hearth"), {});
    expect(load).toThrow("The var KV from .dev.vars has the name of the kv_namespaces binding KV in wrangler.jsonc: env.KV holds one value. Rename the var.");
    await writeFile(join(dir, ".dev.vars"), "GREETING=from-file\n");
    expect(load().vars).toEqual({ GREETING: "from-file" });
  });
});

describe("commands", () => {
  it("names every command an unknown one could have meant", () => {
    expect([...COMMANDS].sort()).toEqual(["dev", "start", ...Object.keys(TOOLS)].sort());
    expect(closest("strat", COMMANDS)).toBe("start");
    expect(closest("--prot", ["--port", "--host"])).toBe("--port");
    expect(closest("--frobnicate", ["--port", "--host"])).toBeUndefined();
  });
});

describe("an entry's default export", () => {
  it("is export default, also when compiled to CommonJS; a CommonJS module with only named exports has none", () => {
    const handler = { fetch: () => new Response("") };
    expect(defaultOf({ default: handler })).toBe(handler);
    expect(defaultOf({ default: { __esModule: true, default: handler, Counter: class {} } })).toBe(handler);
    expect(defaultOf({ default: { __esModule: true, Counter: class {} }, Counter: class {} })).toBeUndefined();
    // module.exports = { fetch } in plain CommonJS is the default export.
    expect(defaultOf({ default: handler, fetch: handler.fetch })).toBe(handler);
    expect(defaultOf({ Counter: class {} })).toBeUndefined();
  });
});

describe("failures hearth dev does not wait on", () => {
  it("stops on what the system refuses (a directory it cannot make, no space), waits on the project's own errors", async () => {
    const { mkdirSync } = await import("node:fs");
    let refused: unknown;
    try {
      mkdirSync(join(import.meta.dirname, "helpers.ts", "inside-a-file"));
    } catch (error) {
      refused = error;
    }
    expect(kindOfUnexpected(refused)).toBe("startup");
    expect(isRecoverable(kindOfUnexpected(refused)!)).toBe(false);
    expect(kindOfUnexpected(new TypeError("this.foo is not a function"))).toBeUndefined();
    expect(kindOfUnexpected(Object.assign(new Error("custom"), { code: "E_MY_APP" }))).toBeUndefined();
  });
});

describe("dev watcher filter", () => {
  it("ignores dependencies, dot-directories, dotfiles and editor backups", () => {
    for (const path of ["node_modules/x/index.js", ".hearth/a.sqlite", "src/.index.ts.swp", ".git/HEAD", "src/index.ts~"]) {
      expect(isIgnoredPath(path), path).toBe(true);
    }
    for (const path of ["index.ts", "src/agents/chat.ts", "README.md"]) {
      expect(isIgnoredPath(path), path).toBe(false);
    }
  });

  it("restarts for code and JSON only", () => {
    for (const path of ["index.ts", "src/a.mts", "lib/b.js", "config.json", "ui/App.tsx"]) {
      expect(isWatchedFile(path), path).toBe(true);
    }
    for (const path of ["server.log", "data/agents.sqlite", "README.md", "node_modules/x/index.js", "src/.tmp.ts"]) {
      expect(isWatchedFile(path), path).toBe(false);
    }
  });
});

describe("banner", () => {
  it("maps binding names to URL segments", () => {
    expect(agentSegment("Counter")).toBe("counter");
    expect(agentSegment("ChatRoom")).toBe("chat-room");
    expect(agentSegment("MY_AGENT")).toBe("my-agent");
  });

  it("shows a server on every address at loopback", () => {
    expect(reachableUrl("http://0.0.0.0:8787/metrics")).toBe("http://127.0.0.1:8787/metrics");
    expect(reachableUrl("http://[::]:8787")).toBe("http://[::1]:8787");
    expect(reachableUrl("http://0.0.0.0.nip.io:8787")).toBe("http://0.0.0.0.nip.io:8787");
    expect(reachableUrl("http://192.168.1.5:8787")).toBe("http://192.168.1.5:8787");
  });

  it("lists every agent with its route", () => {
    const text = stripVTControlCharacters(formatBanner({
      command: "dev",
      entry: "src/index.ts",
      agents: ["Counter", "ChatRoom"],
      hasFetch: true,
      url: "http://127.0.0.1:8787",
      dataDir: "/app/.hearth",
      durability: "relaxed",
    }));
    expect(text.split("\n")).toEqual([
      "hearth dev · src/index.ts",
      "  agents   Counter   → http://127.0.0.1:8787/agents/counter/:name",
      "           ChatRoom  → http://127.0.0.1:8787/agents/chat-room/:name",
      "  fetch    default export handles every request",
      "  data     /app/.hearth  (durability: relaxed)",
      "  ready    http://127.0.0.1:8787",
    ]);
  });

  it("names each workflow binding in the call that starts an instance", () => {
    const text = stripVTControlCharacters(
      formatBanner({ command: "dev", entry: "w.ts", agents: ["TaskAgent"], workflows: ["TASK_WORKFLOW", "Cleanup"], hasFetch: false, url: "http://h", dataDir: "/d", durability: "relaxed" }),
    );
    expect(text.split("\n").filter((line) => line.includes("create()"))).toEqual([
      "  workflow TASK_WORKFLOW  (env.TASK_WORKFLOW.create())",
      "           Cleanup  (env.Cleanup.create())",
    ]);
    expect(text).not.toContain("<name>");
  });

  it("shows the MCP endpoint when the default export is one", () => {
    const text = stripVTControlCharacters(
      formatBanner({
        command: "dev",
        entry: "mcp.ts",
        agents: ["Todos"],
        hasFetch: true,
        mcp: { path: "/mcp", transport: "streamable-http" },
        url: "http://127.0.0.1:8787",
        dataDir: "/d",
        durability: "relaxed",
      }),
    );
    expect(text).toContain("  mcp      http://127.0.0.1:8787/mcp  (Streamable HTTP; one agent per session)");
    expect(text).not.toContain("default export handles every request");
  });

  it("says how many agents have scheduled work and when the first is due", () => {
    const base = { command: "start" as const, entry: "e.ts", agents: ["A"], hasFetch: false, url: "http://h", dataDir: "/d", durability: "strict" };
    const lines = (pendingTasks: { agents: number; nextAt: number | null }) =>
      stripVTControlCharacters(formatBanner({ ...base, pendingTasks })).split("\n");
    expect(lines({ agents: 3, nextAt: Date.UTC(2030, 0, 2, 9) })).toContain(
      "  tasks    3 agents with scheduled work, next due 2030-01-02T09:00:00.000Z",
    );
    expect(lines({ agents: 0, nextAt: null }).some((line) => line.includes("tasks"))).toBe(false);
  });
});

describe("inspectModule", () => {
  it("takes a default-exported function that carries fetch (createMcpHandler's shape) as the worker", async () => {
    const { inspectModule } = await import("../../src/cli/entry.ts");
    const handler = Object.assign(() => undefined, {
      fetch: async () => new Response("from handler"),
      endpoint: { path: "/mcp", transport: "auto" },
    });
    const entry = inspectModule({ default: handler }, "/app/src/index.ts", "src/index.ts");
    expect(entry.fetch).toBeTypeOf("function");
    expect(await (await entry.fetch!(new Request("http://x/mcp"), {}, { waitUntil() {}, passThroughOnException() {} })).text()).toBe("from handler");
    expect(entry.mcp).toEqual({ path: "/mcp", transport: "auto" });
    expect(stripVTControlCharacters(formatBanner({ command: "dev", entry: "src/index.ts", agents: [], hasFetch: true, url: "http://127.0.0.1:8787", dataDir: ".hearth", durability: "relaxed", ...(entry.mcp ? { mcp: entry.mcp } : {}) }))).toMatch(
      /Streamable HTTP \+ legacy SSE/,
    );
  });
});
