import type pg from "pg";
import { checkActorId } from "./leases.ts";
import { clusterTables, type ClusterTables } from "./schema.ts";

/**
 * The statements of `actor_due`, the cluster's table of "when does this actor next need to run"
 * (docs/cluster/due.md). Its owner keeps an actor's row current under its lease epoch; every node
 * scans it for actors that are due while nobody live holds them.
 */

/** One actor's next wake as its owner writes it: epoch ms, or null when nothing is pending. */
export interface DueWrite {
  actorId: string;
  /** The lease epoch the writer holds; a row under another epoch is refused (a stale owner cannot move it). */
  epoch: number;
  at: number | null;
}

/** An actor due by the scan's horizon whose lease nobody live holds. */
export interface OrphanDue {
  actorId: string;
  /** Epoch ms. */
  dueAt: number;
}

/** Anything that runs a parameterised statement: a pool or a checked-out client. */
export type Queryable = Pick<pg.Pool, "query">;

/** The most rows one {@link writeDue} statement takes (a larger batch is split by the caller). */
export const MAX_DUE_BATCH = 5_000;

/**
 * Writes many actors' next wakes in one statement. A row goes in (or, for `at: null`, goes away) only
 * while the actor's lease still has the given epoch; the lease rows are held `FOR SHARE` until the
 * statement commits, like appends, so a claim (`FOR UPDATE`) waits and then sees the row. Returns the
 * ids that were refused because their lease moved on.
 *
 * @example
 * const fenced = await writeDue(pool, clusterTables("hearth"), [{ actorId: "counter/a", epoch: 3, at: Date.now() + 60_000 }]);
 */
export async function writeDue(db: Queryable, t: ClusterTables, writes: readonly DueWrite[], timeoutMs?: number): Promise<string[]> {
  if (writes.length === 0) return [];
  if (writes.length > MAX_DUE_BATCH) throw new RangeError(`writeDue: ${writes.length} rows exceed the limit of ${MAX_DUE_BATCH} per statement; nothing was written`);
  // One row per actor (the last wins), in key order, so concurrent writers lock rows in one order.
  const byActor = new Map<string, DueWrite>();
  for (const write of writes) byActor.set(checkActorId(write.actorId), checkWrite(write));
  const rows = [...byActor.values()].sort((x, y) => (x.actorId < y.actorId ? -1 : x.actorId > y.actorId ? 1 : 0));
  const { rows: accepted } = await db.query<{ actor_id: string }>({
    text: `WITH b AS (
       SELECT b.actor_id, b.epoch, b.due_ms
       FROM unnest($1::text[], $2::int8[], $3::float8[]) AS b(actor_id, epoch, due_ms)
       JOIN ${t.lease} l ON l.actor_id = b.actor_id AND l.epoch = b.epoch
       FOR SHARE OF l),
     gone AS (
       DELETE FROM ${t.due} d USING b
       WHERE b.due_ms IS NULL AND d.actor_id = b.actor_id AND d.owner_epoch <= b.epoch
       RETURNING d.actor_id),
     put AS (
       INSERT INTO ${t.due} (actor_id, due_at, owner_epoch)
       SELECT actor_id, to_timestamp(due_ms / 1000.0), epoch FROM b WHERE due_ms IS NOT NULL
       ON CONFLICT (actor_id) DO UPDATE SET due_at = excluded.due_at, owner_epoch = excluded.owner_epoch
       WHERE ${t.due}.owner_epoch <= excluded.owner_epoch
       RETURNING actor_id)
     SELECT actor_id FROM b`,
    values: [rows.map((row) => row.actorId), rows.map((row) => row.epoch), rows.map((row) => row.at)],
    // A silent link must not hold the writer forever: the statement counts as failed and is retried.
    ...(timeoutMs !== undefined ? { query_timeout: Math.max(1, Math.round(timeoutMs)) } : {}),
  } as pg.QueryConfig);
  const written = new Set(accepted.map((row) => row.actor_id));
  return rows.filter((row) => !written.has(row.actorId)).map((row) => row.actorId);
}

/**
 * Actors due by `now() + lookaheadMs` (Postgres's clock) whose lease no live node holds: no lease, no
 * owner, or an owner whose node row is not the claiming incarnation alive or draining. Earliest first.
 *
 * @example
 * for (const { actorId } of await orphansDue(pool, clusterTables(), 1_000, 100)) await claim(actorId);
 */
export async function orphansDue(db: Queryable, t: ClusterTables, lookaheadMs: number, limit: number): Promise<OrphanDue[]> {
  const { rows } = await db.query<{ actor_id: string; due_ms: number }>(
    `SELECT d.actor_id, extract(epoch FROM d.due_at)::float8 * 1000 AS due_ms
     FROM ${t.due} d
     LEFT JOIN ${t.lease} l ON l.actor_id = d.actor_id
     LEFT JOIN ${t.nodes} n ON n.node_id = l.owner
     WHERE d.due_at <= now() + make_interval(secs => $1::float8 / 1000)
       AND NOT coalesce(l.owner IS NOT NULL AND n.state IN ('alive', 'draining') AND n.incarnation = l.owner_incarnation, false)
     ORDER BY d.due_at
     LIMIT $2`,
    [lookaheadMs, limit],
  );
  return rows.map((row) => ({ actorId: row.actor_id, dueAt: Math.round(Number(row.due_ms)) }));
}

/** The ids of the nodes that may take actors over now (state `alive`), ordered. */
export async function claimingNodes(db: Queryable, t: ClusterTables): Promise<string[]> {
  const { rows } = await db.query<{ node_id: string }>(`SELECT node_id FROM ${t.nodes} WHERE state = 'alive' ORDER BY node_id`);
  return rows.map((row) => row.node_id);
}

/** One actor's row, for status pages and tests: its next wake (epoch ms) and the epoch that wrote it. */
export async function readDue(db: Queryable, actorId: string, schema?: string): Promise<{ dueAt: number; epoch: number } | undefined> {
  const t = clusterTables(schema);
  const { rows } = await db.query<{ due_ms: number; owner_epoch: string }>(
    `SELECT extract(epoch FROM due_at)::float8 * 1000 AS due_ms, owner_epoch FROM ${t.due} WHERE actor_id = $1`,
    [checkActorId(actorId)],
  );
  const row = rows[0];
  return row === undefined ? undefined : { dueAt: Math.round(Number(row.due_ms)), epoch: Number(row.owner_epoch) };
}

function checkWrite(write: DueWrite): DueWrite {
  if (!Number.isSafeInteger(write.epoch) || write.epoch < 1) throw new RangeError(`${write.actorId}: epoch must be a positive safe integer, got ${write.epoch}`);
  if (write.at !== null && !Number.isFinite(write.at)) throw new RangeError(`${write.actorId}: a next wake must be a finite number of epoch milliseconds or null, got ${write.at}`);
  return write;
}
