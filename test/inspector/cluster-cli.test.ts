/**
 * `hearth start --cluster … --inspector` as shipped: two node processes on a real Postgres, and node
 * a's inspector shows and reaches the agents node b holds.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir } from "../cli/helpers.ts";
import { inspectorApi, type InspectorCall } from "../support/inspector-api.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";

const APP = join(import.meta.dirname, "..", "cluster", "fixtures", "list-app.ts");
const VIEWER = "viewer-token-for-the-cluster-cli-test";
const ADMIN = "admin-token-for-the-cluster-cli-test";

interface NodeProcess {
  url: string;
  inspector: string;
}

describe.skipIf(postgresUnavailable() !== undefined)("hearth start --cluster --inspector", () => {
  const nodes: NodeProcess[] = [];
  const api = (node: NodeProcess, path: string, call?: InspectorCall) => inspectorApi(node.inspector, VIEWER, ADMIN)(path, call);

  beforeAll(async () => {
    requireBuild();
    const connectionString = await (await sharedPostgres()).database("inspector_cluster_cli");
    const dir = await tempDir("hearth-inspector-cluster-");
    const started = ["a", "b"].map(async (id) => {
      const [port, inspectorPort] = [await freePort(), await freePort()];
      const url = `http://127.0.0.1:${port}`;
      const args = ["start", APP, "--port", String(port), "--data", join(dir, id), "--cluster", connectionString, "--node-id", id, "--advertise", url, "--inspector", "--inspector-port", String(inspectorPort), "--no-traces", "--log-level", "warn"];
      const cli = runCli(args, { env: cleanEnv({ HEARTH_INSPECTOR_TOKEN: VIEWER, HEARTH_INSPECTOR_ADMIN_TOKEN: ADMIN }) });
      await cli.ready();
      return { url, inspector: `http://127.0.0.1:${inspectorPort}` };
    });
    nodes.push(...(await Promise.all(started)));
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    expect(await (await fetch(`${a.url}/agents/list-agent/held-by-a?value=1`, { method: "POST" })).json()).toEqual(["1"]);
    expect(await (await fetch(`${b.url}/agents/list-agent/held-by-b?value=2`, { method: "POST" })).json()).toEqual(["2"]);
  }, 60_000);

  afterAll(async () => {
    await cleanup();
  }, 30_000);

  test("node a's inspector lists both nodes' agents and reads, queries and changes the one node b holds", async () => {
    const a = nodes[0]!;
    const list = await api(a, "/api/agents?class=ListAgent");
    expect(list.json.items!.map((item) => `${String(item.name)}@${String(item.node)}`)).toEqual(["held-by-a@a", "held-by-b@b"]);
    expect((await api(a, "/api/agents/ListAgent/held-by-b/state")).json).toEqual({ state: { length: 1 } });
    const query = await api(a, "/api/agents/ListAgent/held-by-b/sql/query", { method: "POST", body: { sql: "SELECT value FROM items" } });
    expect(query.json.rows).toEqual([["2"]]);
    expect((await api(a, "/api/agents/ListAgent/held-by-b/state", { method: "PUT", body: { state: { length: 7 } } })).status).toBe(403);
    expect((await api(a, "/api/agents/ListAgent/held-by-b/state", { method: "PUT", as: "admin", body: { state: { length: 7 } } })).json).toEqual({ state: { length: 7 } });
    const overview = await api(a, "/api/overview");
    expect((overview.json.cluster as { nodes: Array<{ node: string }> }).nodes.map((row) => row.node)).toEqual(["a", "b"]);
  });
});
