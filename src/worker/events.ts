import { join } from "node:path";
import type { ProjectConfig } from "../config/types.ts";
import { CronTriggers, parseCronTrigger, type ScheduledController } from "../cron/index.ts";
import { scheduledController } from "../cron/controller.ts";
import type { Durability } from "../limits.ts";
import { QueueConsumers, type MessageBatch, type QueueBackend } from "../queues/index.ts";
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
  /** Starts delivering (after the server listens: a missed cron run must not run in a process that then fails to start). */
  start(): void;
  close(): Promise<void>;
}

export interface WorkerEventsOptions {
  config: ProjectConfig;
  handlers: WorkerHandlers;
  env: Record<string, unknown>;
  queueStore: QueueBackend | undefined;
  dataDir: string;
  durability: Durability;
  clock: Clock;
  /**
   * When several processes run this worker (a cluster), decides which one runs each scheduled
   * time of a cron trigger: every process computes the schedule, only the claimer runs it.
   */
  cronGate?: CronGate;
  /** Another thread of this process delivers queue batches and cron triggers (`--threads`): nothing is delivered here. */
  elsewhere?: boolean;
}

/** Which process runs each scheduled time of a cron trigger, when several run this worker (src/cluster/singletons/cron-gate.ts). */
export interface CronGate {
  claim(cron: string, scheduledTime: number): Promise<boolean>;
  done(cron: string, scheduledTime: number): Promise<void>;
  /** Runs of `crons` whose claimer died before finishing them, now claimed by this process: each is run once. */
  takeOrphans(crons: readonly string[]): Promise<Array<{ cron: string; scheduledTime: number }>>;
}

/** How often a process with a cron gate looks for runs whose claimer died before finishing them. */
export const ORPHANED_CRON_CHECK_MS = 5_000;

/**
 * Prepares the delivery of queue batches to the worker's `queue(batch, env, ctx)` and cron triggers to its
 * `scheduled(controller, env, ctx)`. A batch is acknowledged (and a run counted as done) only when
 * the handler and every promise it passed to `ctx.waitUntil` have settled; a rejection retries the
 * batch (or fails the run). Nothing is delivered before `start()`.
 *
 * @throws {Error} naming `triggers.crons[i]` for an invalid cron expression, or a consumer setting
 *   outside Cloudflare's limits; nothing is left running then.
 * @example
 * const events = createWorkerEvents({ config, handlers, env, queueStore, dataDir, durability: "relaxed", clock: systemClock });
 * events.start();
 * for (const warning of events.warnings) console.warn(warning);
 * await events.cron?.fireNow("0 * * * *");
 * await events.close();
 */
export function createWorkerEvents(options: WorkerEventsOptions): WorkerEvents {
  const { config, handlers, env, clock } = options;
  const warnings: string[] = [];
  let queues: QueueConsumers | undefined;
  let cron: CronTriggers | undefined;
  let orphans: OrphanedRuns | undefined;
  if (options.elsewhere) return { cron, queues, warnings, start() {}, close: async () => {} };
  // Both are built before either starts: a bad consumer setting or cron expression leaves nothing running.
  try {
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
      }
    }
    // A scheduled() handler without crons still gets the trigger object: `hearth dev` fires it by hand.
    if (config.crons.length > 0 || handlers.scheduled !== undefined) {
      const scheduled = handlers.scheduled;
      if (scheduled === undefined) {
        warnings.push(`triggers.crons lists ${config.crons.join(", ")}, but the default export has no scheduled(controller, env, ctx) handler.`);
      } else {
        const gate = options.cronGate;
        const run = (controller: ScheduledController): Promise<void> => invoke(scheduled, controller, env);
        cron = cronTriggers(options, gate === undefined ? run : (controller) => gatedRun(gate, controller, run));
        if (gate !== undefined) orphans = new OrphanedRuns(gate, config.crons, clock, run);
      }
    }
  } catch (error) {
    void queues?.close();
    throw error;
  }
  return {
    cron,
    queues,
    warnings,
    start() {
      queues?.start();
      cron?.start();
      orphans?.start();
    },
    async close() {
      await queues?.close();
      await cron?.close();
      await orphans?.close();
    },
  };
}

/**
 * Runs `controller`'s time only if this process claims it. A run that succeeded is marked done; a
 * failed one keeps its claim, so this process's retry a minute later claims it again (marked done,
 * the retry would find it taken and return as if it had run).
 */
async function gatedRun(gate: NonNullable<WorkerEventsOptions["cronGate"]>, controller: ScheduledController, run: (controller: ScheduledController) => Promise<void>): Promise<void> {
  if (!(await gate.claim(controller.cron, controller.scheduledTime))) return;
  await run(controller);
  await gate.done(controller.cron, controller.scheduledTime).catch((error: unknown) => console.error(`[hearth] cron ${controller.cron}: recording the run as done failed:`, error));
}

/**
 * Every {@link ORPHANED_CRON_CHECK_MS}, takes over the runs whose claimer died before finishing them
 * (each is taken by one process) and runs each once; a run that succeeds is marked done, a failed one
 * keeps its claim (it is not retried here).
 */
class OrphanedRuns {
  readonly #running = new Set<Promise<void>>();
  #cancel: (() => void) | undefined;
  #closed = false;

  readonly gate: CronGate;
  readonly crons: readonly string[];
  readonly clock: Clock;
  readonly run: (controller: ScheduledController) => Promise<void>;

  constructor(gate: CronGate, crons: readonly string[], clock: Clock, run: (controller: ScheduledController) => Promise<void>) {
    this.gate = gate;
    this.crons = crons;
    this.clock = clock;
    this.run = run;
  }

  start(): void {
    if (this.#closed || this.#cancel !== undefined || this.crons.length === 0) return;
    this.#arm();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cancel?.();
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #arm(): void {
    this.#cancel = this.clock.setTimer(this.clock.now() + ORPHANED_CRON_CHECK_MS, async () => {
      if (this.#closed) return;
      await this.#check();
      if (!this.#closed) this.#arm();
    });
  }

  async #check(): Promise<void> {
    // Postgres unreachable: the next check looks again (the runs stay claimed by their dead node until taken).
    const taken = await this.gate.takeOrphans(this.crons).catch(() => []);
    for (const { cron, scheduledTime } of taken) {
      const when = new Date(scheduledTime).toISOString();
      console.error(`[hearth] cron "${cron}": the run scheduled at ${when} was claimed by a node that died before finishing it; running it here`);
      const running = this.run(scheduledController(cron, scheduledTime).controller).then(
        () => this.gate.done(cron, scheduledTime).catch((error: unknown) => console.error(`[hearth] cron ${cron}: recording the run as done failed:`, error)),
        (error: unknown) => console.error(`[hearth] cron "${cron}" run scheduled at ${when}, run again after its node died, failed; not retried:`, error),
      );
      this.#running.add(running);
      void running.finally(() => this.#running.delete(running));
    }
  }
}

function cronTriggers(options: WorkerEventsOptions, fire: (controller: ScheduledController) => Promise<void>): CronTriggers {
  options.config.crons.forEach((expression, index) => {
    try {
      parseCronTrigger(expression);
    } catch (error) {
      throw new Error(`triggers.crons[${index}]: ${(error as Error).message}`, { cause: error });
    }
  });
  return new CronTriggers({
    path: join(options.dataDir, "cron.sqlite"),
    clock: options.clock,
    durability: options.durability,
    crons: options.config.crons,
    fire,
  });
}

async function invoke<Event>(handler: WorkerEventHandler<never>, event: Event, env: Record<string, unknown>): Promise<void> {
  const { ctx, settled } = trackedContext();
  let outcome: { failed: false } | { failed: true; error: unknown } = { failed: false };
  try {
    await runWithContext(ctx, () => (handler as WorkerEventHandler<Event>)(event, env, ctx));
  } catch (error) {
    outcome = { failed: true, error };
  }
  // A failed batch is retried only once the failed attempt's waitUntil work is over.
  const errors = await settled();
  if (outcome.failed) throw outcome.error;
  if (errors.length > 0) throw errors[0];
}
