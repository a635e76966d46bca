import type pg from "pg";
import type { ActorHistory } from "../log.ts";
import { copyRows, quoteLiteral } from "./copy-rows.ts";
import { checkActorId } from "./leases.ts";
import { clusterTables, LOG_KIND, type ClusterTables } from "./schema.ts";

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
 * are left out of the changesets). One statement (a binary COPY), so a compaction running at the
 * same time cannot make the snapshot and the tail disagree.
 *
 * @example
 * const history = await readHistory(pool, "counter/a");
 * if (history.snapshot) db = restore(history.snapshot.image);
 * for (const { payload } of history.changesets) db.applyChangeset(payload);
 */
export async function readHistory(pool: pg.Pool, actorId: string, schema?: string): Promise<ActorHistory> {
  const id = quoteLiteral(checkActorId(actorId));
  const rows = await copyHistoryRows(pool, historySelect(clusterTables(schema), (column) => `${column} = ${id}`));
  return historiesOf(rows).get(actorId) ?? { changesets: [], head: 0 };
}

/**
 * The history query of the actors `matches` selects (an SQL condition on the given actor_id column):
 * each one's snapshot and the log entries after it, ordered by actor, then seq.
 */
export function historySelect(t: ClusterTables, matches: (column: string) => string): string {
  return `SELECT actor_id, 'snapshot' AS source, seq, 0::int2 AS kind, image AS payload FROM ${t.snapshot} WHERE ${matches("actor_id")}
     UNION ALL
     SELECT g.actor_id, 'log', g.seq, g.kind, g.payload FROM ${t.log} g
     LEFT JOIN ${t.snapshot} s ON s.actor_id = g.actor_id
     WHERE ${matches("g.actor_id")} AND g.seq > coalesce(s.seq, 0)
     ORDER BY actor_id, seq`;
}

/**
 * Runs a history query (columns actor_id, source, seq, kind, payload) through binary COPY: images and
 * changesets arrive as bytes, not as hex text decoded in JS (a 100 MB snapshot's read was mostly that).
 */
export async function copyHistoryRows(pool: pg.Pool, select: string): Promise<HistoryRow[]> {
  return (await copyRows(pool, select)).map((fields) => {
    const [actor, source, seq, kind, payload] = fields;
    if (!actor || !source || !seq || !kind || !payload) throw new Error("a history row has a missing field");
    return {
      actor_id: actor.toString("utf8"),
      source: source.toString("utf8") as HistoryRow["source"],
      seq: seq.readBigInt64BE(0).toString(),
      kind: kind.readInt16BE(0),
      payload,
    };
  });
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
