import type { Clock } from "../time/clock.ts";
import type { QueueContentType, QueueMetrics } from "./types.ts";

/** A value now, or a promise of it: the SQLite store answers at once, the cluster's Postgres store later. */
export type Awaitable<T> = T | Promise<T>;

/** A message ready to be stored: serialised and timed by the producer. */
export interface NewMessage {
  queue: string;
  id: string;
  contentType: QueueContentType;
  body: Uint8Array;
  sentAt: number;
  visibleAt: number;
  /** The sender's span (W3C traceparent): the consumer's span continues its trace. */
  traceparent?: string | null;
}

/** A message taken for delivery: out of reach of other batches until it is settled (or its lease ends). */
export interface LeasedMessage {
  seq: number;
  id: string;
  contentType: QueueContentType;
  body: Uint8Array;
  size: number;
  sentAt: number;
  /** When it became deliverable (its delay over, or a previous lease lapsed). */
  visibleAt: number;
  /** Deliveries so far, this one included. */
  attempts: number;
  traceparent?: string | null;
  /** The lease it was taken under, when the store tells leases apart (the cluster's store does). */
  lease?: string;
}

/** What becomes of the messages of a delivered batch, in one transaction. */
export interface Settlement {
  acked: LeasedMessage[];
  retried: { message: LeasedMessage; visibleAt: number }[];
  /** Moved to another queue (the dead letter queue), keeping their id and timestamp. */
  deadLettered: { message: LeasedMessage; queue: string }[];
  dropped: LeasedMessage[];
}

/** What {@link QueueBackend.ready} finds. */
export interface ReadyMessages {
  /** Deliverable messages now, up to the limit asked. */
  count: number;
  /** When the first of them became deliverable (undefined when count is 0). */
  since: number | undefined;
  /**
   * When the next message not deliverable at `now` becomes deliverable, if any is stored: it may fill
   * a partial batch before its timeout, so the consumer looks again then.
   */
  next: number | undefined;
}

/** One queue's backlog, for `/metrics`. */
export interface QueueBacklog {
  queue: string;
  messages: number;
  bytes: number;
}

/**
 * Where the messages of every queue are kept: what QueueProducer and QueueConsumers use. Two
 * implementations: the SQLite file of one node (`openQueueStore`) and the cluster's Postgres
 * (`openPostgresQueueStore` in src/cluster/bindings), shared by every node. Methods answer either at
 * once or with a promise; callers always `await` them.
 *
 * @example
 * const store: QueueBackend = openQueueStore({ path: join(dataDir, "queues.sqlite"), clock: systemClock });
 * await store.enqueue([message]);
 * const leased = await store.lease("jobs", store.clock.now(), 10);
 * await store.settle("jobs", { acked: leased, retried: [], deadLettered: [], dropped: [] });
 */
export interface QueueBackend {
  /** Time source of send timestamps, delays, leases and retention. */
  readonly clock: Clock;
  /**
   * Stores messages of one queue; resolves once they are committed, with the queue's metrics just
   * after the commit. All of a call's messages are stored, or none.
   */
  enqueue(rows: NewMessage[]): Promise<QueueMetrics>;
  /**
   * Calls `listener(queue)` whenever messages may have become deliverable in `queue` (sent,
   * retried, dead-lettered, here or on another node), or `listener(undefined)` when any queue may
   * have (a missed notification, a reconnect). Returns the unsubscribe function.
   */
  onEnqueue(listener: (queue: string | undefined) => void): () => void;
  /** Every queue's backlog, for metrics; the cluster's store answers from its last look. */
  backlogs(): QueueBacklog[];
  /** The backlog of a queue: every message not yet acknowledged. */
  metrics(queue: string): Awaitable<QueueMetrics>;
  /** Messages of `queue` deliverable at `now` (up to `limit`), and when the next one not yet deliverable will be. */
  ready(queue: string, now: number, limit: number): Awaitable<ReadyMessages>;
  /** Takes up to `limit` deliverable messages of `queue`, oldest first, and counts the delivery. */
  lease(queue: string, now: number, limit: number): Awaitable<LeasedMessage[]>;
  /** Applies the outcome of a delivered batch of `queue` in one transaction; only to messages still leased by this batch. */
  settle(queue: string, settlement: Settlement): Awaitable<void>;
  /** Commits what is still pending and stops the store's timers. Idempotent. */
  close(): void | Promise<void>;
}
