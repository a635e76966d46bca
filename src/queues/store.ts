import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import { inTransaction, openHostDatabase } from "../storage/host-database.ts";
import type { Clock } from "../time/clock.ts";
import { purgedWarning, retentionMs } from "./retention.ts";
import type { LeasedMessage, NewMessage, QueueBackend, QueueBacklog, ReadyMessages, Settlement } from "./backend.ts";
import type { QueueContentType, QueueMetrics } from "./types.ts";

export type { LeasedMessage, NewMessage, Settlement } from "./backend.ts";

/** Options of {@link openQueueStore}. */
export interface QueueStoreOptions {
  /** The SQLite file holding every queue of a data directory (created with its parent directory). */
  path: string;
  /** Time source of send timestamps, delays and retention. */
  clock: Clock;
  /** "relaxed" (default): a sent message survives a process crash; "strict": also a power loss. */
  durability?: Durability;
  /**
   * How long a message is kept after its send, delivered or not, seconds: 60 to 1,209,600 (14 days),
   * for every queue of the store; default 1,209,600 (14 days, Cloudflare's longest; its default
   * `message_retention_period` is 4 days). Messages already stored are held to it too, from the next purge.
   */
  retentionSeconds?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    size INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    visible_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    leased INTEGER NOT NULL DEFAULT 0,
    traceparent TEXT
  );
  CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (queue, leased, visible_at, seq);
  CREATE INDEX IF NOT EXISTS queue_messages_age ON queue_messages (queue, sent_at);`;

/** How often messages past the retention period are looked for (at most: a shorter retention, that often). */
const PURGE_EVERY_MS = 60 * 60 * 1000;

interface PendingWrite {
  /** Messages of one queue. */
  rows: NewMessage[];
  resolve: (metrics: QueueMetrics) => void;
  reject: (error: unknown) => void;
}

interface Backlog {
  count: number;
  bytes: number;
}

/**
 * Opens (or creates) the queue store: one SQLite file for every queue of a data directory. Messages
 * that were being delivered when the process died are made available again, so each is delivered at
 * least once; messages past the retention (`retentionSeconds`, default 14 days) are deleted now and
 * every hour (or every retention period, when shorter).
 *
 * @example
 * const store = openQueueStore({ path: join(dataDir, "queues.sqlite"), clock: systemClock });
 * const producer = new QueueProducer({ store, queue: "jobs" });
 * await producer.send({ task: "resize", id: 7 });
 * store.close();
 */
export function openQueueStore(options: QueueStoreOptions): QueueStore {
  return new QueueStore(options);
}

/**
 * The durable side of queues on one node: stores sent messages in a SQLite file (one transaction per
 * turn of the event loop), leases batches to consumers and settles them. A lease lasts until the
 * batch is settled or the process ends. Not used directly by workers: see QueueProducer and
 * QueueConsumers.
 */
export class QueueStore implements QueueBackend {
  readonly clock: Clock;
  readonly #retentionMs: number;
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();
  readonly #backlog = new Map<string, Backlog>();
  readonly #listeners = new Set<(queue: string | undefined) => void>();
  #pending: PendingWrite[] = [];
  #flushQueued = false;
  #cancelPurge: (() => void) | undefined;
  #closed = false;

  /** @throws RangeError for a `retentionSeconds` outside 60 to 1,209,600 */
  constructor(options: QueueStoreOptions) {
    this.clock = options.clock;
    this.#retentionMs = retentionMs(options.retentionSeconds, "openQueueStore");
    this.#db = openHostDatabase(options.path, options.durability ?? "relaxed", "queue store", SCHEMA);
    // Nothing is in flight in a process that has just started: leases of a dead process end here.
    this.#db.exec("UPDATE queue_messages SET leased = 0 WHERE leased = 1");
    const columns = this.#db.prepare("SELECT name FROM pragma_table_info('queue_messages')").all().map((row) => row.name);
    if (!columns.includes("traceparent")) this.#db.exec("ALTER TABLE queue_messages ADD COLUMN traceparent TEXT"); // files from before traces
    for (const row of this.#db.prepare("SELECT queue, COUNT(*) AS n, SUM(size) AS bytes FROM queue_messages GROUP BY queue").all()) {
      this.#backlog.set(row.queue as string, { count: Number(row.n), bytes: Number(row.bytes) });
    }
    this.purgeExpired();
    this.#armPurge();
  }

  /**
   * Stores messages of one queue; resolves once they are committed, with the queue's metrics just
   * after the commit. Writes of one turn of the event loop share one transaction: all of a call's
   * messages are stored, or none.
   */
  enqueue(rows: NewMessage[]): Promise<QueueMetrics> {
    if (this.#closed) return Promise.reject(new Error("Queue send failed: the queue store is closed"));
    return new Promise<QueueMetrics>((resolve, reject) => {
      this.#pending.push({ rows, resolve, reject });
      if (this.#flushQueued) return;
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    });
  }

  /** Calls `listener(queue)` whenever messages were added to a queue (sent or dead-lettered). */
  onEnqueue(listener: (queue: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every queue's backlog (messages not yet acknowledged, and their bytes), for metrics. */
  backlogs(): QueueBacklog[] {
    return [...this.#backlog].map(([queue, backlog]) => ({ queue, messages: backlog.count, bytes: backlog.bytes }));
  }

  /** The backlog of a queue: every message not yet acknowledged. */
  metrics(queue: string): QueueMetrics {
    const backlog = this.#backlog.get(queue);
    if (backlog === undefined || backlog.count === 0) return { backlogCount: 0, backlogBytes: 0 };
    const oldest = this.#statement("SELECT MIN(sent_at) AS at FROM queue_messages WHERE queue = ?").get(queue)?.at;
    const metrics: QueueMetrics = { backlogCount: backlog.count, backlogBytes: backlog.bytes };
    if (typeof oldest === "number") metrics.oldestMessageTimestamp = new Date(oldest);
    return metrics;
  }

  /**
   * Messages of `queue` deliverable at `now` (up to `limit`), when the first of them became
   * deliverable, and when the next one not yet deliverable becomes deliverable, if any.
   */
  ready(queue: string, now: number, limit: number): ReadyMessages {
    // One statement, as the pump asks at every pass.
    const row = this.#statement(
      `SELECT COUNT(*) AS n, MIN(visible_at) AS since,
              (SELECT MIN(visible_at) FROM queue_messages WHERE queue = ?1 AND leased = 0 AND visible_at > ?2) AS next
       FROM (SELECT visible_at FROM queue_messages WHERE queue = ?1 AND leased = 0 AND visible_at <= ?2 ORDER BY visible_at, seq LIMIT ?3)`,
    ).get(queue, now, limit)!;
    const count = Number(row.n);
    return { count, since: count > 0 ? (row.since as number) : undefined, next: typeof row.next === "number" ? row.next : undefined };
  }

  /** Takes up to `limit` deliverable messages of `queue`, oldest first, and counts the delivery. */
  lease(queue: string, now: number, limit: number): LeasedMessage[] {
    const rows = this.#statement(
      `UPDATE queue_messages SET leased = 1, attempts = attempts + 1 WHERE seq IN (
         SELECT seq FROM queue_messages WHERE queue = ? AND leased = 0 AND visible_at <= ?
         ORDER BY visible_at, seq LIMIT ?)
       RETURNING seq, id, content_type, body, size, sent_at, visible_at, attempts, traceparent`,
    ).all(queue, now, limit);
    const leased = rows.map((row) => ({
      seq: Number(row.seq),
      id: row.id as string,
      contentType: row.content_type as QueueContentType,
      body: row.body as Uint8Array,
      size: Number(row.size),
      sentAt: Number(row.sent_at),
      visibleAt: Number(row.visible_at),
      attempts: Number(row.attempts),
      traceparent: row.traceparent as string | null,
    }));
    // RETURNING gives no order; deliver in the order the messages became available.
    return leased.sort((a, b) => a.visibleAt - b.visibleAt || a.seq - b.seq);
  }

  /** Applies the outcome of a delivered batch of `queue` in one transaction. */
  settle(queue: string, settlement: Settlement): void {
    const now = this.clock.now();
    const remove = this.#statement("DELETE FROM queue_messages WHERE seq = ? AND leased = 1");
    const retry = this.#statement("UPDATE queue_messages SET leased = 0, visible_at = ? WHERE seq = ? AND leased = 1");
    const move = this.#statement("UPDATE queue_messages SET queue = ?, leased = 0, attempts = 0, visible_at = ? WHERE seq = ? AND leased = 1");
    const changes: [queue: string, messages: number, bytes: number][] = [];
    inTransaction(this.#db, () => {
      for (const message of [...settlement.acked, ...settlement.dropped]) {
        if (Number(remove.run(message.seq).changes) > 0) changes.push([queue, -1, -message.size]);
      }
      for (const { message, visibleAt } of settlement.retried) retry.run(visibleAt, message.seq);
      for (const { message, queue: target } of settlement.deadLettered) {
        if (Number(move.run(target, now, message.seq).changes) === 0) continue;
        changes.push([queue, -1, -message.size], [target, 1, message.size]);
      }
    });
    for (const [name, messages, bytes] of changes) this.#count(name, messages, bytes);
    for (const target of new Set(settlement.deadLettered.map((entry) => entry.queue))) this.#notify(target);
  }

  /** Deletes messages sent longer ago than the retention (not those being delivered); returns how many. */
  purgeExpired(): number {
    const cutoff = this.clock.now() - this.#retentionMs;
    const changes: [queue: string, messages: number, bytes: number][] = [];
    inTransaction(this.#db, () => {
      for (const queue of this.#backlog.keys()) {
        const row = this.#statement(
          "SELECT COUNT(*) AS n, SUM(size) AS bytes FROM queue_messages WHERE queue = ? AND sent_at < ? AND leased = 0",
        ).get(queue, cutoff)!;
        if (Number(row.n) === 0) continue;
        this.#statement("DELETE FROM queue_messages WHERE queue = ? AND sent_at < ? AND leased = 0").run(queue, cutoff);
        changes.push([queue, -Number(row.n), -Number(row.bytes)]);
      }
    });
    let purged = 0;
    for (const [queue, messages, bytes] of changes) {
      this.#count(queue, messages, bytes);
      purged -= messages;
    }
    if (purged > 0) console.warn(purgedWarning(purged, this.#retentionMs));
    return purged;
  }

  /** Commits what is still pending, stops the retention timer and closes the file. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#cancelPurge?.();
    this.#listeners.clear();
    this.#statements.clear();
    this.#db.close();
  }

  #flush(): void {
    this.#flushQueued = false;
    const writes = this.#pending;
    if (writes.length === 0) return;
    this.#pending = [];
    const insert = this.#statement(
      `INSERT INTO queue_messages (queue, id, content_type, body, size, sent_at, visible_at, traceparent)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    try {
      inTransaction(this.#db, () => {
        for (const write of writes) {
          for (const row of write.rows) {
            insert.run(row.queue, row.id, row.contentType, row.body, row.body.byteLength, row.sentAt, row.visibleAt, row.traceparent ?? null);
          }
        }
      });
    } catch (error) {
      const failure = new Error(`Queue send failed: the message could not be stored: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
      for (const write of writes) write.reject(failure);
      return;
    }
    const metrics = new Map<string, QueueMetrics>();
    for (const write of writes) {
      for (const row of write.rows) this.#count(row.queue, 1, row.body.byteLength);
    }
    for (const write of writes) {
      const queue = write.rows[0]!.queue;
      if (!metrics.has(queue)) metrics.set(queue, this.metrics(queue));
      write.resolve(metrics.get(queue)!);
    }
    for (const queue of metrics.keys()) this.#notify(queue);
  }

  #notify(queue: string): void {
    for (const listener of this.#listeners) listener(queue);
  }

  #count(queue: string, messages: number, bytes: number): void {
    const backlog = this.#backlog.get(queue) ?? { count: 0, bytes: 0 };
    backlog.count += messages;
    backlog.bytes += bytes;
    this.#backlog.set(queue, backlog);
  }


  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #armPurge(): void {
    this.#cancelPurge = this.clock.setTimer(this.clock.now() + Math.min(PURGE_EVERY_MS, this.#retentionMs), () => {
      if (this.#closed) return;
      this.purgeExpired();
      this.#armPurge();
    });
  }
}
