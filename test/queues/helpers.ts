import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueueConsumerConfig } from "../../src/config/types.ts";
import { QueueConsumers } from "../../src/queues/consumers.ts";
import { QueueProducer } from "../../src/queues/producer.ts";
import { openQueueStore, type QueueStore } from "../../src/queues/store.ts";
import type { Message, MessageBatch } from "../../src/queues/types.ts";
import { VirtualClock } from "../../src/time/clock.ts";

export const START = Date.parse("2025-01-01T00:00:00Z");

/** A consumer config with Cloudflare's defaults, overridden by `settings`. */
export function consumer(queue: string, settings: Partial<QueueConsumerConfig> = {}): QueueConsumerConfig {
  return { queue, maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3, ...settings };
}

/** What one delivery looked like when it arrived. */
export interface Delivery {
  queue: string;
  at: number;
  messages: { id: string; body: unknown; attempts: number; timestamp: Date }[];
}

/**
 * A queue store in a temp directory on a VirtualClock, with a way to run consumers whose handler is
 * `handle` and which records every delivery.
 */
export class QueueFixture {
  readonly dir = mkdtempSync(join(tmpdir(), "hearth-queues-"));
  readonly path = join(this.dir, "data", "queues.sqlite");
  readonly clock = new VirtualClock({ start: START });
  store: QueueStore = openQueueStore({ path: this.path, clock: this.clock });
  readonly deliveries: Delivery[] = [];
  handle: (batch: MessageBatch) => unknown = () => {};
  #consumers: QueueConsumers | undefined;

  producer(queue = "jobs", deliveryDelay?: number): QueueProducer {
    return new QueueProducer({ store: this.store, queue, deliveryDelay });
  }

  consumers(configs: QueueConsumerConfig[]): QueueConsumers {
    this.#consumers = new QueueConsumers({
      store: this.store,
      consumers: configs,
      deliver: async (batch) => {
        this.deliveries.push({
          queue: batch.queue,
          at: this.clock.now(),
          messages: batch.messages.map((m: Message) => ({ id: m.id, body: m.body, attempts: m.attempts, timestamp: m.timestamp })),
        });
        await this.handle(batch);
      },
    });
    this.#consumers.start();
    return this.#consumers;
  }

  /** Bodies delivered so far, in order, optionally of one queue. */
  bodies(queue?: string): unknown[] {
    return this.deliveries.filter((d) => queue === undefined || d.queue === queue).flatMap((d) => d.messages.map((m) => m.body));
  }

  /** Waits until the consumers are idle, then lets due timers fire, `times` times. */
  async settle(): Promise<void> {
    await this.#consumers?.idle();
    await this.clock.settle();
    await this.#consumers?.idle();
  }

  /** Closes consumers and store, then opens the store again from the file (a restart). */
  async reopen(): Promise<void> {
    await this.#consumers?.close();
    this.#consumers = undefined;
    this.store.close();
    this.store = openQueueStore({ path: this.path, clock: this.clock });
  }

  async dispose(): Promise<void> {
    await this.#consumers?.close();
    this.store.close();
    this.clock.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
