import { createHash } from "node:crypto";
import type pg from "pg";
import { isConnectionError } from "./errors.ts";
import type { Membership } from "./membership.ts";
import { checkout } from "./pool.ts";
import { clusterTables, LOG_KIND, type ClusterTables } from "./schema.ts";

/** Who holds an actor, as {@link Leases.lookup} reads it. */
export interface LeaseInfo {
  /** The owning node's id, or undefined when nobody holds the actor. */
  owner: string | undefined;
  /** The owner's advertised address (undefined without an owner or without its node row). */
  address: string | undefined;
  epoch: number;
  /**
   * True when the owner still holds the actor: its node row is `alive` or `draining` and is the same
   * incarnation that claimed it. False means the actor can be claimed.
   */
  alive: boolean;
  /** The owner node's state, if it has a row. */
  ownerState: "alive" | "draining" | "dead" | "left" | undefined;
}

/** What {@link Leases.claim} returns. */
export type ClaimResult =
  /** This node owns the actor under `epoch`; its epoch_start marker is at `head` (append after it). */
  | { claimed: true; epoch: number; head: number }
  /** Another live node holds it. */
  | { claimed: false; owner: string; address: string | undefined };

export interface LeasesOptions {
  pool: pg.Pool;
  /** This node's membership: its id and incarnation go in the lease, and a lost membership cannot claim. */
  membership: Pick<Membership, "nodeId" | "incarnation" | "valid">;
  schema?: string;
}

const EMPTY_DIGEST = createHash("sha256").digest();

/** The largest actor id accepted, in characters (ids are primary keys in every table). */
export const MAX_ACTOR_ID_LENGTH = 1_024;

/**
 * Checks an actor id before it reaches SQL.
 * @example
 * checkActorId("counter/a"); // "counter/a"
 */
export function checkActorId(actorId: string): string {
  if (typeof actorId !== "string" || actorId.length === 0 || actorId.length > MAX_ACTOR_ID_LENGTH || actorId.includes("\u0000")) {
    throw new Error(`actor id must be a string of 1–${MAX_ACTOR_ID_LENGTH} characters without NUL, got ${typeof actorId === "string" ? `${actorId.length} characters` : typeof actorId}`);
  }
  return actorId;
}

/**
 * Actor ownership: one lease row per actor, held by one incarnation of one node under an epoch that
 * every append is checked against (`FOR SHARE`). A claim takes the row `FOR UPDATE`, so it waits for
 * appends in flight under the old epoch and then sees them in the log.
 *
 * @example
 * const leases = new Leases({ pool, membership });
 * const result = await leases.claim("counter/a");
 * if (result.claimed) restoreFrom(await readHistory(pool, "counter/a")); // then append at result.head + 1
 */
export class Leases {
  readonly #pool: pg.Pool;
  readonly #membership: LeasesOptions["membership"];
  readonly #t: ClusterTables;

  constructor(options: LeasesOptions) {
    this.#pool = options.pool;
    this.#membership = options.membership;
    this.#t = clusterTables(options.schema);
  }

  /** Who holds the actor now (epoch 0 and no owner when it was never claimed). */
  async lookup(actorId: string): Promise<LeaseInfo> {
    const { rows } = await this.#pool.query<LeaseRow>(
      `SELECT l.owner, l.owner_incarnation, l.epoch, n.state, n.incarnation, n.address
       FROM ${this.#t.lease} l LEFT JOIN ${this.#t.nodes} n ON n.node_id = l.owner
       WHERE l.actor_id = $1`,
      [checkActorId(actorId)],
    );
    const row = rows[0];
    if (row === undefined) return { owner: undefined, address: undefined, epoch: 0, alive: false, ownerState: undefined };
    return {
      owner: row.owner ?? undefined,
      address: row.owner === null ? undefined : (row.address ?? undefined),
      epoch: Number(row.epoch),
      alive: holds(row),
      ownerState: row.owner === null ? undefined : (row.state ?? undefined),
    };
  }

  /**
   * Takes the actor for this node when nobody holds it (no row, no owner, an owner that is not alive
   * or draining, or an earlier incarnation of a node). In the same transaction: bumps the epoch, reads
   * the log's head and writes the epoch_start marker at head + 1, so an append of the old owner
   * racing for that seq fails on the primary key. Throws when this node's membership is not valid.
   */
  async claim(actorId: string): Promise<ClaimResult> {
    checkActorId(actorId);
    const me = this.#membership;
    if (!me.valid) throw new Error(`node ${me.nodeId} cannot claim ${actorId}: its membership lease is lost or expired`);
    const client = await checkout(this.#pool);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      await client.query(`INSERT INTO ${this.#t.lease} (actor_id, owner, owner_incarnation, epoch) VALUES ($1, NULL, NULL, 0) ON CONFLICT (actor_id) DO NOTHING`, [actorId]);
      // FOR UPDATE waits for every append holding the row FOR SHARE under the old epoch to commit.
      await client.query(`SELECT 1 FROM ${this.#t.lease} WHERE actor_id = $1 FOR UPDATE`, [actorId]);
      // Read with the lock held, in a statement of its own: a fresh snapshot of the lease and the nodes.
      const { rows } = await client.query<LeaseRow & { my_state: string | null }>(
        `SELECT l.owner, l.owner_incarnation, l.epoch, n.state, n.incarnation, n.address,
                (SELECT state FROM ${this.#t.nodes} WHERE node_id = $2 AND incarnation = $3) AS my_state
         FROM ${this.#t.lease} l LEFT JOIN ${this.#t.nodes} n ON n.node_id = l.owner
         WHERE l.actor_id = $1`,
        [actorId, me.nodeId, me.incarnation],
      );
      const row = rows[0]!;
      if (row.my_state !== "alive") {
        throw new Error(`node ${me.nodeId} cannot claim ${actorId}: its membership row is ${row.my_state ?? "gone or of a newer incarnation"}, not alive`);
      }
      const mine = row.owner === me.nodeId && Number(row.owner_incarnation) === me.incarnation;
      if (holds(row) && !mine) {
        await client.query("ROLLBACK");
        return { claimed: false, owner: row.owner!, address: row.address ?? undefined };
      }
      const { rows: claimed } = await client.query<{ seq: string; epoch: string }>(
        `WITH lease AS (
           UPDATE ${this.#t.lease} SET owner = $2, owner_incarnation = $3, epoch = epoch + 1
           WHERE actor_id = $1 RETURNING epoch),
         head AS (
           SELECT greatest(
             coalesce((SELECT max(seq) FROM ${this.#t.log} WHERE actor_id = $1), 0),
             coalesce((SELECT seq FROM ${this.#t.snapshot} WHERE actor_id = $1), 0)) AS seq)
         INSERT INTO ${this.#t.log} (actor_id, seq, epoch, kind, payload, digest)
         SELECT $1, head.seq + 1, lease.epoch, ${LOG_KIND.epoch_start}, '\\x'::bytea, $4 FROM lease, head
         RETURNING seq, epoch`,
        [actorId, me.nodeId, me.incarnation, EMPTY_DIGEST],
      );
      await client.query("COMMIT");
      const marker = claimed[0]!;
      return { claimed: true, epoch: Number(marker.epoch), head: Number(marker.seq) };
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error;
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Gives the actor up (owner cleared, epoch + 1) if this node still holds it under `epoch`, so a
   * peer can claim it without waiting for a TTL. True when released.
   */
  async release(actorId: string, epoch: number): Promise<boolean> {
    return (await this.releaseAt(actorId, epoch)) !== undefined;
  }

  /**
   * {@link release}, answering the log's head as the release saw it (undefined when not released): a
   * claim whose marker comes right after it finds nothing appended since. Read in the release's own
   * statement, it can only be older than the head, never newer.
   */
  async releaseAt(actorId: string, epoch: number): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ head: string }>(
      `UPDATE ${this.#t.lease} SET owner = NULL, owner_incarnation = NULL, epoch = epoch + 1
       WHERE actor_id = $1 AND epoch = $2 AND owner = $3 AND owner_incarnation = $4
       RETURNING greatest(
         coalesce((SELECT max(seq) FROM ${this.#t.log} WHERE actor_id = $1), 0),
         coalesce((SELECT seq FROM ${this.#t.snapshot} WHERE actor_id = $1), 0)) AS head`,
      [checkActorId(actorId), epoch, this.#membership.nodeId, this.#membership.incarnation],
    );
    return rows.length === 1 ? Number(rows[0]!.head) : undefined;
  }

  /**
   * Gives service `actorId` (`~kind/name`) to live node `to` (owner set to its current incarnation,
   * epoch + 1) if this node still holds it under `epoch` and `to` keeps its kind ({@link keep}): `to`
   * then claims it on its first route, with nobody able to claim it in between. False otherwise.
   */
  async transfer(actorId: string, epoch: number, to: string): Promise<boolean> {
    const kind = checkActorId(actorId).slice(0, Math.max(0, actorId.indexOf("/")));
    const { rowCount } = await this.#pool.query(
      `UPDATE ${this.#t.lease} l SET owner = n.node_id, owner_incarnation = n.incarnation, epoch = l.epoch + 1
       FROM ${this.#t.nodes} n JOIN ${this.#t.keptServices} k ON k.node_id = n.node_id AND k.incarnation = n.incarnation AND k.kind = $6
       WHERE l.actor_id = $1 AND l.epoch = $2 AND l.owner = $3 AND l.owner_incarnation = $4 AND n.node_id = $5 AND n.state = 'alive'`,
      [actorId, epoch, this.#membership.nodeId, this.#membership.incarnation, to, kind],
    );
    return rowCount === 1;
  }

  /**
   * Records that this node's incarnation keeps services of `kind` held (it serves them): only such
   * nodes count in {@link keepers}, so nothing is handed to a node that does not serve the kind (an
   * older version during a rolling upgrade, a node of another project).
   */
  async keep(kind: string): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t.keptServices} (node_id, kind, incarnation) VALUES ($1, $2, $3)
       ON CONFLICT (node_id, kind) DO UPDATE SET incarnation = excluded.incarnation`,
      [this.#membership.nodeId, kind, this.#membership.incarnation],
    );
  }

  /**
   * The live holders (alive or draining, current incarnation) of those of `actorIds` that have one,
   * and the alive nodes whose current incarnation keeps `kind` ({@link keep}), read together.
   */
  async keepers(kind: string, actorIds: readonly string[]): Promise<{ holders: Map<string, string>; nodes: string[] }> {
    const [holders, nodes] = await Promise.all([
      this.#pool.query<{ actor_id: string; owner: string }>(
        `SELECT l.actor_id, l.owner FROM ${this.#t.lease} l
         JOIN ${this.#t.nodes} n ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.state IN ('alive', 'draining')
         WHERE l.actor_id = ANY($1::text[])`,
        [actorIds.map(checkActorId)],
      ),
      this.#pool.query<{ node_id: string }>(
        `SELECT n.node_id FROM ${this.#t.nodes} n
         JOIN ${this.#t.keptServices} k ON k.node_id = n.node_id AND k.incarnation = n.incarnation AND k.kind = $1
         WHERE n.state = 'alive' ORDER BY n.node_id`,
        [kind],
      ),
    ]);
    return { holders: new Map(holders.rows.map((row) => [row.actor_id, row.owner])), nodes: nodes.rows.map((row) => row.node_id) };
  }

  /** Releases every actor this incarnation holds (when draining, after the committer is flushed); returns their ids. */
  async releaseAll(): Promise<string[]> {
    const { rows } = await this.#pool.query<{ actor_id: string }>(
      `UPDATE ${this.#t.lease} SET owner = NULL, owner_incarnation = NULL, epoch = epoch + 1
       WHERE owner = $1 AND owner_incarnation = $2 RETURNING actor_id`,
      [this.#membership.nodeId, this.#membership.incarnation],
    );
    return rows.map((row) => row.actor_id).sort();
  }

  /** How many actors each node holds (only leases of the node's current, live incarnation). */
  async countByOwner(): Promise<Map<string, number>> {
    const { rows } = await this.#pool.query<{ owner: string; count: string }>(
      `SELECT l.owner, count(*) AS count
       FROM ${this.#t.lease} l JOIN ${this.#t.nodes} n ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation
       WHERE n.state IN ('alive', 'draining') GROUP BY l.owner ORDER BY l.owner`,
    );
    return new Map(rows.map((row) => [row.owner, Number(row.count)]));
  }
}

interface LeaseRow {
  owner: string | null;
  owner_incarnation: string | null;
  epoch: string;
  state: "alive" | "draining" | "dead" | "left" | null;
  incarnation: string | null;
  address: string | null;
}

/** The lease's holder is still there: same incarnation, alive or draining. */
function holds(row: LeaseRow): boolean {
  return row.owner !== null && (row.state === "alive" || row.state === "draining") && row.incarnation === row.owner_incarnation;
}
