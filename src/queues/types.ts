/**
 * The shapes of Cloudflare's Queues API (`@cloudflare/workers-types`), as Hearth provides them.
 */

/** How a message body is serialised: `json` (the default), `text` (a string), `bytes` (binary) or `v8` (structured clone). */
export type QueueContentType = "text" | "bytes" | "json" | "v8";

/** Options of `send`. */
export interface QueueSendOptions {
  contentType?: QueueContentType;
  /** Seconds before the message can be delivered, 0 to 43200; overrides the producer's `delivery_delay`. */
  delaySeconds?: number;
}

/** Options of `sendBatch`: a delay for every message that does not carry its own. */
export interface QueueSendBatchOptions {
  delaySeconds?: number;
}

/** One message of `sendBatch`. */
export interface MessageSendRequest<Body = unknown> {
  body: Body;
  contentType?: QueueContentType;
  delaySeconds?: number;
}

/** The backlog of a queue: messages not yet acknowledged (delayed and in-flight ones included). */
export interface QueueMetrics {
  backlogCount: number;
  /** Sum of the serialised bodies, bytes. */
  backlogBytes: number;
  /** When the oldest message still in the queue was sent; absent when the queue is empty. */
  oldestMessageTimestamp?: Date;
}

/** What `send` resolves to, once the message is stored. */
export interface QueueSendResponse {
  metadata: { metrics: QueueMetrics };
}

/** What `sendBatch` resolves to, once every message is stored. */
export interface QueueSendBatchResponse {
  metadata: { metrics: QueueMetrics };
}

/** Options of `retry` and `retryAll`. */
export interface QueueRetryOptions {
  /** Seconds before the message is delivered again, 0 to 43200; default the consumer's `retry_delay`. */
  delaySeconds?: number;
}

/** A message as the consumer's `queue(batch)` handler sees it. */
export interface Message<Body = unknown> {
  readonly id: string;
  /** When it was sent. */
  readonly timestamp: Date;
  readonly body: Body;
  /** Deliveries so far, this one included: 1 on the first delivery. */
  readonly attempts: number;
  /** Marks the message delivered, whatever the handler does next. The first ack/retry call wins. */
  ack(): void;
  /** Asks for the message again later. The first ack/retry call wins. */
  retry(options?: QueueRetryOptions): void;
}

/** The batch a consumer's `queue(batch, env, ctx)` handler receives. */
export interface MessageBatch<Body = unknown> {
  readonly queue: string;
  readonly messages: readonly Message<Body>[];
  readonly metadata: { metrics: QueueMetrics };
  /** Acknowledges every message not acked or retried on its own before. */
  ackAll(): void;
  /** Retries every message not acked or retried on its own before. */
  retryAll(options?: QueueRetryOptions): void;
}
