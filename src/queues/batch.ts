import { checkDelaySeconds } from "./limits.ts";
import type { Message, MessageBatch, QueueMetrics, QueueRetryOptions } from "./types.ts";

/** What a consumer decided for one message: acknowledged, or retried (after its own delay, if given). */
export type MessageFate = { kind: "ack" } | { kind: "retry"; delaySeconds: number | undefined };

/** A message as delivered: its data and the lease it came from (an index into the batch). */
export interface DeliveredMessage<Body> {
  id: string;
  timestamp: Date;
  body: Body;
  attempts: number;
}

const ACK: MessageFate = { kind: "ack" };

/**
 * The batch handed to a consumer, recording its `ack`/`retry` calls with Cloudflare's precedence:
 * for each message the first decision wins, whether the message's own (`ack`, `retry`) or the batch's
 * (`ackAll`, `retryAll`); a later conflicting call is ignored with a warning, as the runtime does.
 * Calls after the delivery ended change nothing.
 *
 * @example
 * const batch = new ConsumerBatch("jobs", delivered, metrics);
 * batch.messages[0]!.retry({ delaySeconds: 30 });
 * batch.ackAll();
 * batch.finish(true); // [{ kind: "retry", delaySeconds: 30 }, { kind: "ack" }, …]
 */
export class ConsumerBatch<Body = unknown> implements MessageBatch<Body> {
  readonly queue: string;
  /**
   * A new ordinary array of the batch's messages at every read, as in workerd: a handler may sort,
   * reverse or splice it without touching the batch. An own getter without a setter (read-only, and
   * listed by `console.log` and `JSON.stringify` like the other fields).
   */
  declare readonly messages: Message<Body>[];
  readonly metadata: { metrics: QueueMetrics };
  readonly #fates: (MessageFate | undefined)[];
  #batchFate: MessageFate | undefined;
  #finished = false;

  constructor(queue: string, delivered: readonly DeliveredMessage<Body>[], metrics: QueueMetrics) {
    this.queue = queue;
    this.metadata = { metrics };
    this.#fates = delivered.map(() => undefined);
    const messages = delivered.map((message, index) => this.#message(message, index));
    Object.defineProperty(this, "messages", { get: () => [...messages], enumerable: true });
  }

  ackAll(): void {
    if (this.#ignoredAfterFinish("ackAll()")) return;
    if (this.#batchFate?.kind === "retry") {
      return warn(this.queue, "Received a call to ackAll() after retryAll() was already called. Calling ackAll() after calling retryAll() has no effect.");
    }
    this.#batchFate = ACK;
  }

  retryAll(options: QueueRetryOptions = {}): void {
    if (this.#ignoredAfterFinish("retryAll()")) return;
    const delaySeconds = retryDelay(options, "batch.retryAll()");
    if (this.#batchFate?.kind === "ack") {
      return warn(this.queue, "Received a call to retryAll() after ackAll() was already called. Calling retryAll() after calling ackAll() has no effect.");
    }
    // As for retry(): a later retryAll() only changes the delay; without one the earlier delay stays.
    if (this.#batchFate?.kind === "retry" && delaySeconds === undefined) return;
    this.#batchFate = { kind: "retry", delaySeconds };
  }

  /**
   * Ends the delivery and returns each message's fate, in order. When the handler succeeded, a message
   * nobody decided is acknowledged; when it failed, it is retried. A message retried without a delay
   * takes the delay of `retryAll()`, whichever was called first (as Miniflare does): the delay is the
   * message's own, else the batch's, else the consumer's `retry_delay`.
   */
  finish(succeeded: boolean): MessageFate[] {
    this.#finished = true;
    const fallback: MessageFate = succeeded ? ACK : { kind: "retry", delaySeconds: undefined };
    const batchFate = this.#batchFate;
    return this.#fates.map((fate) => {
      if (fate === undefined) return batchFate ?? fallback;
      const batchDelay = batchFate?.kind === "retry" ? batchFate.delaySeconds : undefined;
      if (fate.kind === "retry" && fate.delaySeconds === undefined && batchDelay !== undefined) return { kind: "retry", delaySeconds: batchDelay };
      return fate;
    });
  }

  #message(delivered: DeliveredMessage<Body>, index: number): Message<Body> {
    const { id, timestamp, body, attempts } = delivered;
    return Object.freeze({
      id,
      timestamp,
      body,
      attempts,
      ack: () => this.#decide(index, id, ACK),
      retry: (options: QueueRetryOptions = {}) => {
        // After the delivery ended the call is ignored, whatever its options (as the docs say).
        if (this.#ignoredAfterFinish(`retry() on message ${id}`)) return;
        this.#decide(index, id, { kind: "retry", delaySeconds: retryDelay(options, "message.retry()") });
      },
    });
  }

  #decide(index: number, id: string, fate: MessageFate): void {
    const call = fate.kind === "ack" ? "ack()" : "retry()";
    if (this.#ignoredAfterFinish(`${call} on message ${id}`)) return;
    const earlier = this.#fates[index] ?? this.#batchFate;
    const which = this.#fates[index] === undefined ? `${earlier?.kind}All()` : `${earlier?.kind}()`;
    if (earlier === undefined) {
      this.#fates[index] = fate;
      return;
    }
    if (earlier.kind === "retry" && fate.kind === "retry") {
      // A later retry() only changes the delay, as in the runtime; without one the earlier delay stays.
      this.#fates[index] = fate.delaySeconds === undefined ? earlier : fate;
      return;
    }
    if (earlier.kind === fate.kind) return;
    warn(this.queue, `Received a call to ${call} on message ${id} after ${which} was already called. Calling ${call} on a message after calling ${which} has no effect.`);
  }

  #ignoredAfterFinish(call: string): boolean {
    if (!this.#finished) return false;
    warn(this.queue, `Received a call to ${call} after the delivery of the batch ended; it has no effect.`);
    return true;
  }
}

function retryDelay(options: QueueRetryOptions | undefined, call: string): number | undefined {
  const delay = options?.delaySeconds;
  return delay === undefined ? undefined : checkDelaySeconds(delay, `${call}: delaySeconds`);
}

function warn(queue: string, message: string): void {
  console.warn(`[hearth] queue "${queue}": ${message}`);
}
