import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { LeasedMessage, NewMessage, QueueBackend, QueueBacklog, ReadyMessages, Settlement } from "../../queues/backend.ts";
import { QUEUE_LIMITS } from "../../queues/limits.ts";
import { purgedWarning } from "../../queues/retention.ts";
import type { QueueContentType, QueueMetrics } from "../../queues/types.ts";
import type { Clock } from "../../time/clock.ts";
import { QueueListener } from "./queue-listener.ts";
import { SendBatcher } from "./queue-sends.ts";
import { queueStatements, type QueueStatements } from "./queue-sql.ts";
import { ensureQueueTable, queueChannel, queueCountsTableName, queueTableName } from "./queue-table.ts";

/** How long a node holds a batch before other nodes may deliver it again, unless it renews (ms). */
export const QUEUE_LEASE_MS = 30_000;
/** How often every queue is looked at even without a notification (real ms). */
export const QUEUE_POLL_MS = 3_000;
/** How often messages past the retention period are looked for (ms). */
const PURGE_EVERY_MS = 60 * 60 * 1000;
/** Messages deleted per purge statement. */
const PURGE_BATCH = 1_000;

/** Options of {@link PostgresQueueStore}. */
export interface PostgresQueueStoreOptions {
  pool: pg.Pool;
  /** The cluster's Postgres schema. */
  schema: string;
  /** Time source of send timestamps, delays, leases and retention. */
  clock: Clock;
  /** Lease of a delivered batch, renewed every third of it while the batch runs; default {@link QUEUE_LEASE_MS}. */
  leaseMs?: number;
  /** Fallback look at every queue for missed notifications; default {@link QUEUE_POLL_MS}. */
  pollMs?: number;
}

type LeasedRow = [string, string, string, Buffer, number, string, string, number, string | null];

/**
 * Cloudflare Queues in the cluster's Postgres (`<schema>.queue_messages`), shared by every node: a
 * send is acknowledged once committed (the sends of a turn share one INSERT), a batch is taken with
 * `FOR UPDATE SKIP LOCKED` under a lease that its node renews while the batch runs, and a settle
 * applies only while the lease is still this batch's. A node that dies mid-batch stops renewing: its
 * messages are delivered again, by any node, once the lease lapses. Nodes learn of new messages by
 * LISTEN/NOTIFY, with a poll as fallback.
 */
export class PostgresQueueStore implements QueueBackend {
  readonly clock: Clock;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #sql: QueueStatements;
  readonly #channel: string;
  readonly #leaseMs: number;
  readonly #sends: SendBatcher;
  readonly #listener: QueueListener;
  #listening = false;
  readonly #listeners = new Set<(queue: string | undefined) => void>();
  /** Leases of the batches this store has out: renewed until settled. */
  readonly #leases = new Set<string>();
  /** This store's name in lease ids and in the backlog counters. */
  readonly #writer = randomUUID();
  #leaseCount = 0;
  #cancelRenew: (() => void) | undefined;
  #cancelPurge: (() => void) | undefined;
  /** The purge and compaction under way, if any. */
  #purging: Promise<void> | undefined;
  #backlogs: QueueBacklog[] = [];
  #backlogsWanted = false;
  #backlogsLoading = false;
  #ready = false;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresQueueStoreOptions) {
    this.clock = options.clock;
    this.#pool = options.pool;
    this.#schema = options.schema;
    this.#sql = queueStatements(queueTableName(options.schema), queueCountsTableName(options.schema));
    this.#channel = queueChannel(options.schema);
    this.#leaseMs = positive(options.leaseMs ?? QUEUE_LEASE_MS, "leaseMs");
    this.#sends = new SendBatcher((rows) => this.#insert(rows));
    this.#listener = new QueueListener({
      pool: options.pool,
      channel: this.#channel,
      pollMs: positive(options.pollMs ?? QUEUE_POLL_MS, "pollMs"),
      wake: (queue) => this.#wake(queue),
    });
    this.#armPurge(this.clock.now());
  }

  enqueue(rows: NewMessage[]): Promise<QueueMetrics> {
    if (this.#closed !== undefined) return Promise.reject(new Error("Queue send failed: the queue store is closed"));
    return this.#sends.add(rows);
  }

  /** Also starts listening to the other nodes (a node without consumers holds no LISTEN connection). */
  onEnqueue(listener: (queue: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    this.#listen();
    return () => this.#listeners.delete(listener);
  }

  /** The backlogs found at the last look (every poll, once asked for): the whole cluster's. */
  backlogs(): QueueBacklog[] {
    if (!this.#backlogsWanted) {
      this.#backlogsWanted = true;
      void this.#loadBacklogs();
      this.#listen(); // its poll keeps them fresh
    }
    return this.#backlogs;
  }

  async metrics(queue: string): Promise<QueueMetrics> {
    const [count, bytes, oldest] = (await this.#query<[string, string, string | null]>(this.#sql.metrics, [queue])).rows[0]!;
    const metrics: QueueMetrics = { backlogCount: Number(count), backlogBytes: Number(bytes) };
    if (oldest !== null) metrics.oldestMessageTimestamp = new Date(Number(oldest));
    return metrics;
  }

  async ready(queue: string, now: number, limit: number): Promise<ReadyMessages> {
    const [count, since, next] = (await this.#query<[string, string | null, string | null]>(this.#sql.ready, [queue, now, limit])).rows[0]!;
    const n = Number(count);
    return { count: n, since: n > 0 && since !== null ? Number(since) : undefined, next: next === null ? undefined : Number(next) };
  }

  async lease(queue: string, now: number, limit: number): Promise<LeasedMessage[]> {
    const lease = `${this.#writer}.${++this.#leaseCount}`;
    const { rows } = await this.#query<LeasedRow>(this.#sql.lease, [queue, now, limit, now + this.#leaseMs, lease]);
    if (rows.length === 0) return [];
    this.#leases.add(lease);
    this.#armRenew();
    const leased = rows.map(([seq, id, contentType, body, size, sentAt, visibleAt, attempts, traceparent]) => ({
      seq: Number(seq),
      id,
      contentType: contentType as QueueContentType,
      body,
      size: Number(size),
      sentAt: Number(sentAt),
      visibleAt: Number(visibleAt),
      attempts: Number(attempts),
      traceparent,
      lease,
    }));
    // RETURNING gives no order; deliver in the order the messages became available.
    return leased.sort((a, b) => a.visibleAt - b.visibleAt || a.seq - b.seq);
  }

  async settle(queue: string, settlement: Settlement): Promise<void> {
    const { acked, dropped, retried, deadLettered } = settlement;
    const lease = [...acked, ...dropped, ...retried.map((r) => r.message), ...deadLettered.map((d) => d.message)][0]?.lease;
    if (lease === undefined) return;
    // Settled or not, the batch is over: a failed settle lets the lease lapse, and the batch goes out again.
    this.#leases.delete(lease);
    await this.#query(this.#sql.settle, [
      lease,
      [...acked, ...dropped].map((message) => message.seq),
      retried.map((r) => r.message.seq),
      retried.map((r) => r.visibleAt),
      deadLettered.map((d) => d.message.seq),
      deadLettered.map((d) => d.queue),
      this.clock.now(),
      this.#channel,
      queue,
      this.#writer,
    ]);
    for (const target of new Set(deadLettered.map((d) => d.queue))) this.#wake(target);
    if (retried.length > 0) this.#wake(queue);
  }

  /** Deletes messages sent longer ago than the default retention (not those being delivered); returns how many. */
  async purgeExpired(): Promise<number> {
    const now = this.clock.now();
    let purged = 0;
    for (;;) {
      const { rows } = await this.#query<[string]>(this.#sql.purge, [now - QUEUE_LIMITS.retentionMs, now, PURGE_BATCH, this.#writer]);
      const deleted = Number(rows[0]![0]);
      purged += deleted;
      if (deleted < PURGE_BATCH) break;
    }
    if (purged > 0) console.warn(purgedWarning(purged, QUEUE_LIMITS.retentionMs));
    return purged;
  }

  /** Folds the backlog counters of every store that ever wrote into one row per queue (hourly). */
  async compactCounts(): Promise<void> {
    await this.#query(this.#sql.compact, []);
  }

  /**
   * Commits the sends still pending, stops listening, renewing and purging. Leases still out are not
   * given back: they lapse, and their messages go out again. The pool stays open. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#cancelRenew?.();
      this.#cancelPurge?.();
      this.#leases.clear();
      await Promise.all([this.#sends.drain(), this.#listener.close(), this.#purging]);
      this.#listeners.clear();
    })();
    return this.#closed;
  }

  async #insert(rows: NewMessage[]): Promise<Map<string, QueueMetrics>> {
    const result = await this.#query<[string, string, string, string | null, string]>(this.#sql.insert, [
      rows.map((row) => row.queue),
      rows.map((row) => row.id),
      rows.map((row) => row.contentType),
      rows.map((row) => Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength)),
      rows.map((row) => row.sentAt),
      rows.map((row) => row.visibleAt),
      rows.map((row) => row.traceparent ?? null),
      this.#channel,
      this.#writer,
    ]);
    const metrics = new Map<string, QueueMetrics>();
    for (const [queue, count, bytes, oldest] of result.rows) {
      const entry: QueueMetrics = { backlogCount: Number(count), backlogBytes: Number(bytes) };
      if (oldest !== null) entry.oldestMessageTimestamp = new Date(Number(oldest));
      metrics.set(queue, entry);
      // This node's consumers need not wait for the notification's round trip.
      this.#wake(queue);
    }
    return metrics;
  }

  async #query<Row extends unknown[]>(statement: pg.QueryConfig, values: unknown[]): Promise<pg.QueryArrayResult<Row>> {
    if (!this.#ready) {
      await ensureQueueTable(this.#pool, this.#schema);
      this.#ready = true;
    }
    return this.#pool.query<Row>({ ...statement, values, rowMode: "array" });
  }

  #listen(): void {
    if (this.#listening || this.#closed !== undefined) return;
    this.#listening = true;
    this.#listener.start();
  }

  #wake(queue: string | undefined): void {
    if (queue === undefined && this.#backlogsWanted) void this.#loadBacklogs();
    for (const listener of this.#listeners) listener(queue);
  }

  async #loadBacklogs(): Promise<void> {
    if (this.#backlogsLoading || this.#closed !== undefined) return;
    this.#backlogsLoading = true;
    try {
      const { rows } = await this.#query<[string, string, string]>(this.#sql.backlogs, []);
      this.#backlogs = rows.map(([queue, messages, bytes]) => ({ queue, messages: Number(messages), bytes: Number(bytes) }));
    } catch (error) {
      console.error("[hearth] queues: could not read the backlogs from Postgres:", error);
    } finally {
      this.#backlogsLoading = false;
    }
  }

  /** While leases are out, pushes their deadline forward every third of a lease. */
  #armRenew(): void {
    if (this.#cancelRenew !== undefined || this.#closed !== undefined) return;
    this.#cancelRenew = this.clock.setTimer(this.clock.now() + Math.ceil(this.#leaseMs / 3), async () => {
      this.#cancelRenew = undefined;
      if (this.#leases.size === 0 || this.#closed !== undefined) return;
      try {
        await this.#query(this.#sql.renew, [[...this.#leases], this.clock.now() + this.#leaseMs]);
      } catch (error) {
        console.error("[hearth] queues: could not renew the leases of the batches in flight (other nodes may deliver them again):", error);
      }
      if (this.#leases.size > 0) this.#armRenew();
    });
  }

  #armPurge(at: number): void {
    this.#cancelPurge = this.clock.setTimer(at, () => {
      if (this.#closed !== undefined) return undefined;
      // close() waits for it: a purge or compaction must not write after the store is closed.
      this.#purging = (async () => {
        try {
          await this.purgeExpired();
          await this.compactCounts();
        } catch (error) {
          console.error("[hearth] queues: purging messages past the retention from Postgres failed:", error);
        }
      })();
      return this.#purging.then(() => {
        this.#purging = undefined;
        if (this.#closed === undefined) this.#armPurge(this.clock.now() + PURGE_EVERY_MS);
      });
    });
  }
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`PostgresQueueStore: ${what} must be a positive number of ms, got ${String(value)}`);
  return value;
}
