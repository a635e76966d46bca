/**
 * `import { env } from "cloudflare:workers"` at a Worker's module scope, as Cloudflare allows it: every
 * binding is there while the entry is imported (class bindings as stand-ins that reach the agents once
 * the host runs), .dev.vars too without a wrangler config, and writes go through to the worker's env.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanup, requireBuild, runCli, tempDir } from "./helpers.ts";

beforeAll(requireBuild);
afterEach(cleanup);

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir("hearth-module-env-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const ENTRY = `import { Agent } from "agents";
import { env, RpcStub } from "cloudflare:workers";

export class Counter extends Agent {
  onRequest() { return new Response("counter " + this.name); }
}

// Module scope: read what the bindings are, keep a reference, write a key of our own.
const counters = env.COUNTER;
const atLoad = { greeting: env.GREETING, keys: Object.keys(env).sort(), counters: typeof counters };
let earlyUse = "none";
try { counters.getByName("too-early"); } catch (error) { earlyUse = error.message; }
env.EXTRA = "written at load";

export default {
  async fetch(request, handlerEnv) {
    const answer = await (await counters.getByName("x").fetch(new Request("http://agent/"))).text();
    const stub = new RpcStub({ hello(name) { return "hi " + name; } });
    const twin = stub.dup();
    return Response.json({ atLoad, earlyUse, answer, extra: handlerEnv.EXTRA, rpcStub: [stub.hello("a"), twin.hello("b")] });
  },
};
`;

describe("env at a Worker's module scope", () => {
  it.each(["1", "2"])("holds every binding of a wrangler project, class bindings included, and keeps what the module wrote (%s threads)", async (threads) => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        main: "src/index.ts",
        vars: { GREETING: "hello" },
        durable_objects: { bindings: [{ name: "COUNTER", class_name: "Counter" }] },
        migrations: [{ tag: "v1", new_sqlite_classes: ["Counter"] }],
      }),
      "src/index.ts": ENTRY,
    });
    const server = runCli(["start", "--port", "0", "--threads", threads], { cwd: dir });
    const base = await server.ready();
    expect(await (await fetch(`${base}/`)).json()).toEqual({
      atLoad: { greeting: "hello", keys: ["COUNTER", "GREETING"], counters: "object" },
      earlyUse: "env.COUNTER is not ready while the worker's module is loading: use it inside a handler or a method",
      answer: "counter x",
      extra: "written at load",
      rpcStub: ["hi a", "hi b"],
    });
  });

  it("holds .dev.vars for an entry given on its own", async () => {
    const dir = await project({
      ".dev.vars": "API_KEY=secret123\n",
      "index.ts": `import { Agent } from "agents";
import { env } from "cloudflare:workers";
export class Counter extends Agent {}
const keyAtLoad = env.API_KEY;
export default { fetch: () => Response.json({ keyAtLoad }) };
`,
    });
    const server = runCli(["start", "index.ts", "--port", "0", "--threads", "1"], { cwd: dir });
    const base = await server.ready();
    expect(await (await fetch(`${base}/`)).json()).toEqual({ keyAtLoad: "secret123" });
  });
});
