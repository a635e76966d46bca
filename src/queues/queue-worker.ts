import { clearTimeout, setImmediate, setTimeout } from "node:timers"; // Node's own: never an application's fake one
import type { Clock } from "../time/clock.ts";
import { formatDuration } from "../time/duration.ts";
import { ConsumerBatch, type MessageFate } from "./batch.ts";
import type { ConsumerSettings } from "./consumer-config.ts";
import { decodeBody } from "./encoding.ts";
import { QUEUE_LIMITS } from "./limits.ts";
import type { LeasedMessage, QueueBackend, Settlement } from "./backend.ts";
import { describeSettlement, settleBatch, usedUp } from "./settlement.ts";
import type { MessageBatch, QueueMetrics } from "./types.ts";
import { SpanKind } from "@opentelemetry/api";
import { traceFromParent } from "../observability/traces/hooks.ts";
import { HEARTH_QUEUE_NAME } from "../observability/traces/semconv.ts";

/** Delivers one batch to the worker's `queue` handler; rejecting means the handler failed. */
export type DeliverBatch = (batch: MessageBatch) => Promise<void>;

/** How one invocation of the consumer ended: each delivered message's fate, and why it failed, if it did. */
interface Invocation {
  fates: MessageFate[];
  failure: { kind: "failed"; error: unknown } | { kind: "timed out" } | undefined;
}

/**
 * Delivers the messages of one queue to its consumer: a batch as soon as `maxBatchSize` messages are
 * ready (also when a delayed or retried one becomes ready and fills it), or `maxBatchTimeout` after the
 * first of them became ready; at most `maxConcurrency` batches
 * at a time. Applies the consumer's acks and retries, and dead-letters or drops a message whose
 * retries are used up, or whose deliveries all ended with the process (without handing it out again).
 * An invocation still running after `wallClockLimitMs` counts as failed. The outcome of a batch that
 * the store could not record (a full disk, a lost connection) is written again with backoff
 * (`QUEUE_LIMITS.settleRetryFirstMs` doubling up to `settleRetryMaxMs`), so its messages are
 * not left leased until the next start.
 */
export class QueueWorker {
  readonly #settings: ConsumerSettings;
  readonly #store: QueueBackend;
  readonly #clock: Clock;
  readonly #deliver: DeliverBatch;
  readonly #wallClockLimitMs: number;
  readonly #onChange: () => void;
  readonly #inFlight = new Set<Promise<void>>();
  #pumpQueued = false;
  /** The pump running now: one at a time, so `max_concurrency` holds while the store answers. */
  #pumping: Promise<void> | undefined;
  /** A wake came while the pump ran: it looks again before it ends. */
  #again = false;
  #timer: { at: number; cancel: () => void } | undefined;
  #stopped = true;
  /** Outcomes of batches the store could not record yet, oldest first: written again with backoff. */
  readonly #unsettled: Settlement[] = [];
  /** The timer of the next try of {@link QueueWorker.#unsettled}, and the wait after it if it fails. */
  #settleRetry: { cancel: () => void } | undefined;
  #settleBackoffMs: number = QUEUE_LIMITS.settleRetryFirstMs;
  /** The try running now, so two never write the same outcome at once. */
  #resettling: Promise<void> | undefined;

  constructor(settings: ConsumerSettings, store: QueueBackend, clock: Clock, deliver: DeliverBatch, wallClockLimitMs: number, onChange: () => void) {
    this.#settings = settings;
    this.#store = store;
    this.#clock = clock;
    this.#deliver = deliver;
    this.#wallClockLimitMs = wallClockLimitMs;
    this.#onChange = onChange;
  }

  get queue(): string {
    return this.#settings.queue;
  }

  /** No batch is being delivered or its outcome written, and none is about to be looked for. */
  get idle(): boolean {
    return !this.#pumpQueued && this.#pumping === undefined && this.#inFlight.size === 0 && this.#resettling === undefined;
  }

  start(): void {
    this.#stopped = false;
    if (this.#unsettled.length > 0) this.#scheduleResettle();
    this.wake();
  }

  /**
   * Stops delivering: no new batch starts; resolves when the batches in flight are settled. Outcomes
   * the store could not record are tried once more; those that still fail stay leased (until the next
   * start on one node, until their lease ends in a cluster).
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer();
    while (this.#pumping !== undefined || this.#inFlight.size > 0) await Promise.all([this.#pumping, ...this.#inFlight]);
    this.#settleRetry?.cancel();
    this.#settleRetry = undefined;
    await this.#resettle();
  }

  /** Looks for ready messages soon (once per turn of the event loop, however many sends there were). */
  wake(): void {
    if (this.#stopped) return;
    if (this.#pumping !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      void this.#pump();
      this.#onChange();
    });
  }

  /** Starts as many batches as the settings allow; resolves when those batches are settled. */
  async #pump(): Promise<void> {
    if (this.#pumping !== undefined) {
      this.#again = true;
      return;
    }
    const started: Promise<void>[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#pumping = promise;
    try {
      do {
        this.#again = false;
        await this.#startBatches(started);
      } while (this.#again && !this.#stopped);
    } catch (error) {
      // The store failed (closed, disk or network error): nothing was leased; the next wake tries again.
      console.error(`[hearth] queue "${this.#settings.queue}": could not read the queue:`, error);
    } finally {
      // In the same step as the last look at #again: a wake from now on starts a new pump.
      this.#pumping = undefined;
      resolve();
    }
    this.#onChange();
    await Promise.all(started);
  }

  async #startBatches(started: Promise<void>[]): Promise<void> {
    const { queue, maxBatchSize, maxBatchTimeoutMs, maxConcurrency } = this.#settings;
    let missed = 0;
    while (!this.#stopped && this.#inFlight.size < maxConcurrency) {
      const now = this.#clock.now();
      const ready = await this.#store.ready(queue, now, maxBatchSize);
      if (ready.count === 0) {
        this.#armTimer(ready.next);
        break;
      }
      const deadline = ready.since! + maxBatchTimeoutMs;
      if (ready.count < maxBatchSize && now < deadline) {
        // A delayed or retried message ready before the deadline may fill the batch: look again then.
        this.#armTimer(ready.next === undefined ? deadline : Math.min(deadline, ready.next));
        break;
      }
      // Leased even when stop() came meanwhile: stop() waits for this pump, then for the batch.
      const leased = await this.#store.lease(queue, now, maxBatchSize);
      if (leased.length === 0) {
        // Another node took them first (or holds them locked a moment): look again a few times; after
        // that the next notification or poll of the store wakes this queue.
        if (++missed < 3) continue;
        break;
      }
      // Read here, before the next batch is taken: batches reach the handler in the order they were taken.
      const metrics = await this.#metrics(leased);
      const delivery = this.#deliverBatch(leased, metrics).finally(() => {
        this.#inFlight.delete(delivery);
        this.wake();
        this.#onChange();
      });
      this.#inFlight.add(delivery);
      started.push(delivery);
    }
  }

  async #deliverBatch(leased: LeasedMessage[], metrics: QueueMetrics): Promise<void> {
    const { queue, maxRetries } = this.#settings;
    const spent: LeasedMessage[] = [];
    const delivered: LeasedMessage[] = [];
    for (const message of leased) (usedUp(message, maxRetries) ? spent : delivered).push(message);
    const outcome: Invocation = delivered.length === 0 ? { fates: [], failure: undefined } : await this.#invoke(delivered, metrics);
    const settlement = settleBatch(this.#settings, this.#clock.now(), delivered, outcome.fates, spent);
    const failure = outcome.failure;
    if (failure?.kind === "failed") {
      console.error(`[hearth] queue "${queue}": the consumer failed on a batch of ${delivered.length} (${describeSettlement(settlement)}):`, failure.error);
    } else if (failure?.kind === "timed out") {
      console.error(
        `[hearth] queue "${queue}": the consumer did not finish within ${formatDuration(this.#wallClockLimitMs)} (the wall-clock limit of a consumer invocation, ` +
          `QUEUE_LIMITS.consumerWallClockMs): its batch of ${delivered.length} counts as failed (${describeSettlement(settlement)}); ` +
          "its later ack(), retry(), ackAll() and retryAll() calls are ignored",
      );
    }
    try {
      await this.#store.settle(queue, settlement);
    } catch (error) {
      // Written again with backoff: left as it is, the messages would stay leased until the next start.
      console.error(`[hearth] queue "${queue}": could not record the outcome of a batch (${describeSettlement(settlement)}); it is written again with backoff:`, error);
      this.#unsettled.push(settlement);
      this.#scheduleResettle();
    }
  }

  /** Arms the next try of the outcomes not recorded yet, unless one is armed or running. */
  #scheduleResettle(): void {
    if (this.#settleRetry !== undefined || this.#resettling !== undefined || this.#stopped) return;
    const cancel = this.#clock.setTimer(this.#clock.now() + this.#settleBackoffMs, () => {
      if (this.#settleRetry?.cancel === cancel) this.#settleRetry = undefined;
      return this.#resettle();
    });
    this.#settleRetry = { cancel };
  }

  /**
   * Writes the outcomes not recorded yet, oldest first. The store applies an outcome only to messages
   * still leased by its batch, so writing one again changes nothing that moved on meanwhile. On a
   * failure the rest wait for the next try, after twice the wait (at most `QUEUE_LIMITS.settleRetryMaxMs`).
   */
  async #resettle(): Promise<void> {
    if (this.#resettling !== undefined) return this.#resettling;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#resettling = promise;
    const { queue } = this.#settings;
    try {
      while (this.#unsettled.length > 0) {
        const settlement = this.#unsettled[0]!;
        try {
          await this.#store.settle(queue, settlement);
        } catch (error) {
          this.#settleBackoffMs = Math.min(this.#settleBackoffMs * 2, QUEUE_LIMITS.settleRetryMaxMs);
          const next = this.#stopped
            ? "its messages stay leased until the next start (or, in a cluster, until their lease ends)"
            : `trying again in ${formatDuration(this.#settleBackoffMs)}`;
          console.error(`[hearth] queue "${queue}": still could not record the outcome of a batch (${describeSettlement(settlement)}); ${next}:`, error);
          return;
        }
        this.#unsettled.shift();
        this.#settleBackoffMs = QUEUE_LIMITS.settleRetryFirstMs;
        console.warn(`[hearth] queue "${queue}": recorded the outcome of a batch that could not be recorded before (${describeSettlement(settlement)})`);
      }
    } finally {
      this.#resettling = undefined;
      resolve();
      if (this.#unsettled.length > 0) this.#scheduleResettle();
      // Retried messages are deliverable again (at their delay): look for them.
      this.wake();
      this.#onChange();
    }
  }

  /**
   * Hands the batch to the consumer and returns each message's fate. An invocation still running after
   * the wall-clock limit counts as failed: its batch is settled now, whatever the handler does later.
   */
  async #invoke(delivered: LeasedMessage[], metrics: QueueMetrics): Promise<Invocation> {
    const { queue } = this.#settings;
    let batch: ConsumerBatch | undefined;
    let timer: NodeJS.Timeout | undefined;
    let failure: Invocation["failure"];
    try {
      const messages = delivered.map((message) => ({
        id: message.id,
        timestamp: new Date(message.sentAt),
        body: decodeBody(message.body, message.contentType),
        attempts: message.attempts,
      }));
      const delivering = new ConsumerBatch(queue, messages, metrics);
      batch = delivering;
      const attributes = { [HEARTH_QUEUE_NAME]: queue, "messaging.batch.message_count": delivered.length };
      const running = traceFromParent(delivered[0]!.traceparent ?? undefined, `process ${queue}`, { kind: SpanKind.CONSUMER, attributes }, () => this.#deliver(delivering));
      // Real time on purpose, as Cloudflare's limit: a handler that never settles is stuck in this world.
      const timedOut = new Promise<"timed out">((resolve) => {
        timer = setTimeout(() => resolve("timed out"), this.#wallClockLimitMs);
        timer.unref();
      });
      if ((await Promise.race([running, timedOut])) === "timed out") {
        running.catch(() => {}); // its end, whenever it comes, decides nothing
        failure = { kind: "timed out" };
      }
    } catch (error) {
      failure = { kind: "failed", error };
    } finally {
      clearTimeout(timer);
    }
    const fates = batch?.finish(failure === undefined) ?? delivered.map((): MessageFate => ({ kind: "retry", delaySeconds: undefined }));
    return { fates, failure };
  }

  /** The queue's metrics for the batch; when the store cannot answer, those of the batch alone. */
  async #metrics(leased: LeasedMessage[]): Promise<QueueMetrics> {
    try {
      return await this.#store.metrics(this.#settings.queue);
    } catch (error) {
      console.error(`[hearth] queue "${this.#settings.queue}": could not read the queue's metrics for a batch:`, error);
      const oldest = Math.min(...leased.map((message) => message.sentAt));
      return { backlogCount: leased.length, backlogBytes: leased.reduce((sum, message) => sum + message.size, 0), oldestMessageTimestamp: new Date(oldest) };
    }
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
