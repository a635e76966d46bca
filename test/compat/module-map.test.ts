/**
 * The module map: after `registerModuleMap()`, a project's `agents`, `agents/*`, `cloudflare:*` and
 * `@cloudflare/ai-chat` imports resolve to the very Hearth modules the host loaded (from `import`
 * and from `require`), an unmapped one fails naming it, and other packages resolve as before. Each
 * case runs in a fresh Node process, since hooks stay registered for a process's lifetime.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { MODULE_NOT_PROVIDED, resolveMapped, type HookData } from "../../src/compat/module-hooks.ts";
import { MAPPED_MODULES, OWNED_PREFIXES } from "../../src/compat/module-map.ts";

const SRC = new URL("../../src/", import.meta.url);
const src = (path: string): string => JSON.stringify(new URL(path, SRC).href);
const TSX_API = JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href);
const MAPPED_LIST = Object.keys(MAPPED_MODULES).join(", ");
const unavailable = (name: string) =>
  `Hearth does not provide "${name}" yet. Modules it maps: ${MAPPED_LIST}. See docs/compat.md for what each covers.`;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp project holding `files`. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-compat-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Runs `main.mjs` of `dir` in a new Node process and returns the JSON it printed last. */
function run(dir: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(dir, "main.mjs")], { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 }, (error, stdout, stderr) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (error) return reject(new Error(`child failed: ${error.message}\n${stderr}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`child printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}

/**
 * How long a test that runs a child may take. Each child loads Hearth's runtime: with tsx, as the CLI
 * does, ~3 s of CPU time (tsx's transforms cached), 6-10 s of wall time at a load of 10 on two cores;
 * without, ~2 s at a load of 7, and over 30 s at a load of 20. The child is killed after 60 s
 * ({@link run}); a test waits for that rather than the default 30 s, since how fast a process starts
 * is not what it checks.
 */
const CHILD_MS = 90_000;

/** Child code: `outcome(fn)` is the message of what `fn` throws, or "ok". */
const OUTCOME = `
const outcome = async (fn) => { try { await fn(); return "ok"; } catch (error) { return (error && error.message) || String(error); } };
`;

describe("registerModuleMap in a plain Node process", { timeout: CHILD_MS }, () => {
  it("maps imports of an ES module project to Hearth's own modules", async () => {
    const dir = project({
      "worker.mjs": `
        import { Agent, routeAgentRequest } from "agents";
        import { env, waitUntil, WorkerEntrypoint, WorkflowEntrypoint } from "cloudflare:workers";
        import { NonRetryableError } from "cloudflare:workflows";
        import { EmailMessage } from "cloudflare:email";
        import { McpAgent } from "agents/mcp";
        export class Room extends Agent {}
        export const seen = { Agent, routeAgentRequest, env, waitUntil, WorkerEntrypoint, WorkflowEntrypoint, NonRetryableError, EmailMessage, McpAgent };
      `,
      "main.mjs": `
        import { registerModuleMap } from ${src("compat/module-map.ts")};
        registerModuleMap();
        registerModuleMap();
        const hearth = await import(${src("index.ts")});
        const { setWorkerEnv } = await import(${src("worker/worker-env.ts")});
        const { WorkerEntrypoint } = await import(${src("worker/entrypoint.ts")});
        const { NonRetryableError, WorkflowEntrypoint } = await import(${src("workflow/index.ts")});
        const { EmailMessage } = await import(${src("email/email-message.ts")});
        const { McpAgent } = await import(${src("mcp/index.ts")});
        const worker = await import("./worker.mjs");
        setWorkerEnv({ GREETING: "hello" });
        const { seen } = worker;
        console.log(JSON.stringify({
          agent: seen.Agent === hearth.Agent,
          roomIsAgent: worker.Room.prototype instanceof hearth.Agent,
          route: seen.routeAgentRequest === hearth.routeAgentRequest,
          env: seen.env.GREETING,
          envKeys: Object.keys(seen.env),
          waitUntil: typeof seen.waitUntil,
          workerEntrypoint: seen.WorkerEntrypoint === WorkerEntrypoint,
          workflowEntrypoint: seen.WorkflowEntrypoint === WorkflowEntrypoint,
          nonRetryable: seen.NonRetryableError === NonRetryableError,
          email: seen.EmailMessage === EmailMessage,
          mcp: seen.McpAgent === McpAgent,
        }));
      `,
    });
    expect(await run(dir)).toEqual({
      agent: true,
      roomIsAgent: true,
      route: true,
      env: "hello",
      envKeys: ["GREETING"],
      waitUntil: "function",
      workerEntrypoint: true,
      workflowEntrypoint: true,
      nonRetryable: true,
      email: true,
      mcp: true,
    });
  });

  it("maps require() of a CommonJS project, and ignores the project's own copy of the agents package", async () => {
    const dir = project({
      "node_modules/agents/package.json": JSON.stringify({ name: "agents", main: "index.js" }),
      "node_modules/agents/index.js": `exports.Agent = class Agent {}; exports.vendored = true;`,
      "worker.cjs": `
        const agents = require("agents");
        const { env } = require("cloudflare:workers");
        class Room extends agents.Agent {}
        module.exports = { agents, env, Room };
      `,
      "main.mjs": `
        import { createRequire } from "node:module";
        import { registerModuleMap } from ${src("compat/module-map.ts")};
        registerModuleMap();
        const hearth = await import(${src("index.ts")});
        const { setWorkerEnv } = await import(${src("worker/worker-env.ts")});
        setWorkerEnv({ KV_NAME: "sessions" });
        const worker = createRequire(import.meta.url)("./worker.cjs");
        console.log(JSON.stringify({
          agent: worker.agents.Agent === hearth.Agent,
          vendored: worker.agents.vendored ?? null,
          roomIsAgent: worker.Room.prototype instanceof hearth.Agent,
          env: worker.env.KV_NAME,
        }));
      `,
    });
    expect(await run(dir)).toEqual({ agent: true, vendored: null, roomIsAgent: true, env: "sessions" });
  });

  it("fails an unmapped agents/* or cloudflare:* module with a message naming it, from import and require", async () => {
    const dir = project({
      "named-import.mjs": `import { createMcpHandler } from "agents/mcp/not-a-module"; export { createMcpHandler };`,
      "main.mjs": `
        import { createRequire } from "node:module";
        import { registerModuleMap } from ${src("compat/module-map.ts")};
        ${OUTCOME}
        registerModuleMap();
        const require = createRequire(import.meta.url);
        console.log(JSON.stringify({
          importVoice: await outcome(() => import("agents/voice")),
          requireSockets: await outcome(() => require("cloudflare:sockets")),
          importSockets: await outcome(() => import("cloudflare:sockets")),
          aiChatSubpath: await outcome(() => import("@cloudflare/ai-chat/server")),
          again: await outcome(() => import("agents/voice")),
          namedImport: await outcome(() => import("./named-import.mjs")),
        }));
      `,
    });
    expect(await run(dir)).toEqual({
      importVoice: unavailable("agents/voice"),
      requireSockets: unavailable("cloudflare:sockets"),
      importSockets: unavailable("cloudflare:sockets"),
      aiChatSubpath: unavailable("@cloudflare/ai-chat/server"),
      again: unavailable("agents/voice"),
      namedImport: unavailable("agents/mcp/not-a-module"),
    });
  });

  it("leaves other packages alone, and a name Hearth lacks fails as Node reports it", async () => {
    const dir = project({
      "node_modules/agentsmith/package.json": JSON.stringify({ name: "agentsmith", type: "module", exports: "./index.js" }),
      "node_modules/agentsmith/index.js": `export const who = "agentsmith";`,
      "node_modules/cloudflare/package.json": JSON.stringify({ name: "cloudflare", type: "module", exports: "./index.js" }),
      "node_modules/cloudflare/index.js": `export const who = "cloudflare sdk";`,
      "missing-export.mjs": `import { Agent, notAHearthExport } from "agents"; export { Agent, notAHearthExport };`,
      "main.mjs": `
        import { registerModuleMap } from ${src("compat/module-map.ts")};
        ${OUTCOME}
        registerModuleMap();
        console.log(JSON.stringify({
          agentsmith: (await import("agentsmith")).who,
          cloudflare: (await import("cloudflare")).who,
          path: typeof (await import("node:path")).join,
          missingExport: await outcome(() => import("./missing-export.mjs")),
        }));
      `,
    });
    const result = await run(dir);
    expect(result).toMatchObject({ agentsmith: "agentsmith", cloudflare: "cloudflare sdk", path: "function" });
    expect(result.missingExport).toMatch(/does not provide an export named 'notAHearthExport'/);
  });
});

describe("registerModuleMap as the CLI loads a project (tsx first, then the map)", { timeout: CHILD_MS }, () => {
  it("gives a TypeScript CommonJS project Hearth's classes, and loads every mapped module", async () => {
    const dir = project({
      "package.json": JSON.stringify({ name: "cjs-project" }),
      "src/index.ts": `
        import { Agent } from "agents";
        import { AIChatAgent } from "@cloudflare/ai-chat";
        import { env } from "cloudflare:workers";
        export class Room extends Agent<{ GREETING: string }> {
          greet(): string { return String(env.GREETING); }
        }
        export class Chat extends AIChatAgent {}
        export const seen = { Agent, AIChatAgent, env };
      `,
      "main.mjs": `
        const { register } = await import(${TSX_API});
        register();
        const { registerModuleMap, MAPPED_MODULES } = await import(${src("compat/module-map.ts")});
        registerModuleMap();
        ${OUTCOME}
        const hearth = await import(${src("index.ts")});
        const chat = await import(${src("chat/index.ts")});
        const mod = await import("./src/index.ts");
        const worker = mod.seen ? mod : mod.default;
        const loaded = {};
        for (const name of Object.keys(MAPPED_MODULES)) loaded[name] = await outcome(() => import(name));
        console.log(JSON.stringify({
          agent: worker.seen.Agent === hearth.Agent,
          chat: worker.seen.AIChatAgent === chat.AIChatAgent,
          roomIsAgent: worker.Room.prototype instanceof hearth.Agent,
          loaded,
        }));
      `,
    });
    const result = await run(dir);
    expect(result).toEqual({
      agent: true,
      chat: true,
      roomIsAgent: true,
      loaded: Object.fromEntries(Object.keys(MAPPED_MODULES).map((name) => [name, "ok"])),
    });
  });
});

describe("the map itself", () => {
  it("points every mapped module at a file that exists", () => {
    for (const [name, { url, what }] of Object.entries(MAPPED_MODULES)) {
      expect(existsSync(fileURLToPath(url)), `${name} → ${url}`).toBe(true);
      expect(what.length).toBeGreaterThan(0);
    }
  });

  it("claims exactly the Agents SDK's and Cloudflare's names, failing an unmapped one at resolution", () => {
    const data: HookData = { map: { agents: "file:///hearth/agents.ts" }, prefixes: [...OWNED_PREFIXES] };
    expect(resolveMapped("agents", data)).toEqual({ url: "file:///hearth/agents.ts", shortCircuit: true });
    for (const claimed of ["agents/voice", "cloudflare:sockets", "@cloudflare/ai-chat/server"]) {
      const message = `Hearth does not provide "${claimed}" yet. Modules it maps: agents. See docs/compat.md for what each covers.`;
      expect(() => resolveMapped(claimed, data, "file:///app/src/my%20worker.ts")).toThrow(
        expect.objectContaining({ message, code: MODULE_NOT_PROVIDED, stack: `Error: ${message}\n    imported by /app/src/my worker.ts` }),
      );
    }
    for (const free of ["agentsmith", "cloudflare", "@cloudflare/workers-types", "./agents", "node:path"]) {
      expect(resolveMapped(free, data)).toBeUndefined();
    }
  });
});
