import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { QueueConsumerConfig } from "../../src/config/types.ts";
import type { QueueBackend } from "../../src/queues/backend.ts";
import { QueueConsumers } from "../../src/queues/consumers.ts";
import { QueueProducer } from "../../src/queues/producer.ts";
import { openQueueStore, type QueueStore } from "../../src/queues/store.ts";
import type { Message, MessageBatch, QueueMetrics } from "../../src/queues/types.ts";
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
 * A queue store (any QueueBackend) on a VirtualClock, with a way to run consumers whose handler is
 * `handle` and which records every delivery. The contract tests run on it with every store.
 */
export class QueueHarness<Store extends QueueBackend = QueueBackend> {
  readonly clock: VirtualClock;
  store: Store;
  readonly deliveries: Delivery[] = [];
  handle: (batch: MessageBatch) => unknown = () => {};
  readonly #cleanup: () => void | Promise<void>;
  #consumers: QueueConsumers | undefined;

  constructor(open: (clock: VirtualClock) => Store, cleanup: () => void | Promise<void> = () => {}, clock = new VirtualClock({ start: START })) {
    this.clock = clock;
    this.store = open(this.clock);
    this.#cleanup = cleanup;
  }

  producer(queue = "jobs", deliveryDelay?: number): QueueProducer {
    return new QueueProducer({ store: this.store, queue, deliveryDelay });
  }

  /** The queue's metrics, as its producer binding reports them. */
  metrics(queue = "jobs"): Promise<QueueMetrics> {
    return this.producer(queue).metrics();
  }

  consumers(configs: QueueConsumerConfig[], options: { wallClockLimitMs?: number } = {}): QueueConsumers {
    const consumers = new QueueConsumers({
      ...options,
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
    this.#consumers = consumers;
    // Time moves on only once the batches that fired have been looked for and delivered.
    this.clock.waitForIdle = () => consumers.idle();
    consumers.start();
    return consumers;
  }

  /** Bodies delivered so far, in order, optionally of one queue. */
  bodies(queue?: string): unknown[] {
    return this.deliveries.filter((d) => queue === undefined || d.queue === queue).flatMap((d) => d.messages.map((m) => m.body));
  }

  /** Waits until the consumers are idle and the due timers have fired. */
  async settle(): Promise<void> {
    await this.#consumers?.idle();
    await this.clock.settle();
    await this.#consumers?.idle();
  }

  /** Stops the consumers (their batches settled). */
  async stopConsumers(): Promise<void> {
    await this.#consumers?.close();
    this.#consumers = undefined;
    this.clock.waitForIdle = undefined;
  }

  async dispose(): Promise<void> {
    await this.stopConsumers();
    await this.store.close();
    this.clock.dispose();
    await this.#cleanup();
  }
}

/** The SQLite store in a temp directory. */
export class QueueFixture extends QueueHarness<QueueStore> {
  readonly dir: string;
  readonly path: string;

  constructor() {
    const dir = mkdtempSync(join(tmpdir(), "hearth-queues-"));
    const path = join(dir, "data", "queues.sqlite");
    super(
      (clock) => openQueueStore({ path, clock }),
      () => rmSync(dir, { recursive: true, force: true }),
    );
    this.dir = dir;
    this.path = path;
  }

  /** Closes consumers and store, then opens the store again from the file (a restart). */
  async reopen(): Promise<void> {
    await this.stopConsumers();
    this.store.close();
    this.store = openQueueStore({ path: this.path, clock: this.clock });
  }
}

/** Waits until `check` returns true, polling every 10 ms (real time); throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
