import type { AgentTasks } from "../schedule/agent-tasks.ts";
import { ALARM_CALLBACK, type Schedule } from "../schedule/types.ts";

/** What `alarm(alarmInfo)` receives. */
export interface AlarmInvocationInfo {
  /** Failed attempts before this one. */
  readonly retryCount: number;
  readonly isRetry: boolean;
}

export { ALARM_CALLBACK };

/** Cloudflare retries a failing alarm with exponential backoff from 2 s, up to 6 times. */
export const ALARM_RETRY = Object.freeze({ maxAttempts: 7, baseDelayMs: 2_000, maxDelayMs: 64_000 });

/**
 * A Durable Object's one alarm, kept as a one-off task of the host's durable time: stored in the
 * object's own database, indexed by the host, run at least once, retried with backoff when `alarm()`
 * throws, and still due after a crash. While `alarm()` runs, `getAlarm()` is null unless it set a new one.
 */
export class DurableAlarm {
  readonly #tasks: () => AgentTasks;
  readonly #hasHandler: () => boolean;
  readonly #now: () => number;
  /** The schedule running now (its row stays until it succeeds). */
  #running: string | undefined;

  /**
   * `hasHandler` says whether the object defines `alarm()`: without one, setAlarm() is refused. `now`
   * is the object's clock (virtual in tests): an alarm set before it is set to it.
   */
  constructor(tasks: () => AgentTasks, hasHandler: () => boolean, now: () => number) {
    this.#tasks = tasks;
    this.#hasHandler = hasHandler;
    this.#now = now;
  }

  get(): number | null {
    return this.#pending()[0]?.dueAt ?? null;
  }

  /** A time already past is stored as now, as workerd does: `getAlarm()` then returns about now, and the alarm runs at once. */
  set(scheduledTime: number): void {
    if (!this.#hasHandler()) throw new TypeError("Your Durable Object class must have an alarm() handler in order to call setAlarm()");
    const tasks = this.#tasks();
    this.#cancelAll(tasks);
    tasks.schedule(new Date(Math.max(scheduledTime, this.#now())), ALARM_CALLBACK, undefined, { retry: ALARM_RETRY });
  }

  delete(): void {
    this.#cancelAll(this.#tasks());
  }

  /**
   * The running alarm's row goes too: there is one alarm, so a run that then fails must not come back
   * as a retry beside the time just set (or after a delete). A run whose own event fails has this
   * cancel undone with its other writes, and is retried as before.
   */
  #cancelAll(tasks: AgentTasks): void {
    if (!tasks.hasTasks) return;
    for (const schedule of tasks.listSchedules()) if (schedule.callback === ALARM_CALLBACK) tasks.cancelSchedule(schedule.id);
  }

  /** Runs `handler` as the alarm of `schedule`; the task layer retries it if it throws. */
  async run(schedule: Schedule, handler: (info: AlarmInvocationInfo) => unknown): Promise<void> {
    this.#running = schedule.id;
    try {
      await handler({ retryCount: schedule.attempts, isRetry: schedule.attempts > 0 });
    } finally {
      this.#running = undefined;
    }
  }

  #pending(): Schedule[] {
    const tasks = this.#tasks();
    if (!tasks.hasTasks) return [];
    return tasks.listSchedules().filter((schedule) => schedule.callback === ALARM_CALLBACK && schedule.id !== this.#running);
  }
}
