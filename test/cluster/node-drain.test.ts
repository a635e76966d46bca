import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Agent as Dispatcher, fetch as fetchWith } from "undici";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import type { HearthServer } from "../../src/gateway/serve.ts";
import { Agent, Host, routeAgentRequest, serve } from "../../src/index.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";
import { balanced, listOf } from "./fixtures/cluster-client.ts";
import { defineListAgent } from "./fixtures/list-agent.ts";
import { formatReport } from "./support/checker.ts";
import { createHistoryRecorder } from "./support/recorder.ts";
import { freePort } from "../support/ports.ts";

const ListAgent = defineListAgent(Agent);
/**
 * The balancer's connections to the nodes are not kept alive: one kept idle while a node closes its
 * server is cut under the next request sent on it, which a balancer may not retry blindly (it could
 * have run). docs/cluster/faults.md says what a keep-alive balancer must do.
 */
const balancerConnections = new Dispatcher({ pipelining: 0 });
const lbFetch = (url: string, init: { method?: string } = {}): Promise<Response> => fetchWith(url, { ...init, dispatcher: balancerConnections }) as unknown as Promise<Response>;
const unavailable = postgresUnavailable();

interface RunningNode {
  id: string;
  url: string;
  port: number;
  dir: string;
  node: ClusterNode;
  host: Host;
  server: HearthServer;
}

/** A node in this process on a given port and data directory (kept across its restarts). */
async function startNode(connectionString: string, id: string, port: number, dir: string): Promise<RunningNode> {
  const url = `http://127.0.0.1:${port}`;
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: url }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ dataDir: dir, agents: { ListAgent }, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const server = await serve({ host, port, fetch: node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("not found", { status: 404 })) });
  return { id, url, port, dir, node, host, server };
}

/**
 * The stop order a SIGTERM should run: hand over while still listening (requests reaching the node
 * are turned away with 503 and retried elsewhere), leave the balancer's rotation (`leaveRotation`,
 * as an orchestrator removes a stopping endpoint), let requests already on their way be answered,
 * then close. Closing the server cuts the connections still open: without the pause a request sent
 * just before would be cut, and a balancer cannot tell whether a cut request ran.
 */
async function stopGracefully(running: RunningNode, leaveRotation: () => void = () => {}): Promise<void> {
  await running.node.drain();
  leaveRotation();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await running.server.close();
  await running.host.close();
  await running.node.close();
}

describe.skipIf(unavailable !== undefined)("draining a cluster node", () => {
  let server: TestPostgres;
  let connectionString: string;
  const nodes: RunningNode[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    server = await sharedPostgres();
    connectionString = await server.database("drain");
    for (const id of ["a", "b", "c"]) {
      const dir = mkdtempSync(join(tmpdir(), `hearth-drain-${id}-`));
      dirs.push(dir);
      nodes.push(await startNode(connectionString, id, await freePort(), dir));
    }
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopGracefully(running).catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    server?.stop();
    await balancerConnections.close();
  }, 60_000);

  test("a rolling restart under load with drain before the server closes: no client sees an error, nothing acknowledged is lost", async () => {
    const recorder = createHistoryRecorder();
    const agents = ["r0", "r1", "r2", "r3", "r4"];
    let running = true;
    /** The nodes the balancer sends to. */
    let rotation: RunningNode[] = nodes;
    const errors: string[] = [];
    const clients = Array.from({ length: 4 }, async (_, client) => {
      for (let i = 0; running; i++) {
        const name = agents[(client + i) % agents.length]!;
        const value = `${client}-${i}`;
        const outcome =
          i % 4 === 3
            ? await recorder.read(name, async () => listOf(await balanced(() => rotation, (node) => lbFetch(`${node.url}/agents/list-agent/${name}`), 10_000, client + i)))
            : await recorder.append(name, value, async () => listOf(await balanced(() => rotation, (node) => lbFetch(`${node.url}/agents/list-agent/${name}?value=${value}`, { method: "POST" }), 10_000, client + i)));
        if (outcome.outcome !== "ok") errors.push(`${name}: ${String(outcome.error)} ${String((outcome.error as { cause?: unknown }).cause)} ${(outcome.error as { cause?: { code?: string; syscall?: string } }).cause?.code}/${(outcome.error as { cause?: { syscall?: string } }).cause?.syscall}`);
      }
    });
    await until(() => recorder.history.length > 40);
    const db = new pg.Client({ connectionString });
    await db.connect();
    const steps: string[] = [];
    try {
      for (const id of ["a", "b", "c"]) {
        const index = nodes.findIndex((node) => node.id === id);
        const old = nodes[index]!;
        const before = recorder.history.length;
        const started = performance.now();
        await stopGracefully(old, () => (rotation = nodes.filter((node) => node !== old)));
        const stopMs = performance.now() - started;
        const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM hearth.actor_lease WHERE owner = $1", [id]);
        expect(rows[0]!.n).toBe(0);
        nodes[index] = await startNode(connectionString, id, old.port, old.dir);
        rotation = nodes;
        steps.push(`${id} stopped in ${stopMs.toFixed(0)} ms`);
        await until(() => recorder.history.length > before + 40);
      }
    } finally {
      running = false;
      await Promise.all(clients);
      await db.end();
    }
    const finals: Record<string, string[]> = {};
    for (const name of agents) finals[name] = await listOf(await fetch(`${nodes[0]!.url}/agents/list-agent/${name}`));
    const report = recorder.check(finals);
    console.log(`rolling restart with drain: ${steps.join(", ")}; client-visible errors ${errors.length}; ${formatReport(report)}`);
    expect(report.valid, formatReport(report)).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);

  test("a draining node turns requests away with 503 and retry-after: 0 (peers get 'moved') and holds no lease afterwards", async () => {
    const target = nodes[1]!;
    await listOf(await fetch(`${target.url}/agents/list-agent/turned?value=1`, { method: "POST" }));
    await target.node.drain();
    const response = await fetch(`${target.url}/agents/list-agent/turned?value=2`, { method: "POST" });
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("0");
    expect(await response.text()).toBe("This node is shutting down: try another node");
    expect(target.node.heldAgents).toBe(0);
    // Another node takes the agent at once, with what the drained node acknowledged.
    expect(await listOf(await fetch(`${nodes[0]!.url}/agents/list-agent/turned?value=3`, { method: "POST" }))).toEqual(["1", "3"]);
    await target.server.close();
    await target.host.close();
    await target.node.close();
    nodes[1] = await startNode(connectionString, target.id, target.port, target.dir);
  }, 30_000);
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting for the load to make progress");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

