import type pg from "pg";
import { clusterTables } from "../pg/schema.ts";

/** Decides whether this node runs a cron trigger's run; `done` records that it ran. */
export interface CronGate {
  /** True when this node is the one to run `cron` for `scheduledTime` (ms since the epoch). */
  claim(cron: string, scheduledTime: number): Promise<boolean>;
  /** The run this node claimed succeeded: nobody runs it again. (A failed run keeps its claim for this node's retry.) */
  done(cron: string, scheduledTime: number): Promise<void>;
}

/**
 * Cron triggers fire once per cluster, not once per node: every node computes the same schedule and,
 * at each scheduled time, tries to claim it in Postgres; the first claim wins. A run claimed by a node
 * that died before it finished is claimed again by the next node that tries (at least once, as on one
 * node after a crash); a finished run is never run again, even by a node that starts later and
 * catches up on missed runs. Its table is made by the cluster's `migrate`.
 * @example
 * const gate = clusterCronGate({ pool, nodeId: "a" });
 * if (await gate.claim("0 * * * *", controller.scheduledTime)) await runIt();
 */
export function clusterCronGate(options: { pool: pg.Pool; nodeId: string; schema?: string }): CronGate {
  const t = clusterTables(options.schema);
  const table = t.cronClaims;
  return {
    async claim(cron, scheduledTime) {
      const { rowCount } = await options.pool.query(
        `INSERT INTO ${table} AS c (cron, scheduled_time, node_id) VALUES ($1, $2, $3)
         ON CONFLICT (cron, scheduled_time) DO UPDATE SET node_id = excluded.node_id, claimed_at = now()
           WHERE NOT c.done AND (c.node_id = excluded.node_id OR NOT EXISTS (
             SELECT 1 FROM ${t.nodes} n WHERE n.node_id = c.node_id AND n.state IN ('alive', 'draining')))
         RETURNING 1`,
        [cron, scheduledTime, options.nodeId],
      );
      return rowCount === 1;
    },
    async done(cron, scheduledTime) {
      await options.pool.query(`UPDATE ${table} SET done = true WHERE cron = $1 AND scheduled_time = $2 AND node_id = $3`, [cron, scheduledTime, options.nodeId]);
      // Old claims are of no use once their runs are long past, done or not (a failed run keeps its claim).
      await options.pool.query(`DELETE FROM ${table} WHERE claimed_at < now() - interval '7 days'`);
    },
  };
}
