import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { ClusterTime } from "../../../src/cluster/due/cluster-time.ts";
import { ClusterNode } from "../../../src/cluster/node.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import type { HearthServer } from "../../../src/gateway/serve.ts";
import { Agent, Host, routeAgentRequest, serve } from "../../../src/index.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../../support/postgres.ts";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.ts";
import { waitFor } from "../pg/fixture.ts";
import { freePort } from "../../support/ports.ts";

/** Names of the agents whose alarm rang, in order (both nodes run in this process). */
const rang: string[] = [];

class AlarmAgent extends Agent {
  override async onRequest(request: Request): Promise<Response> {
    const seconds = Number(new URL(request.url).searchParams.get("in"));
    await this.schedule(seconds, "ring");
    return Response.json({ armed: seconds });
  }
  ring(): void {
    rang.push(this.name);
  }
}

/** Runs once ClusterNode and Host wire the node's durable time in (docs/cluster/due.md, "How a node wires it"). */
const wired = Object.getOwnPropertyDescriptor(ClusterNode.prototype, "time") !== undefined;
const unavailable = postgresUnavailable();

interface RunningNode {
  node: ClusterNode;
  host: Host;
  server: HearthServer;
  dir: string;
}

async function startNode(connectionString: string, id: string): Promise<RunningNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-due-${id}-`));
  const port = await freePort();
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: `http://127.0.0.1:${port}`, ttlMs: 1_500, heartbeatMs: 300 }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ dataDir: dir, agents: { AlarmAgent }, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const fetch = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 }));
  const server = await serve({ host, port, fetch });
  return { node, host, server, dir };
}

describe.skipIf(unavailable !== undefined || !wired)("time in a cluster, end to end", () => {
  let server: TestPostgres;
  let url: string;
  let proxy: FaultProxy;
  let a: RunningNode;
  let b: RunningNode;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await sharedPostgres();
    url = await server.database("due_failover");
    proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: server.port } });
    a = await startNode(proxy.url(url), "a");
    b = await startNode(url, "b");
    pool = new pg.Pool({ connectionString: url });
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    for (const running of [b, a]) {
      if (running === undefined) continue;
      await running.server.close().catch(() => undefined);
      await running.host.close().catch(() => undefined);
      await running.node.close().catch(() => undefined);
      rmSync(running.dir, { recursive: true, force: true });
    }
    await proxy?.close();
    server?.stop();
  }, 60_000);

  test("a dead owner's alarm fires on the other node without any request for the agent", async () => {
    const response = await fetch(`${a.server.url}/agents/alarm-agent/wake-1?in=2`, { method: "POST" });
    expect(response.status).toBe(200);
    expect(a.node.holds("alarm-agent", "wake-1")).toBe(true);
    // The reply left after the next wake was in actor_due, under the owner's epoch.
    const { rows } = await pool.query(`SELECT owner_epoch FROM ${clusterTables().due} WHERE actor_id = 'alarm-agent/wake-1'`);
    expect(rows).toEqual([{ owner_epoch: "1" }]);
    // Node a dies holding the agent: it stops serving and loses Postgres, its lease never released.
    await a.server.close();
    await a.host.close();
    await proxy.close();
    await waitFor("the alarm", () => rang.includes("wake-1"), 20_000);
    expect(rang).toEqual(["wake-1"]);
    expect(b.node.holds("alarm-agent", "wake-1")).toBe(true);
    expect((b.node as unknown as { time: ClusterTime }).time.scanner.stats.takes).toBe(1);
    // The run left nothing pending: the new owner removed the row under its own epoch.
    await waitFor("the row removed", async () => (await pool.query(`SELECT 1 FROM ${clusterTables().due}`)).rowCount === 0);
  }, 40_000);

  test("a node that leaves hands its agents' alarms over: they fire on another node without a request", async () => {
    const c = await startNode(url, "c");
    try {
      const response = await fetch(`${c.server.url}/agents/alarm-agent/wake-2?in=2`, { method: "POST" });
      expect(response.status).toBe(200);
      expect(c.node.holds("alarm-agent", "wake-2")).toBe(true);
    } finally {
      await c.server.close();
      await c.host.close();
      await c.node.close(); // leaves: its leases are given back, its rows stay
      rmSync(c.dir, { recursive: true, force: true });
    }
    await waitFor("the alarm", () => rang.includes("wake-2"), 20_000);
    expect(rang.filter((name) => name === "wake-2")).toHaveLength(1);
    expect(b.node.holds("alarm-agent", "wake-2")).toBe(true);
  }, 40_000);
});

