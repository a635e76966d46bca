import { deadLetterCycle, describeDeadLetterCycle } from "../config/dead-letter.ts";
import type { QueueConsumerConfig } from "../config/types.ts";
import { CONSUMER_DEFAULTS, QUEUE_LIMITS } from "./limits.ts";

/** A consumer's settings, checked and with Cloudflare's defaults filled in. */
export interface ConsumerSettings {
  queue: string;
  maxBatchSize: number;
  maxBatchTimeoutMs: number;
  maxRetries: number;
  deadLetterQueue: string | undefined;
  /** Seconds. */
  retryDelay: number;
  maxConcurrency: number;
}

/**
 * Checks consumer configs (`queues.consumers`) against Cloudflare's limits: one consumer per queue,
 * `max_batch_size` 1-100, `max_batch_timeout` 0-60 s, `max_retries` 0-100, `retry_delay` 0-43200 s,
 * `max_concurrency` 1-250, a dead letter queue other than the queue itself, and no cycle of dead
 * letter queues (a → b → a).
 *
 * @throws RangeError / TypeError naming the queue and the setting
 * @example
 * consumerSettings([{ queue: "jobs", maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3 }]);
 */
export function consumerSettings(configs: readonly QueueConsumerConfig[]): ConsumerSettings[] {
  const seen = new Set<string>();
  const settings = configs.map((config): ConsumerSettings => {
    const queue = config.queue;
    if (typeof queue !== "string" || queue === "") throw new TypeError("Queue consumer: queue must be a non-empty string");
    if (seen.has(queue)) throw new RangeError(`Queue consumer "${queue}": the queue has two consumers; a queue has at most one`);
    seen.add(queue);
    const what = `Queue consumer "${queue}":`;
    const dlq = config.deadLetterQueue;
    if (dlq !== undefined && (typeof dlq !== "string" || dlq === "")) throw new TypeError(`${what} dead_letter_queue must be a non-empty string`);
    if (dlq === queue) throw new RangeError(`${what} dead_letter_queue cannot be the queue itself`);
    return {
      queue,
      maxBatchSize: integer(config.maxBatchSize ?? CONSUMER_DEFAULTS.maxBatchSize, 1, QUEUE_LIMITS.maxBatchSize, `${what} max_batch_size`),
      maxBatchTimeoutMs: 1000 * seconds(config.maxBatchTimeout ?? CONSUMER_DEFAULTS.maxBatchTimeout, QUEUE_LIMITS.maxBatchTimeoutSeconds, `${what} max_batch_timeout`),
      maxRetries: integer(config.maxRetries ?? CONSUMER_DEFAULTS.maxRetries, 0, QUEUE_LIMITS.maxRetries, `${what} max_retries`),
      deadLetterQueue: dlq,
      retryDelay: integer(config.retryDelay ?? CONSUMER_DEFAULTS.retryDelay, 0, QUEUE_LIMITS.maxDelaySeconds, `${what} retry_delay`),
      maxConcurrency: integer(config.maxConcurrency ?? CONSUMER_DEFAULTS.maxConcurrency, 1, QUEUE_LIMITS.maxConcurrency, `${what} max_concurrency`),
    };
  });
  const cycle = deadLetterCycle(settings);
  if (cycle !== undefined) {
    throw new RangeError(`Queue consumer "${cycle[0]}": dead_letter_queue makes a cycle of dead letter queues: ${describeDeadLetterCycle(cycle)}`);
  }
  return settings;
}

function integer(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function seconds(value: unknown, max: number, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be a number of seconds from 0 to ${max}, got ${String(value)}`);
  }
  return value;
}
