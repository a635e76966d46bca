import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { clusterTables } from "../../src/cluster/pg/schema.ts";
import type { HearthServer } from "../../src/gateway/serve.ts";
import { Agent, Host, routeAgentRequest, serve } from "../../src/index.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { freePort } from "../support/ports.ts";
import { waitFor } from "./pg/fixture.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";

/**
 * A node that once forwarded a request for an agent remembers the agent's owner. Once that owner dies
 * the node must not trust what it remembers: the dead owner's alarms fire here, and requests reach the
 * new owner rather than the dead one.
 */

const TTL_MS = 1_500;
const HEARTBEAT_MS = 300;

/** Names of the agents whose alarm rang (every node runs in this process). */
const rang: string[] = [];

class AlarmAgent extends Agent {
  override async onRequest(request: Request): Promise<Response> {
    const seconds = new URL(request.url).searchParams.get("in");
    if (seconds !== null) await this.schedule(Number(seconds), "ring");
    return Response.json({ armed: seconds });
  }
  ring(): void {
    rang.push(this.name);
  }
}

interface RunningNode {
  node: ClusterNode;
  host: Host;
  server: HearthServer;
  dir: string;
  /** Between the other nodes and this one, when asked for. */
  link?: FaultProxy;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 60_000);

/** `linked`: the node is advertised behind a proxy, so the link to it can be black-holed. */
async function startNode(connectionString: string, id: string, linked = false): Promise<RunningNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-remembered-${id}-`));
  const port = await freePort();
  const link = linked ? await startFaultProxy({ target: { host: "127.0.0.1", port } }) : undefined;
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: `http://127.0.0.1:${link?.port ?? port}`, ttlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ dataDir: dir, agents: { AlarmAgent }, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const fetch = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 }));
  const server = await serve({ host, port, fetch });
  const running: RunningNode = { node, host, server, dir, ...(link ? { link } : {}) };
  cleanups.push(async () => {
    await link?.close();
    await server.close().catch(() => undefined);
    await host.close().catch(() => undefined);
    await node.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  return running;
}

async function cluster(database: string): Promise<{ url: string; pool: pg.Pool; pgProxy: FaultProxy }> {
  const server = await sharedPostgres();
  const url = await server.database(database);
  const pgProxy = await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } });
  const pool = new pg.Pool({ connectionString: url });
  cleanups.push(async () => {
    await pool.end();
    await pgProxy.close();
  });
  return { url, pool, pgProxy };
}

describe.skipIf(postgresUnavailable() !== undefined)("a node that forwarded to an owner since dead", () => {
  test("the dead owner's alarm fires on it without any request for the agent", async () => {
    const { url, pool, pgProxy } = await cluster("remembered_owner_alarm");
    const a = await startNode(pgProxy.url(url), "a");
    const b = await startNode(url, "b");
    expect((await fetch(`${a.server.url}/agents/alarm-agent/wake-1?in=2`, { method: "POST" })).status).toBe(200);
    expect(a.node.holds("alarm-agent", "wake-1")).toBe(true);
    // Through node b: forwarded to a, which b now remembers as the owner.
    expect((await fetch(`${b.server.url}/agents/alarm-agent/wake-1`, { method: "POST" })).status).toBe(200);
    expect(b.node.holds("alarm-agent", "wake-1")).toBe(false);
    // Node a dies holding the agent: it stops serving and loses Postgres, its lease never released.
    await a.server.close();
    await a.host.close();
    await pgProxy.close();
    await waitFor("the alarm", () => rang.includes("wake-1"), 20_000);
    expect(b.node.holds("alarm-agent", "wake-1")).toBe(true);
    expect(b.node.time.scanner.stats.takes).toBe(1);
    await waitFor("the row removed", async () => (await pool.query(`SELECT 1 FROM ${clusterTables().due}`)).rowCount === 0);
  }, 40_000);

  test("a request for the agent of an owner that vanished without closing its connections is served by the new owner", async () => {
    const { url, pool, pgProxy } = await cluster("remembered_owner_request");
    const a = await startNode(pgProxy.url(url), "a", true);
    const b = await startNode(url, "b");
    expect((await fetch(`${a.server.url}/agents/alarm-agent/quiet`, { method: "POST" })).status).toBe(200);
    expect(a.node.holds("alarm-agent", "quiet")).toBe(true);
    expect((await fetch(`${b.server.url}/agents/alarm-agent/quiet`, { method: "POST" })).status).toBe(200);
    expect(b.node.holds("alarm-agent", "quiet")).toBe(false);
    // Runs first on the way out: a, cut off from Postgres, then leaves at once rather than time out.
    cleanups.push(() => pgProxy.mode("reset"));
    // Node a's machine drops off the network: its links to b and to Postgres go silent, nothing is reset.
    await a.link!.mode("blackhole");
    await pgProxy.mode("blackhole");
    await waitFor("node a reaped", async () => (await pool.query<{ state: string }>(`SELECT state FROM ${clusterTables().nodes} WHERE node_id = 'a'`)).rows[0]?.state === "dead");
    // a's last heartbeat may have landed up to a heartbeat before b looked a up: by now that look is
    // older than the TTL too.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS + 200));
    const response = await fetch(`${b.server.url}/agents/alarm-agent/quiet`, { method: "POST" });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(b.node.holds("alarm-agent", "quiet")).toBe(true);
  }, 40_000);
});
