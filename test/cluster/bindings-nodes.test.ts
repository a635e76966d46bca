import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";
import { openPostgresSecretStore } from "../../src/cluster/bindings/index.ts";
import { preferredNode } from "../../src/cluster/due/rendezvous.ts";
import { WORKFLOW_PARTITION_NAMES, WORKFLOWS_SERVICE, workflowPartitionOf } from "../../src/cluster/workflows.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";

/** A wrangler project's bindings on two `hearth start --cluster` nodes: what one writes, the other sees. */
const unavailable = postgresUnavailable();

const WORKER = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/wf/create") {
      const instance = await env.FLOW.create({ id: url.searchParams.get("id"), params: { nap: Number(url.searchParams.get("nap")) } });
      return new Response(instance.id);
    }
    if (url.pathname === "/wf/go") {
      await (await env.FLOW.get(url.searchParams.get("id"))).sendEvent({ type: "go" });
      return new Response("sent");
    }
    if (url.pathname === "/wf/status") {
      return Response.json(await (await env.FLOW.get(url.searchParams.get("id"))).status());
    }
    if (url.pathname === "/secret") return new Response(env.API_KEY ?? "unset");
    if (url.pathname === "/send") {
      await env.JOBS.send(url.searchParams.get("body"));
      return new Response("sent");
    }
    if (url.pathname === "/backlog") return Response.json(await env.JOBS.metrics());
    if (url.pathname === "/d1/init") {
      await env.DB.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
      return new Response("ready");
    }
    if (url.pathname === "/d1/add") {
      await env.DB.prepare("INSERT INTO notes (body) VALUES (?)").bind(url.searchParams.get("body")).run();
      return new Response("added");
    }
    if (url.pathname === "/d1/list") {
      const { results } = await env.DB.prepare("SELECT body FROM notes ORDER BY id").all();
      return Response.json(results.map((row) => row.body));
    }
    const key = url.pathname.slice("/kv/".length);
    if (request.method === "PUT") {
      await env.CACHE.put(key, await request.text());
      return new Response("stored");
    }
    return new Response(await env.CACHE.get(key) ?? "missing");
  },
  async queue(batch, env) {
    for (const message of batch.messages) await env.CACHE.put(message.body, String(process.pid) + ":" + message.attempts);
  },
};
`;

const FLOW = `import { WorkflowEntrypoint } from "cloudflare:workers";
export class Flow extends WorkflowEntrypoint {
  async run(event, step) {
    const first = await step.do("first", async () => process.pid);
    await step.sleep("nap", event.payload.nap);
    // The second step runs only once the test says so (after it killed the holder).
    await step.waitForEvent("go", { type: "go", timeout: "1 hour" });
    const second = await step.do("second", async () => process.pid);
    return { first, second };
  }
}
`;

async function project(files: Record<string, string>): Promise<string> {
  const dir = await tempDir("hearth-cluster-project-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe.skipIf(unavailable !== undefined)("a project's bindings on cluster nodes", () => {
  let server: TestPostgres;
  let url: string;
  beforeAll(async () => {
    requireBuild();
    server = await sharedPostgres();
    url = await server.database("bindings");
  }, 30_000);
  // Each test's nodes stop with it: left running, they went on heartbeating to Postgres through the
  // rest of the file, and were members of the cluster the next tests' nodes joined.
  afterEach(cleanup);
  afterAll(async () => {
    await cleanup();
    server?.stop();
  });

  const startNode = async (dir: string, id: string): Promise<string> => (await startNodeProcess(dir, id)).url;
  const startNodeProcess = async (dir: string, id: string): Promise<{ url: string; cli: CliProcess }> => {
    const port = await freePort();
    const cli = runCli(["start", "--port", String(port), "--data", join(dir, `.data-${id}`), "--cluster", url, "--node-id", id, "--advertise", `http://127.0.0.1:${port}`, "--no-traces"], { cwd: dir, env: cleanEnv() });
    return { url: await cli.ready(), cli };
  };

  test("KV: a value put through one node is read through the other", async () => {
    const dir = await project({ "wrangler.jsonc": JSON.stringify({ main: "src/index.js", kv_namespaces: [{ binding: "CACHE", id: "cache1" }] }), "src/index.js": WORKER });
    const [a, b] = await Promise.all([startNode(dir, "a"), startNode(dir, "b")]);
    expect(await (await fetch(`${a}/kv/greeting`, { method: "PUT", body: "hello from a" })).text()).toBe("stored");
    expect(await (await fetch(`${b}/kv/greeting`)).text()).toBe("hello from a");
    expect(await (await fetch(`${b}/kv/nothing`)).text()).toBe("missing");
  }, 60_000);

  test("D1: every node queries the one copy; the holder killed with kill -9, the next node has every answered write", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.js", d1_databases: [{ binding: "DB", database_name: "main", database_id: "x" }] }),
      "src/index.js": WORKER,
    });
    const [a, b] = await Promise.all([startNodeProcess(dir, "d1a"), startNodeProcess(dir, "d1b")]);
    expect(await (await fetch(`${a.url}/d1/init`)).text()).toBe("ready"); // node a holds "main" from here on
    const written: string[] = [];
    for (let i = 0; i < 10; i++) {
      const body = `note ${i}`;
      const response = await fetch(`${(i % 2 === 0 ? a : b).url}/d1/add?body=${encodeURIComponent(body)}`);
      expect(await response.text()).toBe("added");
      written.push(body);
    }
    expect(await (await fetch(`${b.url}/d1/list`)).json()).toEqual(written);
    a.cli.proc.kill("SIGKILL");
    await a.cli.exited();
    // Node b claims "main" once a's membership has expired, and rebuilds it from the log in Postgres.
    expect(await (await fetch(`${b.url}/d1/list`)).json()).toEqual(written);
    expect(await (await fetch(`${b.url}/d1/add?body=after`)).text()).toBe("added");
    expect(await (await fetch(`${b.url}/d1/list`)).json()).toEqual([...written, "after"]);
  }, 60_000);

  test("workflows: instances on a node killed with kill -9 finish on the other, their finished steps not run again", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({ main: "src/index.js", workflows: [{ name: "flow", binding: "FLOW", class_name: "Flow" }] }),
      "src/index.js": `${FLOW}${WORKER}`,
    });
    const nodes = await Promise.all([startNodeProcess(dir, "wfa"), startNodeProcess(dir, "wfb")]);
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // Each node looks each second after the partitions of the instances: each goes to its preferred node.
      const partitions = WORKFLOW_PARTITION_NAMES.map((partition) => `${WORKFLOWS_SERVICE}/${partition}`);
      const spread = async () => {
        const { rows } = await client.query<{ actor_id: string; owner: string | null }>("SELECT actor_id, owner FROM hearth.actor_lease WHERE actor_id = ANY($1)", [partitions]);
        return rows.length === partitions.length && rows.every((row) => row.owner === preferredNode(row.actor_id, ["wfa", "wfb"]));
      };
      for (const deadline = Date.now() + 45_000; !(await spread()) && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100)));
      expect(await spread()).toBe(true);
      const [holder, other] = nodes;
      // Instances whose partitions wfa holds.
      const ids = Array.from({ length: 40 }, (_, n) => `n${n}`)
        .filter((id) => preferredNode(`${WORKFLOWS_SERVICE}/${workflowPartitionOf("FLOW", id)}`, ["wfa", "wfb"]) === "wfa")
        .slice(0, 3);
      for (const id of ids) expect(await (await fetch(`${other.url}/wf/create?id=${id}&nap=1500`)).text()).toBe(id);
      for (const id of ids) {
        // Asleep (or, on a slow machine, already waiting for "go"): the first step is recorded on the holder.
        let status = "";
        for (const deadline = Date.now() + 10_000; status !== "waiting" && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
          status = ((await (await fetch(`${other.url}/wf/status?id=${id}`)).json()) as { status: string }).status;
        }
        expect(status).toBe("waiting");
      }
      const holderPid = holder.cli.proc.pid;
      holder.cli.proc.kill("SIGKILL");
      await holder.cli.exited();
      // The survivor takes the partitions over by itself; "go" is kept until an instance waits for it.
      for (const id of ids) {
        let sent = "";
        for (const deadline = Date.now() + 30_000; sent !== "sent" && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
          const response = await fetch(`${other.url}/wf/go?id=${id}`);
          sent = response.ok ? await response.text() : "";
        }
        expect(sent).toBe("sent");
      }
      for (const id of ids) {
        let status: { status: string; output?: { first: number; second: number } } = { status: "unknown" };
        for (const deadline = Date.now() + 30_000; status.status !== "complete" && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
          const response = await fetch(`${other.url}/wf/status?id=${id}`);
          if (response.ok) status = (await response.json()) as typeof status;
        }
        expect(status.status).toBe("complete");
        // The first step ran on the killed holder (recorded there, kept in the log); the second on the survivor.
        expect(status.output).toEqual({ first: holderPid, second: other.cli.proc.pid });
      }
    } finally {
      await client.end();
    }
  }, 90_000);

  test("secrets: every node reads the cluster's secrets with the shared key; a node without the key does not start", async () => {
    const dir = await project({ "wrangler.jsonc": JSON.stringify({ main: "src/index.js" }), "src/index.js": WORKER });
    const key = randomBytes(32).toString("hex");
    // A cluster of its own: once it holds secrets, every node of it needs the key.
    const url = await server.database("bindings_secrets");
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const store = await openPostgresSecretStore(pool, { keyEnv: key, watch: false });
      await store.put("API_KEY", "s3cret-from-the-cluster");
      await store.close();
    } finally {
      await pool.end();
    }
    const withKey = (id: string) => {
      const cli = runCli(["start", "--port", "0", "--data", join(dir, `.data-${id}`), "--cluster", url, "--node-id", id, "--advertise", "http://127.0.0.1:1", "--no-traces"], { cwd: dir, env: cleanEnv({ HEARTH_SECRET_KEY: key }) });
      return cli.ready();
    };
    const [a, b] = await Promise.all([withKey("sa"), withKey("sb")]);
    expect(await (await fetch(`${a}/secret`)).text()).toBe("s3cret-from-the-cluster");
    expect(await (await fetch(`${b}/secret`)).text()).toBe("s3cret-from-the-cluster");
    const port = await freePort();
    const keyless = runCli(["start", "--port", String(port), "--data", join(dir, ".data-sc"), "--cluster", url, "--node-id", "sc", "--advertise", `http://127.0.0.1:${port}`], { cwd: dir, env: cleanEnv() });
    expect((await keyless.exited()).code).not.toBe(0);
    expect(keyless.stderr()).toContain("HEARTH_SECRET_KEY");
  }, 60_000);

  test("queues: messages sent through either node are each delivered once, to some node's consumer", async () => {
    const dir = await project({
      "wrangler.jsonc": JSON.stringify({
        main: "src/index.js",
        kv_namespaces: [{ binding: "CACHE", id: "delivered" }],
        queues: { producers: [{ binding: "JOBS", queue: "jobs" }], consumers: [{ queue: "jobs", max_batch_size: 5, max_batch_timeout: 0 }] },
      }),
      "src/index.js": WORKER,
    });
    const [a, b] = await Promise.all([startNode(dir, "qa"), startNode(dir, "qb")]);
    for (let i = 0; i < 20; i++) expect(await (await fetch(`${i % 2 ? a : b}/send?body=m${i}`)).text()).toBe("sent");
    let seen: string[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      seen = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await fetch(`${a}/kv/m${i}`)).text()));
      if (seen.every((value) => value !== "missing")) break;
    }
    // Each message consumed by one delivery (attempts 1), by whichever node took its batch.
    expect(seen.every((value) => /^\d+:1$/.test(value)), seen.join(" ")).toBe(true);
    let backlog = -1;
    for (const deadline = Date.now() + 10_000; backlog !== 0 && Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
      backlog = ((await (await fetch(`${b}/backlog`)).json()) as { backlogCount: number }).backlogCount;
    }
    expect(backlog).toBe(0);
  }, 60_000);
});
