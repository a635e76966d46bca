/**
 * What a served request keeps on its way through a wrangler project's worker: the address it came in
 * on (the MCP transport's DNS-rebinding guard checks the Host header against it), and the waitUntil
 * work it leaves, which finishes before the agents close at shutdown.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { rawPost } from "../support/raw-post.ts";
import { cleanup, requireBuild, runCli, tempDir, until } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir("hearth-wrangler-requests-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}


const binding = (name: string, className: string) => ({
  main: "src/index.ts",
  durable_objects: { bindings: [{ name, class_name: className }] },
  migrations: [{ tag: "v1", new_sqlite_classes: [className] }],
});

describe("a wrangler project's served requests", () => {
  it("an McpAgent refuses a rebinding Host as it does without a wrangler config, with and without assets", async () => {
    const entry = `import { McpAgent, McpServer } from "agents/mcp";
export class Todos extends McpAgent {
  server = new McpServer({ name: "todos", version: "1.0.0" });
  init() {}
}
export default Todos.serve("/mcp");
`;
    for (const config of [binding("MCP_OBJECT", "Todos"), { ...binding("MCP_OBJECT", "Todos"), assets: { directory: "public" } }]) {
      const dir = await project({ "wrangler.jsonc": JSON.stringify(config), "src/index.ts": entry, "public/index.html": "HOME" });
      const server = runCli(["start", "--port", "0"], { cwd: dir });
      const base = await server.ready();
      const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } });
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      const rebinding = await rawPost(base, "/mcp", { ...headers, host: `evil.example:${new URL(base).port}` }, initialize);
      expect(rebinding.status, JSON.stringify(config)).toBe(403);
      expect(rebinding.body).toContain('Host \\"evil.example');
      expect((await rawPost(base, "/mcp", headers, initialize)).status).toBe(200);
      server.proc.kill("SIGTERM");
      await server.exited();
    }
  }, 60_000);

  it("waitUntil work that calls an agent finishes before the agents close at shutdown, with a wrangler config or an entry alone", async () => {
    const entry = `import { Agent, getAgentByName } from "agents";
import { appendFileSync } from "node:fs";
export class Counter extends Agent {
  bump() { this.sql\`CREATE TABLE IF NOT EXISTS t (n INTEGER)\`; this.sql\`INSERT INTO t VALUES (1)\`; return "bumped"; }
}
export default {
  async fetch(request, env, ctx) {
    ctx.waitUntil((async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      try { appendFileSync("marker.txt", "waitUntil: " + (await (await getAgentByName(env.Counter, "c")).bump()) + "\\n"); }
      catch (error) { appendFileSync("marker.txt", "waitUntil failed: " + error.message + "\\n"); }
    })());
    return new Response("accepted");
  },
};
`;
    for (const withConfig of [true, false]) {
      const dir = await project({ ...(withConfig ? { "wrangler.jsonc": JSON.stringify(binding("Counter", "Counter")) } : {}), "src/index.ts": entry });
      const server = runCli(["start", ...(withConfig ? [] : ["src/index.ts"]), "--port", "0"], { cwd: dir });
      const base = await server.ready();
      expect(await (await fetch(base)).text()).toBe("accepted");
      server.proc.kill("SIGTERM");
      expect((await server.exited()).code).toBe(0);
      await until(() => existsSync(join(dir, "marker.txt")), "the marker");
      expect(readFileSync(join(dir, "marker.txt"), "utf8"), withConfig ? "wrangler" : "entry").toBe("waitUntil: bumped\n");
    }
  }, 60_000);
});
