import type { Durability } from "../limits.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { scheduledController, type ScheduledController } from "./controller.ts";
import { parseCronTrigger, type CronSchedule } from "./expression.ts";
import { CronRunStore } from "./run-store.ts";

/** Options of {@link CronTriggers}. */
export interface CronTriggersOptions {
  /** SQLite file recording the last run of each trigger (created with its parent directory). */
  path: string;
  /** Default the system clock. */
  clock?: Clock;
  /** `triggers.crons`: 5-field expressions with Cloudflare's Quartz extensions, in UTC. */
  crons: readonly string[];
  /** Runs the worker's `scheduled(controller, env, ctx)`; a rejection is a failed run. */
  fire: (controller: ScheduledController) => Promise<void>;
  /** "relaxed" (default) or "strict" (the record also survives a power loss). */
  durability?: Durability;
}

/** A failed run is tried once more this long after it ended, unless it called `noRetry()`. */
export const CRON_RETRY_DELAY_MS = 60_000;

/**
 * Cron triggers (`triggers.crons`): calls `fire` at each scheduled time, in UTC. The last scheduled
 * time that ran is recorded per trigger, so a process that was down runs the latest run it missed
 * once at start (at least once: a run cut short by a crash runs again), then goes on. A run that
 * fails is logged and retried once a minute later, unless it called `noRetry()` or the trigger's next
 * run comes first.
 *
 * @throws Error naming an invalid expression, at construction
 * @example
 * const crons = new CronTriggers({
 *   path: join(dataDir, "crons.sqlite"),
 *   crons: ["*\/5 * * * *", "0 9 * * MON"],
 *   fire: (controller) => worker.scheduled(controller, env, ctx),
 * });
 * crons.start();
 * await crons.fireNow("0 9 * * MON"); // GET /cdn-cgi/handler/scheduled?cron=0+9+*+*+MON
 * await crons.close();
 */
export class CronTriggers {
  readonly #clock: Clock;
  readonly #fire: (controller: ScheduledController) => Promise<void>;
  readonly #schedules = new Map<string, CronSchedule>();
  readonly #timers = new Map<string, () => void>();
  readonly #retries = new Set<() => void>();
  readonly #running = new Set<Promise<void>>();
  readonly #store: CronRunStore;
  #started = false;
  #closed = false;

  constructor(options: CronTriggersOptions) {
    // Every expression is checked before anything is opened: a bad one stops start-up alone.
    for (const cron of options.crons) {
      if (!this.#schedules.has(cron)) this.#schedules.set(cron, parseCronTrigger(cron));
    }
    this.#clock = options.clock ?? systemClock;
    this.#fire = options.fire;
    this.#store = new CronRunStore(options.path, options.durability ?? "relaxed");
  }

  /** The configured expressions, each once. */
  get crons(): string[] {
    return [...this.#schedules.keys()];
  }

  /**
   * Arms every trigger. A trigger that missed runs while the process was down runs once now, with
   * the latest missed time as `scheduledTime`. A trigger seen for the first time starts from now.
   */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const now = this.#clock.now();
    this.#store.keepOnly(this.crons);
    for (const [cron, schedule] of this.#schedules) {
      const last = this.#store.last(cron);
      if (last === undefined) {
        this.#store.record(cron, now);
      } else {
        const missed = schedule.latest(now);
        if (missed !== undefined && missed > last) void this.#track(this.#run(cron, missed, true));
      }
      this.#arm(cron, schedule.next(now));
    }
  }

  /**
   * Runs `fire` at once for `cron` (any string, as wrangler's test route allows) with `scheduledTime`
   * (default now). Not recorded and not retried; rejects when the handler fails. This is what
   * `GET /cdn-cgi/handler/scheduled?cron=…` calls.
   */
  fireNow(cron: string, scheduledTime: number = this.#clock.now()): Promise<void> {
    return this.#track(this.#fire(scheduledController(cron, scheduledTime).controller));
  }

  /**
   * The next run of a cron expression after now, in UTC.
   *
   * @throws Error naming an invalid expression
   */
  next(cron: string): Date {
    const schedule = this.#schedules.get(cron) ?? parseCronTrigger(cron);
    return new Date(schedule.next(this.#clock.now()));
  }

  /** Resolves when no run is in progress (runs waiting for their time are not waited for). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Disarms the triggers and waits for runs in progress (so their records land), then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const cancel of [...this.#timers.values(), ...this.#retries]) cancel();
    this.#timers.clear();
    this.#retries.clear();
    await this.idle();
    this.#store.close();
  }

  #arm(cron: string, at: number): void {
    this.#timers.set(
      cron,
      this.#clock.setTimer(at, () => {
        if (this.#closed) return;
        // A timer that fires late (the machine slept) runs once, then the next run after now.
        this.#arm(cron, this.#schedules.get(cron)!.next(Math.max(at, this.#clock.now())));
        return this.#track(this.#run(cron, at, true));
      }),
    );
  }

  async #run(cron: string, scheduledTime: number, mayRetry: boolean): Promise<void> {
    const handle = scheduledController(cron, scheduledTime);
    let failure: unknown;
    let failed = false;
    try {
      await this.#fire(handle.controller);
    } catch (error) {
      failed = true;
      failure = error;
    }
    this.#store.record(cron, scheduledTime);
    if (!failed) return;
    const when = new Date(scheduledTime).toISOString();
    const retryAt = this.#clock.now() + CRON_RETRY_DELAY_MS;
    const retry = mayRetry && !handle.retryRefused && !this.#closed && this.#schedules.get(cron)!.next(scheduledTime) > retryAt;
    const outcome = retry ? "retrying once in 60 s" : handle.retryRefused ? "not retried (noRetry() was called)" : "not retried";
    console.error(`[hearth] cron "${cron}" run scheduled at ${when} failed; ${outcome}:`, failure);
    if (!retry) return;
    const cancel = this.#clock.setTimer(retryAt, () => {
      this.#retries.delete(cancel);
      if (this.#closed) return;
      return this.#track(this.#run(cron, scheduledTime, false));
    });
    this.#retries.add(cancel);
  }

  #track(run: Promise<void>): Promise<void> {
    this.#running.add(run);
    const done = (): void => {
      this.#running.delete(run);
    };
    run.then(done, done);
    return run;
  }
}
