import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, test } from "vitest";
import { ClusterNode } from "../../src/cluster/node.ts";
import { Membership } from "../../src/cluster/pg/membership.ts";
import { clusterTables } from "../../src/cluster/pg/schema.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { waitFor } from "./pg/fixture.ts";

/**
 * Rows of nodes long gone are pruned by the live nodes: a dead or left node's row after the retention,
 * with its kept-services rows — but never a node a lease still names, and never a lease row (its
 * epoch fences stale owners). A node id that joins again after its row went gets a new incarnation.
 */

const t = clusterTables();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
}, 60_000);

describe.skipIf(postgresUnavailable() !== undefined)("pruning the rows of gone nodes", () => {
  test("removes a long-gone node's rows, keeps those a lease names, and never reuses an incarnation", async () => {
    const url = await (await sharedPostgres()).database("prune_gone_nodes");
    const pool = new pg.Pool({ connectionString: url });
    cleanups.push(() => pool.end());
    const dir = mkdtempSync(join(tmpdir(), "hearth-prune-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const live = await ClusterNode.start({ connectionString: url, nodeId: "live", advertise: "http://127.0.0.1:1", nodeRetentionMs: 1_000, pruneEveryMs: 100 }, dir);
    cleanups.push(() => live.close());

    // "gone" joins three times (incarnation 3), keeps a service kind, and leaves.
    for (let i = 0; i < 2; i++) await (await Membership.join({ pool, nodeId: "gone", address: "http://gone" })).close();
    const gone = await Membership.join({ pool, nodeId: "gone", address: "http://gone" });
    expect(gone.incarnation).toBe(3);
    await pool.query(`INSERT INTO ${t.keptServices} (node_id, kind, incarnation) VALUES ('gone', '~workflows', 3)`);
    await gone.leave();
    // "owner" dies holding a lease nobody has claimed since: its row stays, as does the lease.
    const owner = await Membership.join({ pool, nodeId: "owner", address: "http://owner" });
    await pool.query(`INSERT INTO ${t.lease} (actor_id, owner, owner_incarnation, epoch) VALUES ('counter/a', 'owner', $1, 1)`, [owner.incarnation]);
    await owner.close();
    await pool.query(`UPDATE ${t.nodes} SET state = 'dead' WHERE node_id = 'owner'`);

    await waitFor("the gone node's row pruned", async () => (await pool.query(`SELECT 1 FROM ${t.nodes} WHERE node_id = 'gone'`)).rowCount === 0, 10_000);
    expect((await pool.query(`SELECT node_id FROM ${t.keptServices}`)).rows).toEqual([]);
    expect((await pool.query(`SELECT node_id, state FROM ${t.nodes} ORDER BY node_id`)).rows).toEqual([
      { node_id: "live", state: "alive" },
      { node_id: "owner", state: "dead" },
    ]);
    expect((await pool.query(`SELECT actor_id, owner, epoch FROM ${t.lease}`)).rows).toEqual([{ actor_id: "counter/a", owner: "owner", epoch: "1" }]);

    // Joining again, its incarnation comes after every one it had: nothing of incarnation 1–3 passes for it.
    const again = await Membership.join({ pool, nodeId: "gone", address: "http://gone" });
    cleanups.push(() => again.close());
    expect(again.incarnation).toBe(4);
  }, 30_000);
});
