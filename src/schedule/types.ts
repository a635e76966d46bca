import type { RetryOptions } from "../time/backoff.ts";

export type { RetryOptions } from "../time/backoff.ts";

/** How a schedule was created: a Date, a delay in seconds, a cron expression, or `scheduleEvery`. */
export type ScheduleType = "scheduled" | "delayed" | "cron" | "interval";

/** Fields every schedule and queue item carries besides its timing. */
interface TaskRecord<T> {
  /** Unique id (a UUID). */
  id: string;
  /** Name of the agent method that is called. */
  callback: string;
  /** Data passed to the callback (JSON). */
  payload: T;
  /** Retry policy, when one was given. */
  retry?: RetryOptions;
  /** Failed attempts of the current run; reset after a success or after the last attempt. */
  attempts: number;
  /** Message of the last failure, if the last run failed. */
  lastError?: string;
  /**
   * Set when the crash-loop breaker stopped this task: its runs kept crashing the process or hanging.
   * It is kept but not run until `resetTask(id)`.
   */
  tripped?: { crashes: number; at: number };
}

/**
 * A persisted schedule, as returned by `schedule()`, `scheduleEvery()` and `listSchedules()`.
 * `time` is the next run as a Unix timestamp in seconds (as in Cloudflare's Agents SDK); `dueAt` is
 * the same instant in milliseconds.
 */
export type Schedule<T = unknown> = TaskRecord<T> & { time: number; dueAt: number } & (
    | { type: "scheduled" }
    | { type: "delayed"; delayInSeconds: number }
    | { type: "cron"; cron: string; timezone?: string }
    | { type: "interval"; intervalSeconds: number }
  );

/** A durable queue item, as returned by `getQueue()` and `getQueues()`. */
export type QueueItem<T = unknown> = TaskRecord<T> & {
  /** When it was queued, Unix seconds. */
  createdAt: number;
  /**
   * When it may run next, ms since the epoch: its queueing time while it waits its turn, later while
   * a failed attempt's backoff runs (a Hearth addition).
   */
  dueAt: number;
};

/** Options of `schedule()`. */
export interface ScheduleOptions {
  /** Retry policy when the callback throws. Default `{ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 3000 }`. */
  retry?: RetryOptions;
  /**
   * Return an existing schedule with the same callback and payload (and cron expression) instead of
   * adding another. Default: true for cron, false for dates and delays.
   */
  idempotent?: boolean;
  /** IANA time zone for a cron expression, e.g. "Europe/Berlin". Default UTC. */
  timezone?: string;
}

/** Filters of `listSchedules()`. */
export interface ScheduleCriteria {
  id?: string;
  type?: ScheduleType;
  timeRange?: { start?: Date; end?: Date };
}

/** A run that failed for good (after its last attempt), or a task the crash-loop breaker stopped. */
export interface TaskFailure {
  kind: "schedule" | "queue";
  taskId: string;
  callback: string;
  payload: unknown;
  error: string;
  attempts: number;
  /** Epoch milliseconds. */
  failedAt: number;
}

/** Identifies a task inside one agent. */
export interface TaskRef {
  kind: "schedule" | "queue";
  id: string;
}

/** The task callback a Durable Object's alarm runs under (a method of the object handed to the tasks): its runs are traced as `alarm`. */
export const ALARM_CALLBACK = "alarm";
