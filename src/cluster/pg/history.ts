import type pg from "pg";
import type { ActorHistory } from "../log.ts";
import { checkActorId } from "./leases.ts";
import { checkout } from "./pool.ts";
import { clusterTables, LOG_KIND, type ClusterTables } from "./schema.ts";

/**
 * Snapshots larger than this come back in pieces of this size, each its own statement: pg reads a
 * message into a buffer it grows as chunks arrive, so one 100 MB value (200 MB of hex text) took
 * 20–25 s to arrive where pieces of 1 MiB take a fraction of that (docs/benchmarks.md, restore).
 */
export const SNAPSHOT_PIECE_BYTES = 1024 * 1024;

/** A row of a history query: a snapshot (its image inline when small, else only its size) or a log entry. */
export interface HistoryRow {
  actor_id: string;
  source: "snapshot" | "log";
  seq: string;
  kind: number;
  payload: Buffer | null;
  size: number;
}

/**
 * Reads what a new owner needs to rebuild an actor's local file: the latest snapshot and the
 * changesets after it, in seq order, and the log's head (epoch_start markers count for the head but
 * are left out of the changesets). One statement — or, for a large snapshot read in pieces, one
 * read-only repeatable-read transaction — so a compaction running at the same time cannot make the
 * snapshot and the tail disagree.
 *
 * @example
 * const history = await readHistory(pool, "counter/a");
 * if (history.snapshot) db = restore(history.snapshot.image);
 * for (const { payload } of history.changesets) db.applyChangeset(payload);
 */
export async function readHistory(pool: pg.Pool, actorId: string, schema?: string): Promise<ActorHistory> {
  const t = clusterTables(schema);
  const histories = await readHistories(pool, t, async (on) =>
    (
      await on.query<HistoryRow>(
        `SELECT actor_id, 'snapshot' AS source, seq, 0::int2 AS kind, ${inlineImage} FROM ${t.snapshot} WHERE actor_id = $1
         UNION ALL
         SELECT actor_id, 'log', seq, kind, payload, 0 FROM ${t.log}
         WHERE actor_id = $1 AND seq > coalesce((SELECT seq FROM ${t.snapshot} WHERE actor_id = $1), 0)
         ORDER BY seq`,
        [checkActorId(actorId), SNAPSHOT_PIECE_BYTES],
      )
    ).rows,
  );
  return histories.get(actorId) ?? { changesets: [], head: 0 };
}

/** The select list of a snapshot row: its image when at most `$2` bytes (else null) and its size. */
export const inlineImage = "CASE WHEN length(image) <= $2 THEN image END AS payload, length(image) AS size";

/** Something to run a query on: the pool (one statement) or a checked-out client (a transaction). */
export type Queryable = Pick<pg.PoolClient, "query">;

/**
 * Runs `query` (rows of {@link HistoryRow}, ordered by actor and seq) and groups the rows into
 * histories. When a snapshot was too large to come inline, all is read again in a read-only
 * repeatable-read transaction that also fetches those snapshots in pieces (one consistent view).
 */
export async function readHistories(pool: pg.Pool, t: ClusterTables, query: (on: Queryable) => Promise<HistoryRow[]>): Promise<Map<string, ActorHistory>> {
  const rows = await query(pool);
  if (rows.every((row) => row.payload !== null)) return group(rows, () => Promise.reject(new Error("unreachable")));
  const client = await checkout(pool);
  let failed: unknown;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const histories = await group(await query(client), (actorId, size) => readImage(client, t, actorId, size));
    await client.query("COMMIT");
    return histories;
  } catch (error) {
    failed = error;
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release(failed instanceof Error && !("code" in failed) ? failed : undefined);
  }
}

async function group(rows: readonly HistoryRow[], image: (actorId: string, size: number) => Promise<Buffer>): Promise<Map<string, ActorHistory>> {
  const histories = new Map<string, ActorHistory>();
  for (const row of rows) {
    let history = histories.get(row.actor_id);
    if (history === undefined) histories.set(row.actor_id, (history = { changesets: [], head: 0 }));
    const seq = Number(row.seq);
    history.head = Math.max(history.head, seq);
    if (row.source === "snapshot") history.snapshot = { seq, image: row.payload ?? (await image(row.actor_id, Number(row.size))) };
    else if (row.kind === LOG_KIND.changeset) history.changesets.push({ seq, payload: row.payload! });
  }
  return histories;
}

async function readImage(client: Queryable, t: ClusterTables, actorId: string, size: number): Promise<Buffer> {
  const image = Buffer.allocUnsafe(size);
  for (let offset = 0; offset < size; offset += SNAPSHOT_PIECE_BYTES) {
    const { rows } = await client.query<{ piece: Buffer }>(`SELECT substring(image FROM $2 FOR $3) AS piece FROM ${t.snapshot} WHERE actor_id = $1`, [actorId, offset + 1, SNAPSHOT_PIECE_BYTES]);
    const piece = rows[0]?.piece;
    if (piece === undefined) throw new Error(`${actorId}: its snapshot went away while it was read`);
    piece.copy(image, offset);
  }
  return image;
}
