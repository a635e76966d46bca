import type pg from "pg";
import { clusterTables, PRUNED_INCARNATION_SETTING, type ClusterTables } from "./schema.ts";

/**
 * How long the row of a node that is dead or left stays in `nodes` (by Postgres's clock, from its last
 * heartbeat): 24 hours. Past it the row goes, with the node's `kept_services` rows, unless a lease
 * still names the node as its owner (docs/cluster/postgres.md, "Pruning").
 */
export const NODE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** How often each node prunes: once a minute (every node does, the statements are idempotent). */
export const PRUNE_EVERY_MS = 60_000;


/** What one prune removed. */
export interface PruneOutcome {
  /** Node ids whose rows went. */
  nodes: string[];
  /** `kept_services` rows removed (of nodes gone, dead or left, or of an earlier incarnation). */
  keptServices: number;
}

/**
 * Removes the rows nothing reads any more: nodes dead or left for longer than `retentionMs` that no
 * lease names as owner, and `kept_services` rows of node incarnations that are not live (they never
 * count again: an incarnation only grows). Lease rows are never removed: each one's epoch fences the
 * actor's stale owners for as long as its log exists (docs/cluster/postgres.md, "Pruning").
 * @example
 * const { nodes } = await pruneGoneNodes(pool, clusterTables("hearth"), NODE_RETENTION_MS);
 */
export async function pruneGoneNodes(pool: pg.Pool, t: ClusterTables, retentionMs: number): Promise<PruneOutcome> {
  // One statement: the high-water mark moves in the same transaction as the rows it covers, and a
  // node joining meanwhile (its row locked, made alive again) is not deleted (re-checked after the lock).
  const { rows } = await pool.query<{ node_id: string | null; kept: string }>(
    `WITH gone AS (
       DELETE FROM ${t.nodes} n
        WHERE n.state IN ('dead', 'left') AND n.heartbeat_at < now() - make_interval(secs => $1::float8 / 1000)
          AND NOT EXISTS (SELECT 1 FROM ${t.lease} l WHERE l.owner = n.node_id)
       RETURNING n.node_id, n.incarnation),
     mark AS (
       UPDATE ${t.settings} SET value = greatest(value::bigint, (SELECT max(incarnation) FROM gone))::text
        WHERE name = $2 AND EXISTS (SELECT 1 FROM gone)),
     kept AS (
       DELETE FROM ${t.keptServices} k
        WHERE NOT EXISTS (SELECT 1 FROM ${t.nodes} n WHERE n.node_id = k.node_id AND n.incarnation = k.incarnation AND n.state IN ('alive', 'draining'))
       RETURNING 1)
     SELECT g.node_id, (SELECT count(*) FROM kept) AS kept FROM (SELECT 1) one LEFT JOIN gone g ON true`,
    [retentionMs, PRUNED_INCARNATION_SETTING],
  );
  return { nodes: rows.flatMap((row) => (row.node_id === null ? [] : [row.node_id])), keptServices: Number(rows[0]?.kept ?? 0) };
}

/** Prunes every `everyMs` while started; a failed prune is reported once per run of failures. */
export class NodePruner {
  readonly #pool: pg.Pool;
  readonly #t: ClusterTables;
  readonly #retentionMs: number;
  readonly #everyMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | undefined;
  #failing = false;

  constructor(options: { pool: pg.Pool; schema: string; retentionMs?: number; everyMs?: number }) {
    this.#pool = options.pool;
    this.#t = clusterTables(options.schema);
    this.#retentionMs = options.retentionMs ?? NODE_RETENTION_MS;
    this.#everyMs = options.everyMs ?? PRUNE_EVERY_MS;
    if (!(this.#retentionMs >= 0)) throw new RangeError(`nodeRetentionMs must be a number of milliseconds ≥ 0, got ${this.#retentionMs}`);
    if (!(this.#everyMs > 0)) throw new RangeError(`pruneEveryMs must be a number of milliseconds > 0, got ${this.#everyMs}`);
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#arm();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#running = pruneGoneNodes(this.#pool, this.#t, this.#retentionMs)
        .then(
          () => (this.#failing = false),
          (error: unknown) => {
            if (!this.#failing) console.error(`[hearth] cluster: pruning the rows of gone nodes failed: ${(error as Error)?.message ?? String(error)}`);
            this.#failing = true;
          },
        )
        .finally(() => {
          this.#running = undefined;
          if (this.#timer !== undefined) this.#arm();
        });
    }, this.#everyMs);
    this.#timer.unref();
  }
}
