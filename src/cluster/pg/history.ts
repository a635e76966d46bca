import type pg from "pg";
import type { ActorHistory } from "../log.ts";
import { checkActorId } from "./leases.ts";
import { clusterTables, LOG_KIND } from "./schema.ts";

/**
 * Reads what a new owner needs to rebuild an actor's local file: the latest snapshot and the
 * changesets after it, in seq order, and the log's head (epoch_start markers count for the head but
 * are left out of the changesets). One statement, so a compaction running at the same time cannot
 * make the snapshot and the tail disagree.
 *
 * @example
 * const history = await readHistory(pool, "counter/a");
 * if (history.snapshot) db = restore(history.snapshot.image);
 * for (const { payload } of history.changesets) db.applyChangeset(payload);
 */
export async function readHistory(pool: pg.Pool, actorId: string, schema?: string): Promise<ActorHistory> {
  const t = clusterTables(schema);
  const { rows } = await pool.query<{ source: "snapshot" | "log"; seq: string; kind: number; payload: Buffer }>(
    `SELECT 'snapshot' AS source, seq, 0::int2 AS kind, image AS payload FROM ${t.snapshot} WHERE actor_id = $1
     UNION ALL
     SELECT 'log', seq, kind, payload FROM ${t.log}
     WHERE actor_id = $1 AND seq > coalesce((SELECT seq FROM ${t.snapshot} WHERE actor_id = $1), 0)
     ORDER BY seq`,
    [checkActorId(actorId)],
  );
  const history: ActorHistory = { changesets: [], head: 0 };
  for (const row of rows) {
    const seq = Number(row.seq);
    history.head = Math.max(history.head, seq);
    if (row.source === "snapshot") history.snapshot = { seq, image: row.payload };
    else if (row.kind === LOG_KIND.changeset) history.changesets.push({ seq, payload: row.payload });
  }
  return history;
}
