import { randomUUID } from "node:crypto";
import type { QueueProducerConfig } from "../config/types.ts";
import { checkContentType, encodeBody } from "./encoding.ts";
import { QUEUE_LIMITS, checkDelaySeconds } from "./limits.ts";
import type { NewMessage, QueueBackend } from "./backend.ts";
import { currentTraceparent } from "../observability/traces/hooks.ts";
import type {
  MessageSendRequest,
  QueueContentType,
  QueueMetrics,
  QueueSendBatchOptions,
  QueueSendBatchResponse,
  QueueSendOptions,
  QueueSendResponse,
} from "./types.ts";

/** Options of {@link QueueProducer}. */
export interface QueueProducerOptions {
  /** The queues' store: the SQLite file of one node, or the cluster's Postgres. */
  store: QueueBackend;
  /** The queue's name (`queues.producers[].queue`). */
  queue: string;
  /** Default delay of every message, seconds (`delivery_delay`); 0 to 43200. */
  deliveryDelay?: number;
}

const DEFAULT_CONTENT_TYPE: QueueContentType = "json";

/**
 * A queue producer binding (`env.MY_QUEUE`): Cloudflare's `Queue` API. `send` and `sendBatch` resolve
 * once the messages are committed to the queue store, so a message whose send resolved survives a
 * crash of the process and is delivered at least once.
 *
 * @example
 * const jobs = new QueueProducer({ store, queue: "jobs" });
 * await jobs.send({ resize: "cat.png" });
 * await jobs.send("plain text", { contentType: "text", delaySeconds: 60 });
 * await jobs.sendBatch([{ body: 1 }, { body: 2 }], { delaySeconds: 5 });
 * (await jobs.metrics()).backlogCount; // 3
 */
export class QueueProducer<Body = unknown> {
  readonly #store: QueueBackend;
  readonly #queue: string;
  readonly #deliveryDelay: number;

  constructor(options: QueueProducerOptions) {
    if (typeof options.queue !== "string" || options.queue === "") throw new TypeError("QueueProducer: queue must be a non-empty string");
    this.#store = options.store;
    this.#queue = options.queue;
    this.#deliveryDelay = checkDelaySeconds(options.deliveryDelay ?? 0, `Queue "${options.queue}": delivery_delay`);
  }

  /**
   * Sends one message. The body must fit its content type (default "json") and be at most 128,000
   * bytes once serialised; `delaySeconds` (0 to 43200) holds it back.
   *
   * @throws TypeError for an undefined body, an unknown content type, a body of the wrong type or
   *   options that are not an object (null means none, as in workerd)
   * @throws Error "Queue send failed: …" for a body over the size limit or a bad delay
   */
  async send(body: Body, options?: QueueSendOptions | null): Promise<QueueSendResponse> {
    const { contentType, delaySeconds } = optionsOf(options, "send()", "{ contentType?, delaySeconds? }");
    const message = this.#message(body, contentType, delaySeconds, this.#deliveryDelay, "Queue send failed:");
    if (message.body.byteLength > QUEUE_LIMITS.maxMessageBytes) {
      throw new Error(`Queue send failed: message length of ${message.body.byteLength} bytes exceeds limit of ${QUEUE_LIMITS.maxMessageBytes}`);
    }
    return { metadata: { metrics: await this.#store.enqueue([message]) } };
  }

  /**
   * Sends up to 100 messages (at most 256,000 bytes together) in one transaction: all are stored or
   * none. Each message's own `delaySeconds` beats the batch's, which beats `delivery_delay`. The
   * iterable is read only up to the first message over a limit.
   *
   * @throws TypeError for an empty batch, a message the content type refuses or options that are not
   *   an object (null means none)
   * @throws Error "Queue sendBatch failed: …" for a batch over a limit or a bad delay
   */
  async sendBatch(messages: Iterable<MessageSendRequest<Body>>, options?: QueueSendBatchOptions | null): Promise<QueueSendBatchResponse> {
    if (messages === null || typeof (messages as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== "function") {
      throw new TypeError("sendBatch() requires an iterable of messages");
    }
    const { delaySeconds } = optionsOf(options, "sendBatch()", "{ delaySeconds? }");
    const batchDelay = delaySeconds === undefined ? this.#deliveryDelay : checkDelaySeconds(delaySeconds, "Queue sendBatch failed: message delay");
    // An array's length is known without reading it; any other iterable is counted as it is read.
    if (Array.isArray(messages) && messages.length > QUEUE_LIMITS.maxBatchMessages) throw batchCountError(messages.length);
    // The limits are checked message by message, so a huge or endless iterable is read only up to
    // the first message over a limit (leaving the for-of closes a generator).
    const rows: NewMessage[] = [];
    let total = 0;
    for (const request of messages) {
      if (rows.length === QUEUE_LIMITS.maxBatchMessages) throw batchCountError(rows.length + 1);
      if (typeof request !== "object" || request === null) throw new TypeError("sendBatch(): each message must be an object { body, contentType?, delaySeconds? }");
      const row = this.#message(request.body, request.contentType, request.delaySeconds, batchDelay, "Queue sendBatch failed:");
      if (row.body.byteLength > QUEUE_LIMITS.maxMessageBytes) {
        throw new Error(
          `Queue sendBatch failed: message in batch has length ${row.body.byteLength} bytes which exceeds single message size limit of ${QUEUE_LIMITS.maxMessageBytes}`,
        );
      }
      total += row.body.byteLength;
      if (total > QUEUE_LIMITS.maxBatchBytes) {
        throw new Error(`Queue sendBatch failed: batch size of ${total} bytes exceeds limit of ${QUEUE_LIMITS.maxBatchBytes}`);
      }
      rows.push(row);
    }
    if (rows.length === 0) throw new TypeError("sendBatch() requires at least one message");
    return { metadata: { metrics: await this.#store.enqueue(rows) } };
  }

  /** The queue's backlog: messages not yet acknowledged, their bytes, and the oldest one's send time. */
  async metrics(): Promise<QueueMetrics> {
    return this.#store.metrics(this.#queue);
  }

  #message(body: unknown, contentType: unknown, delaySeconds: unknown, defaultDelay: number, failure: string): NewMessage {
    const type = contentType === undefined ? DEFAULT_CONTENT_TYPE : checkContentType(contentType);
    const bytes = encodeBody(body, type);
    const delay = delaySeconds === undefined ? defaultDelay : checkDelaySeconds(delaySeconds, `${failure} message delay`);
    const now = this.#store.clock.now();
    return { queue: this.#queue, id: randomUUID().replaceAll("-", ""), contentType: type, body: bytes, sentAt: now, visibleAt: now + delay * 1000, traceparent: currentTraceparent() ?? null };
  }
}

/**
 * The options argument of send / sendBatch: undefined or null mean none (workerd reads null as an empty
 * options object); anything else that is not an object is refused.
 *
 * @throws TypeError naming the call and the argument
 */
function optionsOf<Options extends object>(options: Options | null | undefined, call: string, shape: string): Partial<Options> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" && typeof options !== "function") {
    const got = typeof options === "string" ? JSON.stringify(options) : String(options);
    throw new TypeError(`${call}: the options argument must be an object ${shape}, undefined or null (got ${typeof options} ${got})`);
  }
  return options;
}

function batchCountError(count: number): Error {
  return new Error(`Queue sendBatch failed: batch message count of ${count} exceeds limit of ${QUEUE_LIMITS.maxBatchMessages}`);
}

/**
 * The producer bindings of a project's `queues.producers`, by binding name.
 *
 * @example
 * const bindings = createQueueProducers(store, [{ binding: "JOBS", queue: "jobs" }]);
 * await bindings.JOBS!.send({ task: 1 });
 */
export function createQueueProducers(store: QueueBackend, producers: readonly QueueProducerConfig[]): Record<string, QueueProducer> {
  const bindings: Record<string, QueueProducer> = {};
  for (const producer of producers) {
    bindings[producer.binding] = new QueueProducer({ store, queue: producer.queue, deliveryDelay: producer.deliveryDelay });
  }
  return bindings;
}
