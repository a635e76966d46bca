import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../cli/helpers.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";
import { StallProxy } from "./support/stall-proxy.ts";

/**
 * Node processes (`hearth start --cluster`) whose link to Postgres stalls: held for a few seconds in
 * the middle of a claim, or silent for good on the connections open at the time.
 */
const unavailable = postgresUnavailable();
const APP = join(import.meta.dirname, "fixtures", "list-app.ts");

interface NodeProcess {
  id: string;
  url: string;
  cli: CliProcess;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An HTTP answer, or the error (a timeout: no answer) of a request that got none. */
async function request(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<{ status: number; body: unknown } | { error: string }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: an error page
    }
    return { status: response.status, body };
  } catch (error) {
    return { error: (error as Error).name === "TimeoutError" ? `no answer after ${timeoutMs} ms` : String(error) };
  }
}

describe.skipIf(unavailable !== undefined)("nodes whose link to Postgres stalls", () => {
  let server: TestPostgres;
  let db: pg.Client;
  const proxies: StallProxy[] = [];

  const startNode = async (id: string, connectionString: string): Promise<NodeProcess> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dir = await tempDir(`hearth-stall-${id}-`);
    const cli = runCli(["start", APP, "--port", String(port), "--data", dir, "--cluster", connectionString, "--node-id", id, "--advertise", url, "--no-traces", "--no-metrics", "--log-level", "warn"], { env: cleanEnv() });
    await cli.ready();
    return { id, url, cli };
  };

  const cluster = async (database: string): Promise<{ a: NodeProcess; b: NodeProcess; proxy: StallProxy; connectionString: string }> => {
    const connectionString = await server.database(database);
    await db?.end().catch(() => undefined);
    db = new pg.Client({ connectionString });
    await db.connect();
    const proxy = await StallProxy.start(server.port);
    proxies.push(proxy);
    const a = await startNode("a", proxy.url(connectionString));
    const b = await startNode("b", connectionString);
    return { a, b, proxy, connectionString };
  };

  beforeAll(async () => {
    requireBuild();
    server = await sharedPostgres();
  }, 30_000);
  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await cleanup();
    for (const proxy of proxies) await proxy.close();
  }, 30_000);

  test("membership lost while a claim reads the agent's history: the claim is void, the node never serves the stale copy", async () => {
    const { a, b, proxy } = await cluster("claim_stall");
    // Postgres answers nothing to node a for 6 s from the moment it asks for x's history, after claiming x.
    const held = proxy.holdOn((sql) => sql.includes("COPY (") && sql.includes("list-agent/x"), 6_000);
    const first = request(`${a.url}/agents/list-agent/x`);
    await held;
    // a's heartbeat is silent too: once b's reaper has declared it dead, b claims x and writes to it.
    for (const started = performance.now(); ; await sleep(100)) {
      const { rows } = await db.query<{ state: string }>("SELECT state FROM hearth.nodes WHERE node_id = 'a'");
      if (rows[0]?.state === "dead") break;
      expect(performance.now() - started, "a declared dead").toBeLessThan(5_000);
    }
    const written = await request(`${b.url}/agents/list-agent/x?value=v2`, { method: "POST" }, 10_000);
    expect(written).toEqual({ status: 200, body: ["v2"] });
    // The link comes back: a joins again as a new incarnation; its claim of x is of the old one.
    await a.cli.waitFor(/joined again/);
    const answer = await first;
    if ("status" in answer && answer.status === 200) expect(answer.body, "the request that made the claim").toEqual(["v2"]);
    for (let i = 0; i < 5; i++) {
      expect(await request(`${a.url}/agents/list-agent/x`), `read ${i} through a\n${a.cli.output().slice(-2000)}`).toEqual({ status: 200, body: ["v2"] });
    }
    expect(await request(`${a.url}/agents/list-agent/x?value=v3`, { method: "POST" })).toEqual({ status: 200, body: ["v2", "v3"] });
    const { rows } = await db.query<{ owner: string }>("SELECT owner FROM hearth.actor_lease WHERE actor_id = 'list-agent/x'");
    expect(rows[0]?.owner).toBe("b");
  }, 60_000);

  test("the connections open to Postgres go silent (no reset): requests are answered within the statement bound, and served again on new connections", async () => {
    const { a, b, proxy } = await cluster("silent_links");
    // Node a holds a few agents and has connections open in its pool.
    const warm = await Promise.all(["w0", "w1", "w2", "w3"].map((name) => request(`${a.url}/agents/list-agent/${name}?value=1`, { method: "POST" })));
    expect(warm.every((answer) => "status" in answer && answer.status === 200), JSON.stringify(warm)).toBe(true);
    expect(proxy.freezeOpen()).toBeGreaterThan(1);
    const frozenAt = performance.now();
    const answers = await Promise.all(
      ["y", "z"].map(async (name) => {
        const answer = await request(`${a.url}/agents/list-agent/${name}?value=first`, { method: "POST" }, 40_000);
        return { name, answer, afterMs: performance.now() - frozenAt };
      }),
    );
    console.log(`connections frozen: ${answers.map(({ name, answer, afterMs }) => `${name} answered ${"status" in answer ? answer.status : answer.error} after ${afterMs.toFixed(0)} ms`).join(", ")}`);
    for (const { name, answer, afterMs } of answers) {
      expect("status" in answer, `${name}: ${JSON.stringify(answer)}\n${a.cli.output().slice(-2000)}`).toBe(true);
      expect(afterMs, name).toBeLessThan(25_000);
    }
    // New connections pass: the node serves again (its membership may have been lost and joined again).
    for (const name of ["y", "z", "w0"]) {
      let last: unknown;
      for (const started = performance.now(); performance.now() - started < 30_000; await sleep(200)) {
        last = await request(`${a.url}/agents/list-agent/${name}?value=again`, { method: "POST" }, 15_000);
        if ("status" in (last as object) && (last as { status: number }).status === 200) break;
      }
      expect(last, `${name}\n${a.cli.output().slice(-2000)}`).toMatchObject({ status: 200 });
      expect(((last as { body: string[] }).body).at(-1)).toBe("again");
    }
    expect((await request(`${b.url}/agents/list-agent/w0`))).toMatchObject({ status: 200, body: expect.arrayContaining(["1", "again"]) });
  }, 120_000);
});
