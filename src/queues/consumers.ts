import type { QueueConsumerConfig } from "../config/types.ts";
import type { Clock } from "../time/clock.ts";
import { consumerSettings } from "./consumer-config.ts";
import { QUEUE_LIMITS } from "./limits.ts";
import { QueueWorker, type DeliverBatch } from "./queue-worker.ts";
import type { QueueBackend } from "./backend.ts";

/** Options of {@link QueueConsumers}. */
export interface QueueConsumersOptions {
  /** The queues' store: the SQLite file of one node, or the cluster's Postgres. */
  store: QueueBackend;
  /** Time source of batch timeouts and retry delays; default the store's clock. */
  clock?: Clock;
  /** `queues.consumers` of the project: at most one per queue. */
  consumers: readonly QueueConsumerConfig[];
  /**
   * Hands a batch to the worker's `queue(batch, env, ctx)` handler. Resolving acknowledges every
   * message not retried; rejecting retries every message not acknowledged.
   */
  deliver: DeliverBatch;
  /**
   * Longest wall-clock time of one invocation (the handler and its `waitUntil` work), real ms; after it
   * the batch counts as failed. Default {@link QUEUE_LIMITS.consumerWallClockMs} (15 minutes, Cloudflare's).
   */
  wallClockLimitMs?: number;
}

/**
 * The consumers of a project's queues. Each queue with a consumer gets its messages in batches
 * (`max_batch_size`, `max_batch_timeout`), with Cloudflare's ack/retry semantics, retries with
 * `retry_delay`, and a `dead_letter_queue` once `max_retries` retries are used up. A queue without a
 * consumer keeps its messages. Delivery is at least once: a batch in flight when the process dies is
 * delivered again after the restart (on one node) or once its lease ends (in a cluster, by any node);
 * a message whose `max_retries + 1` deliveries all ended that way goes to the dead letter queue at its
 * next lease instead. An invocation still running after `wallClockLimitMs` (15 min) counts as failed.
 *
 * @example
 * const consumers = new QueueConsumers({
 *   store,
 *   consumers: [{ queue: "jobs", maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3 }],
 *   deliver: (batch) => worker.queue(batch, env, ctx),
 * });
 * consumers.start();
 * // …
 * await consumers.close();
 */
export class QueueConsumers {
  readonly #store: QueueBackend;
  readonly #workers = new Map<string, QueueWorker>();
  readonly #waiters = new Set<() => void>();
  #unsubscribe: (() => void) | undefined;

  /** @throws RangeError / TypeError for a consumer setting outside Cloudflare's limits, or a bad `wallClockLimitMs` */
  constructor(options: QueueConsumersOptions) {
    this.#store = options.store;
    const clock = options.clock ?? options.store.clock;
    const limit = options.wallClockLimitMs ?? QUEUE_LIMITS.consumerWallClockMs;
    if (typeof limit !== "number" || !(limit > 0) || !Number.isFinite(limit)) {
      throw new RangeError(`QueueConsumers: wallClockLimitMs must be a positive number of ms, got ${String(limit)}`);
    }
    for (const settings of consumerSettings(options.consumers)) {
      this.#workers.set(settings.queue, new QueueWorker(settings, options.store, clock, options.deliver, limit, () => this.#changed()));
    }
  }

  /** The queues that have a consumer. */
  get queues(): string[] {
    return [...this.#workers.keys()];
  }

  /** Starts delivering: messages already waiting (from before a restart, too) go out at once. Idempotent. */
  start(): void {
    if (this.#unsubscribe !== undefined) return;
    this.#unsubscribe = this.#store.onEnqueue((queue) => {
      if (queue !== undefined) this.#workers.get(queue)?.wake();
      else for (const worker of this.#workers.values()) worker.wake();
    });
    for (const worker of this.#workers.values()) worker.start();
  }

  /** Stops delivering; resolves once the batches in flight are settled. The store stays open. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await Promise.all([...this.#workers.values()].map((worker) => worker.stop()));
    this.#changed();
  }

  /** The same as {@link QueueConsumers.stop}. */
  close(): Promise<void> {
    return this.stop();
  }

  /**
   * Resolves when no batch is being delivered and none is about to start. Batches that wait for a
   * timeout or a delay are not waited for: move the clock (a VirtualClock in tests) to reach them.
   *
   * @example
   * await producer.send("hello");
   * await consumers.idle(); // with max_batch_size 1, delivered and settled
   */
  async idle(): Promise<void> {
    while (![...this.#workers.values()].every((worker) => worker.idle)) {
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
  }

  #changed(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const resolve of waiters) resolve();
  }
}
