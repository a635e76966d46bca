import { performance } from "node:perf_hooks";
import pg from "pg";
import { clusterTables, PRUNED_INCARNATION_SETTING, type ClusterTables } from "./schema.ts";

/** A node's row in the membership table. */
export interface NodeRow {
  nodeId: string;
  address: string;
  incarnation: number;
  state: "alive" | "draining" | "dead" | "left";
  /** Seconds since the node's last heartbeat, by Postgres's clock. */
  secondsSinceHeartbeat: number;
}

/** Why a node's membership ended without it leaving. */
export type LostReason =
  /** Its own monotonic clock passed the last renewal's send time + TTL − margin without a renewal. */
  | "expired"
  /** A renewal found the row marked dead (by a reaper) or left. */
  | "declared-dead"
  /** A renewal found a newer incarnation of this node id (the node was started again elsewhere). */
  | "replaced";

export interface MembershipOptions {
  /** The pool for the reaper and for reads; the heartbeat uses a dedicated connection of its own. */
  pool: pg.Pool;
  nodeId: string;
  /** Where other nodes reach this one (e.g. `http://10.0.0.5:8787`). */
  address: string;
  /** How long a heartbeat keeps the node alive, by Postgres's clock; default 3,000 ms. */
  ttlMs?: number;
  /** How often the heartbeat is renewed; default 1,000 ms (must be less than ttlMs − marginMs). */
  heartbeatMs?: number;
  /** How often this node looks for dead nodes; default 250 ms. */
  reapMs?: number;
  /** Subtracted from the TTL for {@link Membership.valid}, for clock-rate drift; default 500 ms. */
  marginMs?: number;
  /** Connection settings of the heartbeat's connection; default the pool's. */
  heartbeatConnection?: pg.ClientConfig;
  schema?: string;
}

type Listener = (reason: LostReason) => void;

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The longest TTL a node may have: its row keeps it as an integer of milliseconds. */
const MAX_TTL_MS = 2 ** 31 - 1;

/**
 * This node's membership of the cluster: one heartbeat row in Postgres, renewed on a dedicated
 * connection so a busy pool cannot starve it, and a reaper that marks silent nodes dead by
 * Postgres's clock. The node may serve (reads included) only while {@link Membership.valid}.
 *
 * @example
 * const membership = await Membership.join({ pool, nodeId: "a", address: "http://10.0.0.5:8787" });
 * membership.onLost((reason) => console.error("fenced:", reason));
 * // … serve …
 * await membership.leave();
 */
export class Membership {
  readonly nodeId: string;
  readonly address: string;
  readonly incarnation: number;
  readonly ttlMs: number;
  readonly heartbeatMs: number;
  readonly #pool: pg.Pool;
  readonly #t: ClusterTables;
  readonly #reapMs: number;
  readonly #marginMs: number;
  readonly #connection: pg.ClientConfig;
  #client: pg.Client | undefined;
  /** Monotonic time (performance.now) until which the lease is good by this node's own clock. */
  #validUntil: number;
  #lost: LostReason | undefined;
  #stopped = false;
  #paused = false;
  #heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #reapTimer: ReturnType<typeof setTimeout> | undefined;
  #renewing: Promise<boolean> | undefined;
  readonly #listeners = new Set<Listener>();
  /** Counters for status pages and tests. */
  readonly stats = { renewals: 0, renewFailures: 0, reaped: 0 };
  /** The last renewal or reap error, for status pages; cleared by the next success. */
  lastError: Error | undefined;

  private constructor(options: Required<Omit<MembershipOptions, "schema" | "heartbeatConnection">> & { t: ClusterTables; connection: pg.ClientConfig; incarnation: number; validUntil: number; client: pg.Client }) {
    this.#pool = options.pool;
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.ttlMs = options.ttlMs;
    this.heartbeatMs = options.heartbeatMs;
    this.#reapMs = options.reapMs;
    this.#marginMs = options.marginMs;
    this.#t = options.t;
    this.#connection = options.connection;
    this.incarnation = options.incarnation;
    this.#validUntil = options.validUntil;
    this.#client = options.client;
  }

  /**
   * Joins again after this node's membership was lost: {@link join} until it succeeds (backing off from
   * 250 ms to 5 s) or `stopped()`; undefined when stopped first.
   */
  static async joinAgain(options: MembershipOptions, stopped: () => boolean): Promise<Membership | undefined> {
    for (let wait = 250; !stopped(); wait = Math.min(wait * 2, 5_000)) {
      try {
        const membership = await Membership.join(options);
        console.error(`[hearth] cluster: node ${options.nodeId} joined again (incarnation ${membership.incarnation})`);
        return membership;
      } catch (error) {
        console.error(`[hearth] cluster: joining again failed (${(error as Error).message}); retrying in ${wait} ms`);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    return undefined;
  }

  /**
   * Registers this node (incarnation + 1 over any earlier row of the same id, state `alive`) and
   * starts the heartbeat and the reaper. Throws when Postgres cannot be reached or an option is wrong.
   */
  static async join(options: MembershipOptions): Promise<Membership> {
    const ttlMs = options.ttlMs ?? 3_000;
    const heartbeatMs = options.heartbeatMs ?? 1_000;
    const reapMs = options.reapMs ?? 250;
    const marginMs = options.marginMs ?? 500;
    if (!NODE_ID.test(options.nodeId)) {
      throw new Error(`node id ${JSON.stringify(options.nodeId)} must be 1–128 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
    }
    for (const [name, value] of Object.entries({ ttlMs, heartbeatMs, reapMs, marginMs })) {
      if (!Number.isFinite(value) || value < 0) throw new Error(`membership ${name} must be a non-negative number of milliseconds, got ${value}`);
    }
    // Kept in the node's row (an integer column), by which every reaper judges this node.
    if (ttlMs > MAX_TTL_MS) throw new Error(`membership ttlMs must be at most ${MAX_TTL_MS} ms (~24.8 days), got ${ttlMs}`);
    if (heartbeatMs <= 0 || heartbeatMs >= ttlMs - marginMs) {
      throw new Error(`membership heartbeatMs (${heartbeatMs}) must be above 0 and below ttlMs − marginMs (${ttlMs - marginMs}), or the lease lapses between renewals`);
    }
    const t = clusterTables(options.schema);
    const connection: pg.ClientConfig = {
      ...(options.heartbeatConnection ?? (options.pool.options as pg.ClientConfig)),
      // Named so operators (and tests) can tell the heartbeat apart in pg_stat_activity.
      application_name: options.heartbeatConnection?.application_name ?? `hearth-heartbeat-${options.nodeId}`,
      connectionTimeoutMillis: ttlMs,
      query_timeout: ttlMs,
    };
    const client = await connectClient(connection);
    try {
      const sentAt = performance.now();
      const { rows } = await client.query<{ incarnation: string }>(
        `INSERT INTO ${t.nodes} (node_id, address, incarnation, state, heartbeat_at, joined_at, ttl_ms)
         -- A fresh row starts above every incarnation of a row pruned (src/cluster/pg/prune.ts): never reused.
         VALUES ($1, $2, 1 + coalesce((SELECT value::bigint FROM ${t.settings} WHERE name = '${PRUNED_INCARNATION_SETTING}' FOR SHARE), 0), 'alive', now(), now(), $3)
         ON CONFLICT (node_id) DO UPDATE
           SET address = excluded.address, incarnation = ${t.nodes}.incarnation + 1, state = 'alive',
               heartbeat_at = now(), joined_at = now(), ttl_ms = excluded.ttl_ms
         RETURNING incarnation`,
        [options.nodeId, options.address, Math.ceil(ttlMs)],
      );
      const membership = new Membership({
        pool: options.pool,
        nodeId: options.nodeId,
        address: options.address,
        ttlMs,
        heartbeatMs,
        reapMs,
        marginMs,
        t,
        connection,
        client,
        incarnation: Number(rows[0]!.incarnation),
        validUntil: sentAt + ttlMs - marginMs,
      });
      membership.#armExpiry();
      membership.#scheduleHeartbeat(heartbeatMs);
      membership.#scheduleReap(0);
      return membership;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  /** True while this node's lease is good by its own monotonic clock and has not been lost. */
  get valid(): boolean {
    return this.#lost === undefined && !this.#stopped && performance.now() < this.#validUntil;
  }

  /** Why the membership was lost, if it was. */
  get lost(): LostReason | undefined {
    return this.#lost;
  }

  /** Called once, when the lease is lost (never after {@link leave} or {@link close}). Returns an unsubscribe. */
  onLost(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Renews the heartbeat now (the timer does this every heartbeatMs). True when renewed; false when
   * Postgres could not be reached (the timer keeps retrying) or the lease was found lost.
   */
  renew(): Promise<boolean> {
    this.#renewing ??= this.#renewOnce().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  /**
   * Stops the timers without touching the row, as a paused process (SIGSTOP) would: nothing renews,
   * nothing reaps, and the own-clock expiry does not fire. {@link resumeTimers} starts them again.
   */
  pauseTimers(): void {
    this.#paused = true;
    this.#clearTimers();
  }

  /** Restarts what {@link pauseTimers} stopped; an overdue expiry or renewal runs at once. */
  resumeTimers(): void {
    if (!this.#paused || this.#stopped) return;
    this.#paused = false;
    this.#armExpiry();
    this.#scheduleHeartbeat(0);
    this.#scheduleReap(0);
  }

  /** The cluster's nodes, ordered by id. */
  async nodes(): Promise<NodeRow[]> {
    const { rows } = await this.#pool.query<{ node_id: string; address: string; incarnation: string; state: NodeRow["state"]; age: number }>(
      `SELECT node_id, address, incarnation, state, extract(epoch FROM now() - heartbeat_at)::float8 AS age
       FROM ${this.#t.nodes} ORDER BY node_id`,
    );
    return rows.map((row) => ({
      nodeId: row.node_id,
      address: row.address,
      incarnation: Number(row.incarnation),
      state: row.state,
      secondsSinceHeartbeat: row.age,
    }));
  }

  /** Marks this node `draining`: it keeps its leases and heartbeat until it releases them and leaves. */
  async drain(): Promise<void> {
    await this.#setState("draining", ["alive", "draining"]);
  }

  /** Marks this node `left` and stops the heartbeat and reaper; peers may claim its actors at once. */
  async leave(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    try {
      await this.#setState("left", ["alive", "draining"]);
    } finally {
      await this.#closeClient();
    }
  }

  /** Stops the heartbeat and reaper without changing the row (peers will reap it after the TTL). */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    await this.#renewing?.catch(() => undefined);
    await this.#closeClient();
  }

  async #setState(state: "draining" | "left", from: string[]): Promise<void> {
    const { rowCount } = await this.#pool.query(
      `UPDATE ${this.#t.nodes} SET state = $3 WHERE node_id = $1 AND incarnation = $2 AND state = ANY($4::text[])`,
      [this.nodeId, this.incarnation, state, from],
    );
    if (rowCount === 0) throw new Error(`node ${this.nodeId} (incarnation ${this.incarnation}) is no longer a live member; it cannot be marked ${state}`);
  }

  async #renewOnce(): Promise<boolean> {
    if (this.#lost !== undefined || this.#stopped) return false;
    try {
      const client = this.#client ?? (this.#client = await connectClient(this.#connection));
      const sentAt = performance.now();
      const { rows } = await client.query<{ incarnation: string; state: string }>(
        `WITH renewed AS (
           UPDATE ${this.#t.nodes} SET heartbeat_at = now()
           WHERE node_id = $1 AND incarnation = $2 AND state IN ('alive', 'draining')
           RETURNING incarnation, state)
         SELECT incarnation, state FROM renewed
         UNION ALL
         SELECT incarnation, state FROM ${this.#t.nodes} WHERE node_id = $1 AND NOT EXISTS (SELECT 1 FROM renewed)`,
        [this.nodeId, this.incarnation],
      );
      this.lastError = undefined;
      this.stats.renewals++;
      const row = rows[0];
      if (row !== undefined && Number(row.incarnation) === this.incarnation && (row.state === "alive" || row.state === "draining")) {
        if (this.#lost !== undefined || this.#stopped) return false;
        this.#validUntil = sentAt + this.ttlMs - this.#marginMs;
        if (!this.#paused) this.#armExpiry();
        return true;
      }
      this.#lose(row !== undefined && Number(row.incarnation) > this.incarnation ? "replaced" : "declared-dead");
      return false;
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      this.stats.renewFailures++;
      // The connection's state is unknown after a failure: start over with a new one next time.
      this.#dropClient();
      return false;
    }
  }

  #lose(reason: LostReason): void {
    if (this.#lost !== undefined || this.#stopped) return;
    this.#lost = reason;
    this.#clearTimers();
    this.#dropClient();
    for (const listener of this.#listeners) {
      try {
        listener(reason);
      } catch (error) {
        console.error("[hearth] membership onLost listener:", error);
      }
    }
  }

  #armExpiry(): void {
    if (this.#expiryTimer !== undefined) clearTimeout(this.#expiryTimer);
    const check = (): void => {
      const left = this.#validUntil - performance.now();
      if (left > 0) {
        this.#expiryTimer = setTimeout(check, left + 1);
        this.#expiryTimer.unref();
      } else {
        this.#lose("expired");
      }
    };
    check();
  }

  #scheduleHeartbeat(delay: number): void {
    if (this.#stopped || this.#paused || this.#lost !== undefined) return;
    this.#heartbeatTimer = setTimeout(() => {
      const started = performance.now();
      void this.renew().then(() => this.#scheduleHeartbeat(Math.max(0, this.heartbeatMs - (performance.now() - started))));
    }, delay);
    this.#heartbeatTimer.unref();
  }

  #scheduleReap(delay: number): void {
    if (this.#stopped || this.#paused) return;
    this.#reapTimer = setTimeout(() => {
      void this.reap().then(() => this.#scheduleReap(this.#reapMs));
    }, delay);
    this.#reapTimer.unref();
  }

  /**
   * Marks every node whose heartbeat is older than its own TTL (its row's `ttl_ms`, by Postgres's
   * clock) dead; returns their ids. The timer runs it every reapMs on every node; exactly one reaper
   * wins each death. A node is never judged by another's TTL: one with a longer TTL than the reaper's
   * still counts itself valid, and would serve on beside its agents' new owners.
   */
  async reap(): Promise<string[]> {
    try {
      const { rows } = await this.#pool.query<{ node_id: string }>(
        `UPDATE ${this.#t.nodes} SET state = 'dead'
         WHERE state IN ('alive', 'draining') AND heartbeat_at < now() - make_interval(secs => ttl_ms::float8 / 1000)
         RETURNING node_id`,
      );
      this.stats.reaped += rows.length;
      return rows.map((row) => row.node_id);
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      return [];
    }
  }

  #clearTimers(): void {
    clearTimeout(this.#heartbeatTimer);
    clearTimeout(this.#expiryTimer);
    clearTimeout(this.#reapTimer);
    this.#heartbeatTimer = this.#expiryTimer = this.#reapTimer = undefined;
  }

  #dropClient(): void {
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) void client.end().catch(() => undefined);
  }

  async #closeClient(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

async function connectClient(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // A dropped connection emits 'error' on the client; the next renewal notices and reconnects.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}
