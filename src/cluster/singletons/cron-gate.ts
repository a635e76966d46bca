import type pg from "pg";
import { clusterTables } from "../pg/schema.ts";

/** Decides whether this node runs a cron trigger's run; `done` records that it ran. */
export interface CronGate {
  /** True when this node is the one to run `cron` for `scheduledTime` (ms since the epoch). */
  claim(cron: string, scheduledTime: number): Promise<boolean>;
  /** The run this node claimed succeeded: nobody runs it again. (A failed run keeps its claim for this node's retry.) */
  done(cron: string, scheduledTime: number): Promise<void>;
  /**
   * Takes over, for this node, the runs of `crons` whose claimer died before finishing them (its node
   * is not alive or draining, or has joined again since it claimed) within the last
   * {@link CRON_RERUN_WINDOW_MS}: each such run is taken by one live node, which runs it once.
   */
  takeOrphans(crons: readonly string[]): Promise<Array<{ cron: string; scheduledTime: number }>>;
}

/** How long after its claim a run whose node died unfinished is still run again by another node. */
export const CRON_RERUN_WINDOW_MS = 60 * 60 * 1000;

/**
 * Cron triggers fire once per cluster, not once per node: every node computes the same schedule and,
 * at each scheduled time, tries to claim it in Postgres; the first claim wins. A run claimed by a node
 * that died before it finished is claimed again by the next node that tries, or taken over by a live
 * node looking for such runs ({@link CronGate.takeOrphans}; at least once, as on one node after a
 * crash); a finished run is never run again, even by a node that starts later and catches up on
 * missed runs. Its table is made by the cluster's `migrate`.
 * @example
 * const gate = clusterCronGate({ pool, nodeId: "a" });
 * if (await gate.claim("0 * * * *", controller.scheduledTime)) await runIt();
 */
export function clusterCronGate(options: { pool: pg.Pool; nodeId: string; schema?: string }): CronGate {
  const t = clusterTables(options.schema);
  const table = t.cronClaims;
  // The claim's node is still the one that made it: alive or draining, and not joined again since.
  const claimerLives = `EXISTS (SELECT 1 FROM ${t.nodes} n WHERE n.node_id = c.node_id AND n.state IN ('alive', 'draining') AND n.joined_at <= c.claimed_at)`;
  return {
    async claim(cron, scheduledTime) {
      const { rowCount } = await options.pool.query(
        `INSERT INTO ${table} AS c (cron, scheduled_time, node_id) VALUES ($1, $2, $3)
         ON CONFLICT (cron, scheduled_time) DO UPDATE SET node_id = excluded.node_id, claimed_at = now()
           WHERE NOT c.done AND (c.node_id = excluded.node_id OR NOT ${claimerLives})
         RETURNING 1`,
        [cron, scheduledTime, options.nodeId],
      );
      return rowCount === 1;
    },
    async takeOrphans(crons) {
      if (crons.length === 0) return [];
      // Two nodes taking the same row: the second re-checks it after the first's update and finds its claimer alive.
      const { rows } = await options.pool.query<{ cron: string; scheduled_time: string }>(
        `UPDATE ${table} AS c SET node_id = $1, claimed_at = now()
         WHERE NOT c.done AND c.cron = ANY($2::text[]) AND c.claimed_at > now() - make_interval(secs => $3::float8 / 1000)
           AND NOT ${claimerLives}
           AND EXISTS (SELECT 1 FROM ${t.nodes} me WHERE me.node_id = $1 AND me.state = 'alive')
         RETURNING c.cron, c.scheduled_time`,
        [options.nodeId, crons, CRON_RERUN_WINDOW_MS],
      );
      return rows.map((row) => ({ cron: row.cron, scheduledTime: Number(row.scheduled_time) })).sort((x, y) => x.scheduledTime - y.scheduledTime);
    },
    async done(cron, scheduledTime) {
      await options.pool.query(`UPDATE ${table} SET done = true WHERE cron = $1 AND scheduled_time = $2 AND node_id = $3`, [cron, scheduledTime, options.nodeId]);
      // Old claims are of no use once their runs are long past, done or not (a failed run keeps its claim).
      await options.pool.query(`DELETE FROM ${table} WHERE claimed_at < now() - interval '7 days'`);
    },
  };
}
