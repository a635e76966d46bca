import { join } from "node:path";
import type { ProjectConfig } from "../config/types.ts";
import { CronTriggers, type ScheduledController } from "../cron/index.ts";
import type { Durability } from "../limits.ts";
import { QueueConsumers, type MessageBatch, type QueueStore } from "../queues/index.ts";
import type { Clock } from "../time/clock.ts";
import { runWithContext, trackedContext } from "./execution-context.ts";
import type { WorkerEventHandler, WorkerHandlers } from "./handlers.ts";

/** Queue consumers and cron triggers, running against the worker's handlers. */
export interface WorkerEvents {
  /** Set when the config has crons and the worker a `scheduled` handler. */
  cron: CronTriggers | undefined;
  /** Set when the config has consumers and the worker a `queue` handler. */
  queues: QueueConsumers | undefined;
  /** Problems worth printing at start-up (a consumer without a handler, …). */
  warnings: string[];
  close(): Promise<void>;
}

export interface WorkerEventsOptions {
  config: ProjectConfig;
  handlers: WorkerHandlers;
  env: Record<string, unknown>;
  queueStore: QueueStore | undefined;
  dataDir: string;
  durability: Durability;
  clock: Clock;
}

/**
 * Starts delivering queue batches to the worker's `queue(batch, env, ctx)` and cron triggers to its
 * `scheduled(controller, env, ctx)`. A batch is acknowledged (and a run counted as done) only when
 * the handler and every promise it passed to `ctx.waitUntil` have settled; a rejection retries the
 * batch (or fails the run).
 */
export function startWorkerEvents(options: WorkerEventsOptions): WorkerEvents {
  const { config, handlers, env, clock, durability } = options;
  const warnings: string[] = [];
  let queues: QueueConsumers | undefined;
  if (config.queueConsumers.length > 0 && options.queueStore) {
    const queue = handlers.queue;
    if (queue === undefined) {
      const names = config.queueConsumers.map((consumer) => consumer.queue).join(", ");
      warnings.push(`queues.consumers lists ${names}, but the default export has no queue(batch, env, ctx) handler: messages wait.`);
    } else {
      queues = new QueueConsumers({
        store: options.queueStore,
        clock,
        consumers: config.queueConsumers,
        deliver: (batch: MessageBatch) => invoke(queue, batch, env),
      });
      queues.start();
    }
  }
  let cron: CronTriggers | undefined;
  if (config.crons.length > 0) {
    const scheduled = handlers.scheduled;
    if (scheduled === undefined) {
      warnings.push(`triggers.crons lists ${config.crons.join(", ")}, but the default export has no scheduled(controller, env, ctx) handler.`);
    } else {
      cron = new CronTriggers({
        path: join(options.dataDir, "cron.sqlite"),
        clock,
        durability,
        crons: config.crons,
        fire: (controller: ScheduledController) => invoke(scheduled, controller, env),
      });
      cron.start();
    }
  }
  return {
    cron,
    queues,
    warnings,
    async close() {
      await queues?.close();
      await cron?.close();
    },
  };
}

async function invoke<Event>(handler: WorkerEventHandler<never>, event: Event, env: Record<string, unknown>): Promise<void> {
  const { ctx, settled } = trackedContext();
  await runWithContext(ctx, () => (handler as WorkerEventHandler<Event>)(event, env, ctx));
  const errors = await settled();
  if (errors.length > 0) throw errors[0];
}
