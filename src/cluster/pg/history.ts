import type pg from "pg";
import type { ActorHistory } from "../log.ts";
import { checkActorId } from "./leases.ts";
import { clusterTables, LOG_KIND } from "./schema.ts";

/** A row of a history query: a snapshot's image or a log entry, of one actor. */
export interface HistoryRow {
  actor_id: string;
  source: "snapshot" | "log";
  seq: string;
  kind: number;
  payload: Buffer;
}

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
  const { rows } = await pool.query<HistoryRow>(
    `SELECT actor_id, 'snapshot' AS source, seq, 0::int2 AS kind, image AS payload FROM ${t.snapshot} WHERE actor_id = $1
     UNION ALL
     SELECT actor_id, 'log', seq, kind, payload FROM ${t.log}
     WHERE actor_id = $1 AND seq > coalesce((SELECT seq FROM ${t.snapshot} WHERE actor_id = $1), 0)
     ORDER BY seq`,
    [checkActorId(actorId)],
  );
  return historiesOf(rows).get(actorId) ?? { changesets: [], head: 0 };
}

/** Groups history rows (ordered by actor, then seq) into each actor's history. */
export function historiesOf(rows: readonly HistoryRow[]): Map<string, ActorHistory> {
  const histories = new Map<string, ActorHistory>();
  for (const row of rows) {
    let history = histories.get(row.actor_id);
    if (history === undefined) histories.set(row.actor_id, (history = { changesets: [], head: 0 }));
    const seq = Number(row.seq);
    history.head = Math.max(history.head, seq);
    if (row.source === "snapshot") history.snapshot = { seq, image: row.payload };
    else if (row.kind === LOG_KIND.changeset) history.changesets.push({ seq, payload: row.payload });
  }
  return histories;
}
