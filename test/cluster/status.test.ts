import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { createClusterPool, Leases, Membership } from "../../src/cluster/pg/index.ts";
import { readClusterStatus } from "../../src/cluster/status.ts";
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
    // Node a must stay alive, in its first incarnation, throughout: with a TTL of 1 s, a heartbeat held
    // up that long on a machine busy with the whole suite failed the test now and then. Its reaper
    // declares b dead once b has been silent for b's own TTL.
    node = await ClusterNode.start({ connectionString: url, nodeId: "a", advertise: "http://10.0.0.5:8787", ttlMs: 3_000, heartbeatMs: 250 }, dir);
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

  test("shows each node, the agents and services it holds, and agents left without a live owner", async () => {
    // A second node that holds one agent and two services, then goes silent without leaving (a crash).
    const pool = createClusterPool({ connectionString: url });
    // b's reaper must not declare a dead either while b is still running.
    const membership = await Membership.join({ pool, nodeId: "b", address: "http://10.0.0.6:8787", ttlMs: 2_500, heartbeatMs: 250 });
    const leases = new Leases({ pool, membership });
    for (const actorId of ["counter/x", "~workflows/p3", "~d1/main"]) expect((await leases.claim(actorId)).claimed).toBe(true);
    const alive = await status("--cluster", url, "--json");
    expect(alive.code, alive.stderr).toBe(0);
    const before = JSON.parse(alive.stdout) as { nodes: Array<{ nodeId: string; state: string; agents: number; services: number; ttlSeconds: number }>; agents: number; services: number; orphaned: number };
    expect(before.nodes.map(({ nodeId, state, agents, services, ttlSeconds }) => ({ nodeId, state, agents, services, ttlSeconds }))).toEqual([
      { nodeId: "a", state: "alive", agents: 0, services: 0, ttlSeconds: 3 },
      { nodeId: "b", state: "alive", agents: 1, services: 2, ttlSeconds: 2.5 },
    ]);
    expect({ agents: before.agents, services: before.services, orphaned: before.orphaned }).toEqual({ agents: 1, services: 2, orphaned: 0 });

    membership.pauseTimers();
    // Waits on Postgres itself, then asks the CLI once (each `hearth cluster status` is a process to start).
    await until(async () => {
      const b = (await readClusterStatus(pool)).nodes.find((n) => n.nodeId === "b");
      return b?.state === "dead" && b.agents === 1 && b.services === 2;
    }, "node b reaped");
    const table = (await status("--cluster", url)).stdout;
    expect(table).toMatch(/^b\s+dead\s+1\s+2\s+[\d.]+ s ago\s+2\.5 s\s/m);
    expect(table).toMatch(/^node\s+state\s+agents\s+services\s+heartbeat\s+ttl\s+incarnation/m);
    expect(table).toMatch(/^a\s+alive\s+0\s+0\s+[\d.]+ s ago\s+3 s\s+1\s+http:\/\/10\.0\.0\.5:8787$/m);
    expect(table).toContain("1 agent(s) registered, 1 waiting for a new owner; 2 service(s) (D1 databases, workflow partitions);");
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
