import type pg from "pg";
import type { LogEntry } from "../log.ts";
import { LOG_KIND, type ClusterTables } from "./schema.ts";

/**
 * The statements of the commit path, one attempt each, on a client the committer checked out. They
 * answer definitely or throw; the committer decides what a thrown connection error means.
 */

/** An entry with the sha-256 of its payload, as the committer sends it. */
export interface SendableEntry {
  entry: LogEntry;
  digest: Buffer;
}

/** What a re-read found for an entry whose outcome was unknown. */
export type Resolution = "written" | "absent-epoch-holds" | "fenced";

type Run = <R extends pg.QueryResultRow>(text: string, values: unknown[]) => Promise<pg.QueryResult<R>>;

/** A query runner bounded by a client-side read timeout (pg's `query_timeout`). */
export function runner(client: pg.PoolClient, timeoutMs: number): Run {
  return (text, values) => client.query({ text, values, query_timeout: Math.max(1, Math.round(timeoutMs)) } as pg.QueryConfig);
}

/**
 * One fenced INSERT for many actors' log entries: a row goes in only while its actor's lease still
 * has the entry's epoch, and the lease row is held FOR SHARE until commit, so a claim (FOR UPDATE)
 * waits for this statement and then sees its rows. Returns the keys (`actor\0seq`) written.
 */
export async function insertBatch(run: Run, t: ClusterTables, items: SendableEntry[]): Promise<Set<string>> {
  const { rows } = await run<{ actor_id: string; seq: string }>(
    `INSERT INTO ${t.log} (actor_id, seq, epoch, kind, payload, digest)
     SELECT b.actor_id, b.seq, b.epoch, b.kind, b.payload, b.digest
     FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int2[], $5::bytea[], $6::bytea[], $7::text[])
       AS b(actor_id, seq, epoch, kind, payload, digest, lease_id)
     JOIN ${t.lease} l ON l.actor_id = b.lease_id AND l.epoch = b.epoch
     FOR SHARE OF l
     ON CONFLICT (actor_id, seq) DO NOTHING
     RETURNING actor_id, seq`,
    [
      items.map((i) => i.entry.actorId),
      items.map((i) => i.entry.seq),
      items.map((i) => i.entry.epoch),
      items.map((i) => logKind(i.entry)),
      items.map((i) => Buffer.from(i.entry.payload.buffer, i.entry.payload.byteOffset, i.entry.payload.byteLength)),
      items.map((i) => i.digest),
      items.map((i) => leaseOf(i.entry)),
    ],
  );
  return new Set(rows.map((row) => entryKey(row.actor_id, Number(row.seq))));
}

/** The lease that fences an entry: its own actor's, or a facet's root's. */
function leaseOf(entry: LogEntry): string {
  return entry.leaseId ?? entry.actorId;
}

function logKind(entry: LogEntry): number {
  return entry.kind === "epoch_start" ? LOG_KIND.epoch_start : LOG_KIND.changeset;
}

/** Re-reads log entries by (actor, seq): ours (same digest, epoch and kind), absent with our epoch still current, or fenced. */
export async function resolveEntries(run: Run, t: ClusterTables, items: SendableEntry[]): Promise<Resolution[]> {
  const { rows } = await run<{ i: string; digest: Buffer | null; epoch: string | null; kind: number | null; lease_epoch: string | null }>(
    `SELECT b.i, g.digest, g.epoch, g.kind, l.epoch AS lease_epoch
     FROM unnest($1::text[], $2::int8[], $3::text[]) WITH ORDINALITY AS b(actor_id, seq, lease_id, i)
     LEFT JOIN ${t.log} g ON g.actor_id = b.actor_id AND g.seq = b.seq
     LEFT JOIN ${t.lease} l ON l.actor_id = b.lease_id`,
    [items.map((i) => i.entry.actorId), items.map((i) => i.entry.seq), items.map((i) => leaseOf(i.entry))],
  );
  const found = new Map(rows.map((row) => [Number(row.i) - 1, row]));
  return items.map((item, index) => {
    const row = found.get(index);
    if (row?.digest != null) {
      const ours = row.digest.equals(item.digest) && Number(row.epoch) === item.entry.epoch && row.kind === logKind(item.entry);
      return ours ? "written" : "fenced";
    }
    return row?.lease_epoch != null && Number(row.lease_epoch) === item.entry.epoch ? "absent-epoch-holds" : "fenced";
  });
}

/**
 * Writes a snapshot and drops the log rows it covers (seq ≤ the snapshot's), in one transaction
 * fenced like an append. Returns false when the lease has moved on (nothing written).
 */
export async function writeSnapshot(run: Run, t: ClusterTables, item: SendableEntry): Promise<boolean> {
  const { entry } = item;
  await run("BEGIN", []);
  try {
    const lease = await run(`SELECT 1 FROM ${t.lease} WHERE actor_id = $1 AND epoch = $2 FOR SHARE`, [leaseOf(entry), entry.epoch]);
    if (lease.rowCount === 0) {
      await run("ROLLBACK", []);
      return false;
    }
    const image = Buffer.from(entry.payload.buffer, entry.payload.byteOffset, entry.payload.byteLength);
    const written = await run(
      `INSERT INTO ${t.snapshot} (actor_id, seq, epoch, image, digest) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (actor_id) DO UPDATE SET seq = excluded.seq, epoch = excluded.epoch, image = excluded.image, digest = excluded.digest
       WHERE ${t.snapshot}.seq < excluded.seq`,
      [entry.actorId, entry.seq, entry.epoch, image, item.digest],
    );
    if (written.rowCount === 0) {
      // An equal or newer snapshot is there: ours again (a resend) is fine, anything else is a caller's bug.
      await run("ROLLBACK", []);
      const same = await run(`SELECT 1 FROM ${t.snapshot} WHERE actor_id = $1 AND seq = $2 AND digest = $3`, [entry.actorId, entry.seq, item.digest]);
      if (same.rowCount === 1) return true;
      throw new Error(`${entry.actorId}: snapshot at seq ${entry.seq} is not newer than the stored snapshot; nothing was written`);
    }
    await run(`DELETE FROM ${t.log} WHERE actor_id = $1 AND seq <= $2`, [entry.actorId, entry.seq]);
    await run("COMMIT", []);
    return true;
  } catch (error) {
    await run("ROLLBACK", []).catch(() => undefined);
    throw error;
  }
}

/** Re-reads a snapshot whose commit's outcome was unknown. */
export async function resolveSnapshot(run: Run, t: ClusterTables, item: SendableEntry): Promise<Resolution> {
  const { rows } = await run<{ seq: string | null; digest: Buffer | null; lease_epoch: string | null }>(
    `SELECT s.seq, s.digest, l.epoch AS lease_epoch
     FROM (SELECT $1::text AS actor_id, $2::text AS lease_id) b
     LEFT JOIN ${t.snapshot} s ON s.actor_id = b.actor_id
     LEFT JOIN ${t.lease} l ON l.actor_id = b.lease_id`,
    [item.entry.actorId, leaseOf(item.entry)],
  );
  const row = rows[0];
  if (row?.digest != null && Number(row.seq) === item.entry.seq && row.digest.equals(item.digest)) return "written";
  return row?.lease_epoch != null && Number(row.lease_epoch) === item.entry.epoch ? "absent-epoch-holds" : "fenced";
}

export function entryKey(actorId: string, seq: number): string {
  return `${actorId}\u0000${seq}`;
}
