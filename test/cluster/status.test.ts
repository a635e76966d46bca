import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { createClusterPool, Leases, Membership } from "../../src/cluster/pg/index.ts";
import { cleanEnv, requireBuild, runCli, until } from "../cli/helpers.ts";
import { postgresUnavailable, sharedPostgres, type TestPostgres } from "../support/postgres.ts";

const unavailable = postgresUnavailable();

describe.skipIf(unavailable !== undefined)("hearth cluster status", () => {
  let server: TestPostgres;
  let url: string;
  let node: ClusterNode;
  const dir = mkdtempSync(join(tmpdir(), "hearth-status-"));
  beforeAll(async () => {
    requireBuild();
    server = await sharedPostgres();
    url = await server.database("status");
    node = await ClusterNode.start({ connectionString: url, nodeId: "a", advertise: "http://10.0.0.5:8787", ttlMs: 1_000, heartbeatMs: 250 }, dir);
  }, 60_000);
  afterAll(async () => {
    await node?.close();
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const cli = runCli(["cluster", "status", ...args], { env: cleanEnv() });
    const { code } = await cli.exited();
    return { code, stdout: cli.stdout(), stderr: cli.stderr() };
  };

  test("shows each node, the agents it holds, and agents left without a live owner", async () => {
    // A second node that holds one agent, then goes silent without leaving (a crash).
    const pool = createClusterPool({ connectionString: url });
    const membership = await Membership.join({ pool, nodeId: "b", address: "http://10.0.0.6:8787", ttlMs: 1_000, heartbeatMs: 250 });
    const claim = await new Leases({ pool, membership }).claim("counter/x");
    expect(claim.claimed).toBe(true);
    const alive = await status("--cluster", url, "--json");
    expect(alive.code, alive.stderr).toBe(0);
    const before = JSON.parse(alive.stdout) as { nodes: Array<{ nodeId: string; state: string; agents: number }>; agents: number; orphaned: number };
    expect(before.nodes.map(({ nodeId, state, agents }) => ({ nodeId, state, agents }))).toEqual([
      { nodeId: "a", state: "alive", agents: 0 },
      { nodeId: "b", state: "alive", agents: 1 },
    ]);
    expect(before.orphaned).toBe(0);

    membership.pauseTimers();
    let table = "";
    await until(async () => {
      table = (await status("--cluster", url)).stdout;
      return /^b\s+dead\s+1\s/m.test(table);
    }, "node b reaped");
    expect(table).toMatch(/^node\s+state\s+agents\s+heartbeat/m);
    expect(table).toMatch(/^a\s+alive\s+0\s+[\d.]+ s ago\s+1\s+http:\/\/10\.0\.0\.5:8787$/m);
    expect(table).toContain("1 agent(s) registered, 1 waiting for a new owner");
    await membership.close();
    await pool.end();
  }, 30_000);

  test("says clearly what is wrong: no cluster given, no cluster on the database, a bad verb", async () => {
    const none = await status();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Which cluster? Give --cluster <postgres-url> or set HEARTH_CLUSTER.");
    const empty = await status("--cluster", await server.database("empty"));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no Hearth cluster has run on this database yet");
    const cli = runCli(["cluster", "grow"], { env: cleanEnv() });
    expect((await cli.exited()).code).toBe(2);
    expect(cli.stderr()).toContain('Unknown cluster command "grow" (expected status).');
  }, 30_000);
});
