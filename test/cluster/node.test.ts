import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { Agent, Host, serve, routeAgentRequest } from "../../src/index.ts";
import type { HearthServer } from "../../src/gateway/serve.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";
import { defineListAgent } from "./fixtures/list-agent.ts";
import { freePort } from "../support/ports.ts";

const ListAgent = defineListAgent(Agent);

const unavailable = postgresUnavailable();

interface RunningNode {
  id: string;
  url: string;
  node: ClusterNode;
  host: Host;
  server: HearthServer;
  dir: string;
}

/** A node in this process: its own data directory, host and loopback server, joined to the cluster. */
async function startNode(connectionString: string, id: string, port: number): Promise<RunningNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-node-${id}-`));
  const advertise = `http://127.0.0.1:${port}`;
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise, ttlMs: 1_500, heartbeatMs: 300 }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ dataDir: dir, agents: { ListAgent }, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const fetch = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 }));
  const server = await serve({ host, port, fetch });
  return { id, url: server.url, node, host, server, dir };
}

async function stopNode(running: RunningNode): Promise<void> {
  await running.server.close();
  await running.host.close();
  await running.node.close();
  rmSync(running.dir, { recursive: true, force: true });
}

async function append(url: string, name: string, value: string): Promise<string[]> {
  const response = await fetch(`${url}/agents/list-agent/${name}?value=${value}`, { method: "POST" });
  if (!response.ok) throw new Error(`append ${value} via ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as string[];
}

describe.skipIf(unavailable !== undefined)("cluster nodes in one process", () => {
  let server: TestPostgres;
  let connectionString: string;
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    server = await sharedPostgres();
    connectionString = await server.database("nodes");
    for (const id of ["a", "b"]) nodes.push(await startNode(connectionString, id, await freePort()));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopNode(running).catch(() => undefined);
    server?.stop();
  }, 60_000);

  test("one live instance: appends through either node reach the same agent, in order", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    expect(await append(a.url, "shared", "1")).toEqual(["1"]);
    expect(await append(b.url, "shared", "2")).toEqual(["1", "2"]);
    expect(await append(a.url, "shared", "3")).toEqual(["1", "2", "3"]);
    const held = [a, b].filter((running) => running.node.heldAgents > 0).map((running) => running.id);
    expect(held).toHaveLength(1);
  });

  test("a node that leaves hands its agents over: another node serves them with every acknowledged write", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const values: string[] = [];
    for (let i = 0; i < 20; i++) {
      values.push(String(i));
      await append(i % 2 === 0 ? a.url : b.url, "handover", String(i));
    }
    const owner = a.node.holds("list-agent", "handover") ? a : b;
    const other = owner === a ? b : a;
    expect(other.node.holds("list-agent", "handover")).toBe(false);
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString });
    await client.connect();
    const logged = await client.query("SELECT count(*)::int AS n FROM hearth.actor_log WHERE actor_id = 'list-agent/handover' AND kind = 0");
    await client.end();
    expect(logged.rows[0].n).toBeGreaterThan(0);
    await stopNode(owner);
    nodes.splice(nodes.indexOf(owner), 1);
    expect(await append(other.url, "handover", "after")).toEqual([...values, "after"]);
    expect(other.node.holds("list-agent", "handover")).toBe(true);
  }, 30_000);
});

