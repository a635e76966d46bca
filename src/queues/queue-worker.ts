import type { Clock } from "../time/clock.ts";
import { ConsumerBatch, type MessageFate } from "./batch.ts";
import type { ConsumerSettings } from "./consumer-config.ts";
import { decodeBody } from "./encoding.ts";
import type { LeasedMessage, QueueStore, Settlement } from "./store.ts";
import type { MessageBatch } from "./types.ts";
import { SpanKind } from "@opentelemetry/api";
import { traceFromParent } from "../observability/traces/hooks.ts";
import { HEARTH_QUEUE_NAME } from "../observability/traces/semconv.ts";

/** Delivers one batch to the worker's `queue` handler; rejecting means the handler failed. */
export type DeliverBatch = (batch: MessageBatch) => Promise<void>;

/**
 * Delivers the messages of one queue to its consumer: a batch as soon as `maxBatchSize` messages are
 * ready, or `maxBatchTimeout` after the first of them became ready; at most `maxConcurrency` batches
 * at a time. Applies the consumer's acks and retries, and dead-letters or drops a message whose
 * retries are used up.
 */
export class QueueWorker {
  readonly #settings: ConsumerSettings;
  readonly #store: QueueStore;
  readonly #clock: Clock;
  readonly #deliver: DeliverBatch;
  readonly #onChange: () => void;
  readonly #inFlight = new Set<Promise<void>>();
  #pumpQueued = false;
  #timer: { at: number; cancel: () => void } | undefined;
  #stopped = true;

  constructor(settings: ConsumerSettings, store: QueueStore, clock: Clock, deliver: DeliverBatch, onChange: () => void) {
    this.#settings = settings;
    this.#store = store;
    this.#clock = clock;
    this.#deliver = deliver;
    this.#onChange = onChange;
  }

  get queue(): string {
    return this.#settings.queue;
  }

  /** No batch is being delivered and none is about to be looked for. */
  get idle(): boolean {
    return !this.#pumpQueued && this.#inFlight.size === 0;
  }

  start(): void {
    this.#stopped = false;
    this.wake();
  }

  /** Stops delivering: no new batch starts; resolves when the batches in flight are settled. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer();
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Looks for ready messages soon (once per turn of the event loop, however many sends there were). */
  wake(): void {
    if (this.#stopped || this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      void this.#pump();
      this.#onChange();
    });
  }

  /** Starts as many batches as the settings allow; resolves when those batches are settled. */
  #pump(): Promise<void> {
    const started: Promise<void>[] = [];
    try {
      this.#startBatches(started);
    } catch (error) {
      // The store failed (closed, disk error): nothing was leased; the next wake tries again.
      console.error(`[hearth] queue "${this.#settings.queue}": could not read the queue:`, error);
    }
    return Promise.all(started).then(() => undefined);
  }

  #startBatches(started: Promise<void>[]): void {
    const { queue, maxBatchSize, maxBatchTimeoutMs, maxConcurrency } = this.#settings;
    while (!this.#stopped && this.#inFlight.size < maxConcurrency) {
      const now = this.#clock.now();
      const ready = this.#store.ready(queue, now, maxBatchSize);
      if (ready.count === 0) {
        this.#armTimer(ready.next);
        break;
      }
      const deadline = ready.since! + maxBatchTimeoutMs;
      if (ready.count < maxBatchSize && now < deadline) {
        this.#armTimer(deadline);
        break;
      }
      const leased = this.#store.lease(queue, now, maxBatchSize);
      if (leased.length === 0) break;
      const delivery = this.#deliverBatch(leased).finally(() => {
        this.#inFlight.delete(delivery);
        this.wake();
        this.#onChange();
      });
      this.#inFlight.add(delivery);
      started.push(delivery);
    }
  }

  async #deliverBatch(leased: LeasedMessage[]): Promise<void> {
    const { queue } = this.#settings;
    let succeeded = false;
    let batch: ConsumerBatch | undefined;
    try {
      const messages = leased.map((message) => ({
        id: message.id,
        timestamp: new Date(message.sentAt),
        body: decodeBody(message.body, message.contentType),
        attempts: message.attempts,
      }));
      batch = new ConsumerBatch(queue, messages, this.#store.metrics(queue));
      const delivering = batch;
      await traceFromParent(leased[0]?.traceparent ?? undefined, `process ${queue}`, { kind: SpanKind.CONSUMER, attributes: { [HEARTH_QUEUE_NAME]: queue, "messaging.batch.message_count": leased.length } }, () => this.#deliver(delivering));
      succeeded = true;
    } catch (error) {
      console.error(`[hearth] queue "${queue}": the consumer failed; its batch of ${leased.length} will be retried:`, error);
    }
    const fates = batch?.finish(succeeded) ?? leased.map((): MessageFate => ({ kind: "retry", delaySeconds: undefined }));
    try {
      this.#store.settle(queue, this.#settlement(leased, fates));
    } catch (error) {
      // The messages stay leased until the next start, which delivers them again.
      console.error(`[hearth] queue "${queue}": could not record the outcome of a batch:`, error);
    }
  }

  #settlement(leased: LeasedMessage[], fates: MessageFate[]): Settlement {
    const { queue, maxRetries, deadLetterQueue, retryDelay } = this.#settings;
    const settlement: Settlement = { acked: [], retried: [], deadLettered: [], dropped: [] };
    const now = this.#clock.now();
    leased.forEach((message, index) => {
      const fate = fates[index]!;
      if (fate.kind === "ack") {
        settlement.acked.push(message);
      } else if (message.attempts <= maxRetries) {
        settlement.retried.push({ message, visibleAt: now + (fate.delaySeconds ?? retryDelay) * 1000 });
      } else if (deadLetterQueue !== undefined) {
        console.warn(
          `[hearth] queue "${queue}": message ${message.id} moved to dead letter queue "${deadLetterQueue}" after ${message.attempts} failed attempt(s)`,
        );
        settlement.deadLettered.push({ message, queue: deadLetterQueue });
      } else {
        console.warn(
          `[hearth] queue "${queue}": message ${message.id} dropped after ${message.attempts} failed attempt(s) (no dead_letter_queue configured)`,
        );
        settlement.dropped.push(message);
      }
    });
    return settlement;
  }

  #armTimer(at: number | undefined): void {
    if (this.#timer !== undefined && this.#timer.at === at) return;
    this.#cancelTimer();
    if (at === undefined) return;
    const cancel = this.#clock.setTimer(at, () => {
      if (this.#timer?.cancel === cancel) this.#timer = undefined;
      return this.#pump();
    });
    this.#timer = { at, cancel };
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }
}
