/** `hearth dev` / `start` on wrangler projects written into temporary directories: config errors, unsupported bindings, module mapping, hearth.config.ts. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

const AGENT = `import { Agent, routeAgentRequest } from "agents";
export class Counter extends Agent {
  onRequest() { return new Response("counter " + this.name); }
}
`;

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir("hearth-wrangler-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function start(dir: string, args: string[] = []): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [CLI, "start", "--port", "0", ...args], { cwd: dir, env: cleanEnv(), encoding: "utf8", timeout: 20_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe("wrangler config errors stop start-up with one clear message", () => {
  it("a syntax error names the file, line and column", async () => {
    const dir = await project({ "wrangler.jsonc": `{\n  "name": "x",\n  "main": "src/index.ts"\n  "vars": {}\n}\n`, "src/index.ts": AGENT });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toMatch(/wrangler\.jsonc:4:3/);
  });

  it("a binding to a class the entry does not export", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", durable_objects: { bindings: [{ name: "Chat", class_name: "ChatRoom" }] } }),
      "src/index.ts": AGENT,
    });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toContain(`durable_objects.bindings[0].class_name: class "ChatRoom" is not exported by src/index.ts (it exports Counter)`);
  });

  it("a binding to a class the entry does not export records none of the migrations", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        main: "src/index.ts",
        durable_objects: { bindings: [{ name: "Chat", class_name: "ChatRoom" }] },
        migrations: [{ tag: "v1", new_sqlite_classes: ["ChatRoom"] }],
      }),
      "src/index.ts": AGENT,
    });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toContain(`class "ChatRoom" is not exported`);
    // Fixing the config (even rewriting v1) must start as if this start had never happened.
    expect(existsSync(join(dir, ".hearth", "migrations.json"))).toBe(false);
  });

  it("a class deleted by one migration and brought back by a later rename is bound on a fresh data directory", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        main: "src/index.ts",
        durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
        migrations: [
          { tag: "v1", new_sqlite_classes: ["Counter", "Lobby"] },
          { tag: "v2", deleted_classes: ["Counter"] },
          { tag: "v3", renamed_classes: [{ from: "Lobby", to: "Counter" }] },
        ],
      }),
      "src/index.ts": `${AGENT}export default { fetch: async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("none", { status: 404 }) };\n`,
    });
    const server = runCli(["start", "--port", "0"], { cwd: dir });
    const base = await server.ready();
    expect(await (await fetch(`${base}/agents/counter/a`)).text()).toBe("counter a");
    expect(JSON.parse(readFileSync(join(dir, ".hearth", "migrations.json"), "utf8")).applied).toEqual(["v1", "v2", "v3"]);
  });

  it("--config naming a directory stops dev at once, saying a config file was expected", async () => {
    const dir = await project({ "app/wrangler.jsonc": JSON.stringify({ main: "src/index.ts" }), "app/src/index.ts": AGENT });
    const result = spawnSync(process.execPath, [CLI, "dev", "--config", "app", "--port", "0"], { cwd: dir, env: cleanEnv(), encoding: "utf8", timeout: 20_000 });
    expect(result.status).toBe(2);
    expect(result.stdout + result.stderr).toContain(
      `--config app is a directory; --config takes a wrangler config file (wrangler.jsonc, wrangler.json or wrangler.toml): use --config ${join("app", "wrangler.jsonc")}, or give the directory as the project: hearth dev app`,
    );
  });

  it("an environment that does not exist", async () => {
    const dir = await project({ "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", env: { staging: {} } }), "src/index.ts": AGENT });
    const { status, output } = start(dir, ["--env", "prod"]);
    expect(status).toBe(1);
    expect(output).toMatch(/prod/);
    expect(output).toMatch(/staging/);
  });

  it("a rate limit period other than 10 or 60", async () => {
    const dir = await project({
      "wrangler.toml": `main = "src/index.ts"\n\n[[ratelimits]]\nname = "LIMIT"\nnamespace_id = "1"\nsimple = { limit = 5, period = 30 }\n`,
      "src/index.ts": AGENT,
    });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toContain("ratelimits[0].simple.period must be 10 or 60");
  });

  it("no wrangler config and no entry: says what to give", async () => {
    const dir = await project({});
    const { status, output } = start(dir);
    expect(status).toBe(2);
    expect(output).toContain("Missing entry file");
    expect(output).toContain("wrangler config");
  });
});

describe("wrangler projects", () => {
  it("binding names differ from class names; unsupported bindings are listed and throw on use, naming the config line", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify(
        {
          main: "src/index.ts",
          durable_objects: { bindings: [{ name: "COUNTERS", class_name: "Counter" }] },
          r2_buckets: [{ binding: "BUCKET", bucket_name: "files" }],
        },
        null,
        2,
      ),
      "src/index.ts": `${AGENT}
export default {
  async fetch(request, env) {
    if (new URL(request.url).pathname === "/bucket") {
      try { await env.BUCKET.get("x"); return new Response("no error"); } catch (error) { return new Response(error.message, { status: 500 }); }
    }
    return (await routeAgentRequest(request, env)) ?? new Response("none", { status: 404 });
  },
};
`,
    });
    const server = runCli(["dev", "--port", "0"], { cwd: dir });
    const base = await server.ready();
    expect(server.output()).toMatch(/env\.BUCKET \(r2_buckets, wrangler\.jsonc:\d+\) is not available on Hearth/);
    // The banner shows what is served: the binding's URL, not the class name's.
    expect(server.output()).toContain("/agents/counters/:name");
    expect(server.output()).not.toContain("/agents/counter/:name");
    expect(await (await fetch(`${base}/agents/counters/a`)).text()).toBe("counter a");
    const bucket = await fetch(`${base}/bucket`);
    expect(bucket.status).toBe(500);
    expect(await bucket.text()).toMatch(/^env\.BUCKET \(r2_buckets, wrangler\.jsonc:\d+\) is not available on Hearth: /);
  });

  it("an Agents SDK module Hearth does not provide fails with a clear message", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", durable_objects: { bindings: [{ name: "Counter", class_name: "Counter" }] } }),
      "src/index.ts": `${AGENT}import { Voice } from "agents/voice";\nexport const voice = Voice;\n`,
    });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toContain(`Hearth does not provide "agents/voice" yet`);
  });

  it("an Agents SDK module Hearth does not provide fails with the same message in a \"type\": \"module\" project, whose named imports link first", async () => {
    const dir = await project({
      "package.json": JSON.stringify({ type: "module" }),
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", durable_objects: { bindings: [{ name: "Counter", class_name: "Counter" }] } }),
      "src/index.ts": `${AGENT}import { Voice } from "agents/voice";\nexport const voice = Voice;\n`,
    });
    const { status, output } = start(dir);
    expect(status).toBe(1);
    expect(output).toContain(`Hearth does not provide "agents/voice" yet`);
    expect(output).toContain(`imported by ${join(dir, "src/index.ts")}`);
    expect(output).not.toContain("does not provide an export named");
  });

  it("agents/mcp/server's createMcpHandler serves a \"type\": \"module\" project's MCP endpoint, as Cloudflare's mcp-worker example writes it", async () => {
    const dir = await project({
      "package.json": JSON.stringify({ type: "module" }),
      "wrangler.jsonc": JSON.stringify({ main: "src/server.ts" }),
      "src/server.ts": `import { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler, getMcpAuthContext } from "agents/mcp/server";
function createServer() {
  const server = new McpServer({ name: "Hello MCP Server", version: "1.0.0" });
  server.registerTool("hello", { description: "Returns a greeting" }, async () => ({
    content: [{ type: "text", text: "Hello from " + typeof getMcpAuthContext }],
  }));
  return server;
}
export default createMcpHandler(createServer);
`,
    });
    mkdirSync(join(dir, "node_modules", "@modelcontextprotocol"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules", "@modelcontextprotocol", "server"), join(dir, "node_modules", "@modelcontextprotocol", "server"), "dir");
    const server = runCli(["start", "--port", "0"], { cwd: dir });
    const base = await server.ready();
    const call = (id: number, method: string, params: unknown) =>
      fetch(`${base}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": "2025-06-18" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
      }).then((response) => response.text());
    const clientInfo = { name: "test", version: "1.0.0" };
    expect(await call(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo })).toContain('"name":"Hello MCP Server"');
    expect(await call(2, "tools/call", { name: "hello", arguments: {} })).toContain('"text":"Hello from function"');
  });

  it("hearth.config.ts settings apply to a \"type\": \"module\" project; an unknown setting is refused", async () => {
    const dir = await project({
      "package.json": JSON.stringify({ type: "module" }),
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", durable_objects: { bindings: [{ name: "Counter", class_name: "Counter" }] } }),
      "hearth.config.ts": `export default { hibernateAfterMs: 5000 };\n`,
      "src/index.ts": AGENT,
    });
    const bad = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts" }),
      "hearth.config.ts": `export default { routes: [] };\n`,
      "src/index.ts": AGENT,
    });
    // Side by side: the refused project is a directory of its own.
    const server = runCli(["start", "--port", "0"], { cwd: dir });
    const refused = runCli(["start", "--port", "0"], { cwd: bad });
    const base = await server.ready();
    expect(await (await fetch(`${base}/agents/counter/b`)).text()).toBe("counter b");

    expect((await refused.exited()).code).toBe(1);
    expect(refused.output()).toMatch(/hearth\.config\.ts.*unknown setting "routes"/);
  });

  it("hearth d1 and hearth secret use the data directory of hearth.config.ts, as start does; the environment overrides a config var", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        main: "src/index.ts",
        vars: { GREETING: "from config" },
        secrets: { required: ["TOKEN"] },
        d1_databases: [{ binding: "DB", database_name: "app" }],
      }),
      "hearth.config.ts": `export default { dataDir: "./data" };\n`,
      "migrations/0001_init.sql": "CREATE TABLE notes (text TEXT);\nINSERT INTO notes VALUES ('migrated');\n",
      "src/index.ts": `export default {
  async fetch(request, env) {
    const row = await env.DB.prepare("SELECT text FROM notes").first();
    return Response.json({ note: row.text, greeting: env.GREETING, token: env.TOKEN.length });
  },
};
`,
    });
    const tool = (args: string[], input?: string) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: cleanEnv(), input, encoding: "utf8", timeout: 20_000 });
    expect(tool(["d1", "migrations", "apply", "DB"]).status).toBe(0);
    expect(tool(["secret", "put", "TOKEN"], "abc\n").status).toBe(0);
    expect(readdirSync(join(dir, "data")).sort()).toEqual(expect.arrayContaining(["d1", "secrets"]));
    const server = runCli(["start", "--port", "0"], { cwd: dir, env: cleanEnv({ GREETING: "from the environment" }) });
    const base = await server.ready();
    expect(await (await fetch(base)).json()).toEqual({ note: "migrated", greeting: "from the environment", token: 3 });
  });

  it("hearth dev restarts when a static asset is added", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", assets: { directory: "public" } }),
      "public/index.html": "<h1>home</h1>",
      "src/index.ts": `export default { fetch: () => new Response("worker") };\n`,
    });
    const server = runCli(["dev", "--port", "0"], { cwd: dir });
    const base = await server.ready();
    expect((await fetch(`${base}/new.txt`)).status).toBe(200); // the worker answers a miss
    expect(await (await fetch(`${base}/new.txt`)).text()).toBe("worker");
    const mark = server.output().length;
    writeFileSync(join(dir, "public", "new.txt"), "fresh");
    await server.ready(mark);
    expect(await (await fetch(`${base}/new.txt`)).text()).toBe("fresh");
  });

  it("hearth dev starts with a warning while the assets directory is not built, and serves it once a build writes it", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", assets: { directory: "dist/client", not_found_handling: "single-page-application" } }),
      "src/index.ts": `export default { fetch: () => new Response("worker") };\n`,
    });
    const server = runCli(["dev", "--port", "0"], { cwd: dir });
    const base = await server.ready();
    expect(server.output()).toContain('wrangler.jsonc: assets.directory "dist/client" does not exist (yet)');
    expect(await (await fetch(`${base}/`, { headers: { "Sec-Fetch-Mode": "navigate" } })).text()).toBe("worker");
    const mark = server.output().length;
    // What a vite client build writes: the page and its scripts.
    mkdirSync(join(dir, "dist", "client", "assets"), { recursive: true });
    writeFileSync(join(dir, "dist", "client", "index.html"), "<h1>built</h1>");
    writeFileSync(join(dir, "dist", "client", "assets", "index-3f2a.js"), "console.log('app');");
    await server.ready(mark);
    expect(await (await fetch(`${base}/`, { headers: { "Sec-Fetch-Mode": "navigate" } })).text()).toBe("<h1>built</h1>");
    expect(await (await fetch(`${base}/assets/index-3f2a.js`)).text()).toBe("console.log('app');");
  });
});

describe("hearth dev with a broken config keeps watching that config", () => {
  it("a project directory given on the command line starts once its config is fixed", async () => {
    const cwd = await project({
      "app/wrangler.jsonc": `{ "main": "src/index.ts", "vars": 5 }`,
      "app/src/index.ts": `export default { fetch: () => new Response("fixed") };\n`,
    });
    const server = runCli(["dev", "app", "--port", "0"], { cwd });
    await server.waitFor(/could not be served .* fix it and save to retry/);
    expect(server.stderr()).toContain("wrangler.jsonc:1: vars must be an object (got 5)");
    writeFileSync(join(cwd, "app", "wrangler.jsonc"), `{ "main": "src/index.ts", "vars": { "A": "1" } }`);
    const base = await server.ready();
    expect(await (await fetch(base)).text()).toBe("fixed");
  });
});

describe("the project's secrets in the logs", () => {
  it("are scrubbed from every log line, wherever they appear", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", vars: { REGION: "eu-west" } }),
      ".dev.vars": "API_TOKEN=tok-9f8e7d6c5b4a\n",
      "src/index.ts": `export default {
  fetch(request, env) {
    console.log("calling upstream with " + env.API_TOKEN + " in " + env.REGION);
    console.error(new Error("upstream refused key=" + env.API_TOKEN));
    return new Response("done");
  },
};
`,
    });
    const server = runCli(["start", "--port", "0", "--log-format", "json"], { cwd: dir });
    const url = await server.ready();
    expect(await (await fetch(url)).text()).toBe("done");
    await server.waitFor(/upstream refused/);
    const out = server.stdout();
    expect(out).toContain("calling upstream with [Redacted] in eu-west");
    expect(out).toContain("upstream refused key=[Redacted]");
    expect(out).not.toContain("tok-9f8e7d6c5b4a");
  });

  it("are scrubbed from the errors a trace records", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts", durable_objects: { bindings: [{ name: "Upstream", class_name: "Upstream" }] }, migrations: [{ tag: "v1", new_sqlite_classes: ["Upstream"] }] }),
      ".dev.vars": "API_TOKEN=tok-9f8e7d6c5b4a\n",
      "src/index.ts": `import { Agent, routeAgentRequest } from "agents";
export class Upstream extends Agent {
  onRequest() {
    throw new Error("upstream refused key=" + this.env.API_TOKEN);
  }
}
export default { fetch: (request, env) => routeAgentRequest(request, env) };
`,
    });
    const data = join(dir, "data");
    const server = runCli(["start", "--port", "0", "--data", data], { cwd: dir });
    const url = await server.ready();
    expect((await fetch(`${url}/agents/upstream/a`)).status).toBe(500);
    await server.waitFor(/upstream refused/);
    server.proc.kill("SIGTERM");
    expect((await server.exited()).code).toBe(0);
    // A trace with an error is always written to the span file; every text in it is read back.
    const spans = new DatabaseSync(join(data, "observability", "spans.sqlite"), { readOnly: true });
    try {
      const tables = spans.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) => String(row.name));
      const stored = JSON.stringify(tables.map((table) => spans.prepare(`SELECT * FROM "${table}"`).all()));
      expect(stored).toContain("upstream refused key=[Redacted]");
      expect(stored).not.toContain("tok-9f8e7d6c5b4a");
    } finally {
      spans.close();
    }
  });
});

describe("each request's ctx", () => {
  it("is its own: ctx.props set for one request is not seen by another", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.ts" }),
      "src/index.ts": `export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const user = url.searchParams.get("user");
    if (user) ctx.props = { user }; // what an auth library does before calling the API handler
    await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get("wait") ?? 0)));
    return Response.json({ asked: user, sees: ctx.props?.user ?? null });
  },
};
`,
    });
    const server = runCli(["start", "--port", "0"], { cwd: dir });
    const url = await server.ready();
    const slow = fetch(`${url}/?user=alice&wait=300`).then((r) => r.json());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const quick = await (await fetch(`${url}/?user=bob`)).json();
    expect(quick).toEqual({ asked: "bob", sees: "bob" });
    expect(await slow).toEqual({ asked: "alice", sees: "alice" });
    expect(await (await fetch(`${url}/`)).json()).toEqual({ asked: null, sees: null });
  });
});
