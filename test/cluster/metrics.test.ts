import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { METRICS_PATH } from "../../src/cluster/metrics.ts";
import { Agent } from "../../src/index.ts";
import { createHearthMetrics } from "../../src/observability/metrics/index.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";

class Pinger extends Agent {
  override onRequest(): Response {
    return new Response("pong");
  }
}

type RunningNode = TestNode;

function startNode(connectionString: string, id: string): Promise<RunningNode> {
  return startTestNode(connectionString, id, {
    host: { agents: { Pinger } },
    serve: (host, node) => {
      const metrics = createHearthMetrics({ host });
      return { metrics, exposeMetrics: node.metrics(() => metrics.expose()) };
    },
  });
}

const stopNode = stopTestNode;

/** Sample lines of `name` (any labels), from an exposition. */
const samples = (text: string, name: string): string[] => text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe.skipIf(postgresUnavailable() !== undefined)("/metrics on a cluster node shows the whole cluster", () => {
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    const connectionString = await (await sharedPostgres()).database("cluster_metrics");
    for (const id of ["a", "b"]) nodes.push(await startNode(connectionString, id));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopNode(running).catch(() => undefined);
  }, 60_000);

  test("every node's samples, labelled by node, from whichever node is asked; ?scope=node for its own", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    for (let i = 0; i < 4; i++) expect(await (await fetch(`${(i % 2 === 0 ? a : b).url}/agents/pinger/p${i}`)).text()).toBe("pong");
    const text = await (await fetch(`${b.url}/metrics`)).text();
    for (const family of ["hearth_http_requests_total", "hearth_agents"]) {
      const lines = samples(text, family);
      expect(lines.some((line) => line.includes('node="a"')), `${family} of node a`).toBe(true);
      expect(lines.some((line) => line.includes('node="b"')), `${family} of node b`).toBe(true);
    }
    // Each family's HELP and TYPE once, however many nodes answered.
    expect(text.split("\n").filter((line) => line.startsWith("# TYPE hearth_http_requests_total ")).length).toBe(1);
    expect(samples(text, "hearth_cluster_metrics_missing_nodes")).toEqual(["hearth_cluster_metrics_missing_nodes 0"]);
    // The agents live on each node add up to those held.
    const live = samples(text, "hearth_agents").filter((line) => line.includes('state="live"'));
    const total = live.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    expect(total).toBe(a.node.heldAgents + b.node.heldAgents);
    const own = await (await fetch(`${b.url}/metrics?scope=node`)).text();
    expect(own).not.toContain('node="');
    expect(samples(own, "hearth_cluster_metrics_missing_nodes")).toEqual([]);
  });

  test("a node's own metrics are not served without the cluster key", async () => {
    const response = await fetch(`${nodes[0]!.url}${METRICS_PATH}`);
    expect(response.status).toBe(403);
  });

  test("a live node that does not answer is left out and counted", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    await b.server.close(); // still a live member for its TTL, but unreachable
    const text = await (await fetch(`${a.url}/metrics`)).text();
    expect(samples(text, "hearth_cluster_metrics_missing_nodes")).toEqual(["hearth_cluster_metrics_missing_nodes 1"]);
    expect(text).toContain('node="a"');
    expect(text).not.toContain('node="b"');
  });
});
