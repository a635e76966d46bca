import { AGENT_OPTIONS, AGENT_RUNTIME, AgentBase, HANDLE, REPORT_ERROR } from "../agent/agent-base.ts";
import { AgentTasks, type CancelOptions } from "./agent-tasks.ts";
import type { QueueItem, RetryOptions, Schedule, ScheduleCriteria, ScheduleOptions, TaskFailure } from "./types.ts";

/** The Agent API's cancels: one made by the running task's own callback is not undone when it throws. */
const CANCEL_STANDS: CancelOptions = Object.freeze({ evenIfRunFails: true });

/**
 * The durable-time layer of {@link Agent}: schedules, cron, intervals and the queue, kept in the
 * agent's own database and run by the host's dispatcher through `[HANDLE.tasks]`.
 */
export class SchedulingAgent<Env = unknown, State = unknown> extends AgentBase<Env, State> {
  #tasks: AgentTasks | undefined;

  /**
   * Runs `this[callback](payload, schedule)` later: at a `Date`, after a delay in **seconds**, or on
   * every match of a cron expression (5 fields or an alias such as `@daily`; `options.timezone`).
   * Durable: it survives hibernation, restarts and crashes, and runs at least once. The method must
   * exist now. Retries with jittered exponential backoff per `options.retry`.
   * @example
   * await this.schedule(60, "remind", { text: "stand up" });
   * await this.schedule(new Date("2027-01-01T09:00:00Z"), "greet");
   * await this.schedule("0 9 * * 1-5", "standup", undefined, { timezone: "Europe/Berlin" });
   */
  async schedule<T = unknown>(
    when: Date | string | number,
    callback: keyof this,
    payload?: T,
    options?: ScheduleOptions,
  ): Promise<Schedule<T>> {
    return this.#taskApi.schedule(when, callback as string, payload, options);
  }

  /**
   * Runs `this[callback](payload, schedule)` every `intervalSeconds`. Idempotent: calling it again with
   * the same callback, interval and payload (say, in every `onStart`) returns the existing schedule.
   * @example
   * async onStart() { await this.scheduleEvery(30, "poll"); }
   */
  async scheduleEvery<T = unknown>(
    intervalSeconds: number,
    callback: keyof this,
    payload?: T,
    options?: { retry?: RetryOptions },
  ): Promise<Schedule<T>> {
    return this.#taskApi.scheduleEvery(intervalSeconds, callback as string, payload, options);
  }

  /** A schedule by id, or undefined. */
  async getScheduleById<T = unknown>(id: string): Promise<Schedule<T> | undefined> {
    return this.#taskApi.getSchedule<T>(id);
  }

  /** @deprecated Synchronous form of {@link getScheduleById}. */
  getSchedule<T = unknown>(id: string): Schedule<T> | undefined {
    return this.#taskApi.getSchedule<T>(id);
  }

  /** Schedules matching the criteria, earliest first. */
  async listSchedules<T = unknown>(criteria?: ScheduleCriteria): Promise<Schedule<T>[]> {
    return this.#taskApi.listSchedules<T>(criteria);
  }

  /** @deprecated Synchronous form of {@link listSchedules}. */
  getSchedules<T = unknown>(criteria?: ScheduleCriteria): Schedule<T>[] {
    return this.#taskApi.listSchedules<T>(criteria);
  }

  /**
   * Cancels a schedule; false when there is none with this id. Called by the schedule's own callback,
   * the cancel stands even if the callback then throws (as in the Agents SDK).
   */
  async cancelSchedule(id: string): Promise<boolean> {
    return this.#taskApi.cancelSchedule(id, CANCEL_STANDS);
  }

  /**
   * Adds `this[callback](payload, item)` to the agent's durable FIFO queue: items run one at a time, in
   * order, soon after the current event; items left by a crash run when the agent wakes.
   * @example
   * const id = await this.queue("sendEmail", { to: "ada@example.com" }, { retry: { maxAttempts: 5 } });
   */
  async queue<T = unknown>(callback: keyof this, payload: T, options?: { retry?: RetryOptions; id?: string }): Promise<string> {
    return this.#taskApi.queue(callback as string, payload, options);
  }

  /** Removes a queued item; false when there is none with this id. Made by the item's own callback, it stands as for {@link cancelSchedule}. */
  async dequeue(id: string): Promise<boolean> {
    return this.#taskApi.dequeue(id, CANCEL_STANDS);
  }

  /** Empties the queue; returns how many items were removed. */
  async dequeueAll(): Promise<number> {
    return this.#taskApi.dequeueAll(undefined, CANCEL_STANDS);
  }

  /** Removes the queued items of one callback; returns how many. */
  async dequeueAllByCallback(callback: string): Promise<number> {
    return this.#taskApi.dequeueAll(callback, CANCEL_STANDS);
  }

  /** A queued item by id, or undefined. Synchronous, as documented by the Agents SDK (awaiting it works too). */
  getQueue<T = unknown>(id: string): QueueItem<T> | undefined {
    return this.#taskApi.getQueue<T>(id);
  }

  /** Queued items in order; with `key`, those whose payload has `key` equal to `value`. Synchronous. */
  getQueues<T = unknown>(key?: string, value?: unknown): QueueItem<T>[] {
    return this.#taskApi.getQueues<T>(key, value);
  }

  /** Runs that failed for good (after their last attempt) or were stopped by the crash-loop breaker, newest first. */
  async getTaskFailures(options?: { limit?: number }): Promise<TaskFailure[]> {
    return this.#taskApi.failures(options?.limit);
  }

  /** Clears a schedule's or queue item's breaker and failed attempts so it runs again; false if unknown. */
  async resetTask(id: string): Promise<boolean> {
    return this.#taskApi.resetTask(id);
  }

  get #taskApi(): AgentTasks {
    this.#tasks ??= new AgentTasks(this[AGENT_RUNTIME], this, (error) => this[REPORT_ERROR](error), this[AGENT_OPTIONS].retry);
    return this.#tasks;
  }

  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#tasks?.invalidate();
  }

  /** The host's dispatcher runs due tasks through this. */
  [HANDLE.tasks](): AgentTasks {
    return this.#taskApi;
  }
}
