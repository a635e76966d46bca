import type pg from "pg";
import { Leases } from "../../../src/cluster/pg/leases.ts";
import { Membership } from "../../../src/cluster/pg/membership.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import type { PgFixture } from "../pg/fixture.ts";

/** Relaxed timings: these tests declare nodes dead themselves, and a loaded machine must not do it for them. */
export const TIMINGS = { ttlMs: 10_000, heartbeatMs: 500, reapMs: 200, marginMs: 1_000 };

export interface SimNode {
  id: string;
  membership: Membership;
  leases: Leases;
  /** Epochs of the actors this simulated node claimed. */
  held: Map<string, number>;
  /** Claims the actor; true when this node holds it afterwards. */
  claim(actorId: string): Promise<boolean>;
}

/** A node as far as Postgres sees it: a membership row with a heartbeat, and leases. */
export async function simNode(pg: PgFixture, pool: pg.Pool, schema: string, id: string): Promise<SimNode> {
  const membership = pg.track(await Membership.join({ pool, schema, nodeId: id, address: `http://${id}`, ...TIMINGS }));
  const leases = new Leases({ pool, membership, schema });
  const held = new Map<string, number>();
  return {
    id,
    membership,
    leases,
    held,
    async claim(actorId) {
      const result = await leases.claim(actorId);
      if (result.claimed) held.set(actorId, result.epoch);
      return result.claimed;
    },
  };
}

/** What a reaper does to a silent node, without waiting for its TTL. */
export async function declareDead(pool: pg.Pool, schema: string, node: SimNode): Promise<void> {
  await node.membership.close();
  await pool.query(`UPDATE ${clusterTables(schema).nodes} SET state = 'dead' WHERE node_id = $1`, [node.id]);
}

/** Every row of actor_due: actor → [due ms, epoch]. */
export async function dueRows(pool: pg.Pool, schema: string): Promise<Record<string, [number, number]>> {
  const { rows } = await pool.query<{ actor_id: string; due_ms: number; owner_epoch: string }>(
    `SELECT actor_id, extract(epoch FROM due_at)::float8 * 1000 AS due_ms, owner_epoch FROM ${clusterTables(schema).due} ORDER BY actor_id`,
  );
  return Object.fromEntries(rows.map((row) => [row.actor_id, [Math.round(Number(row.due_ms)), Number(row.owner_epoch)]]));
}
