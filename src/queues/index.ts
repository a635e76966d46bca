/** Cloudflare Queues on Hearth: producer bindings, consumers and their durable store. */
export { openQueueStore, QueueStore, type QueueStoreOptions } from "./store.ts";
export type { Awaitable, LeasedMessage, NewMessage, QueueBackend, QueueBacklog, ReadyMessages, Settlement } from "./backend.ts";
export { QueueProducer, createQueueProducers, type QueueProducerOptions } from "./producer.ts";
export { QueueConsumers, type QueueConsumersOptions } from "./consumers.ts";
export type { DeliverBatch } from "./queue-worker.ts";
export { QUEUE_LIMITS, CONSUMER_DEFAULTS } from "./limits.ts";
export type {
  Message,
  MessageBatch,
  MessageSendRequest,
  QueueContentType,
  QueueMetrics,
  QueueRetryOptions,
  QueueSendBatchOptions,
  QueueSendBatchResponse,
  QueueSendOptions,
  QueueSendResponse,
} from "./types.ts";
