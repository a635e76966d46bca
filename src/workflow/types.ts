import type { Duration } from "../time/duration.ts";

/** What `run` receives: the params given to `create` (`{}` without), when the instance was created, its id and its workflow's name. */
export interface WorkflowEvent<Params = unknown> {
  payload: Readonly<Params>;
  timestamp: Date;
  instanceId: string;
  /** The workflow's binding name, e.g. "Onboarding". */
  workflowName: string;
}

/** Backoff between retries of a failing `step.do`: constant d, linear d·n, exponential d·2^(n−1). */
export type WorkflowBackoff = "constant" | "linear" | "exponential";

/**
 * A retry's delay worked out from the failed attempt (its step context and error): ms or
 * "30 seconds", fed into the backoff. Throwing, taking over 5 s or giving no duration fails the step
 * without more retries.
 * @example
 * { limit: 5, delay: ({ ctx, error }) => (error.message.includes("rate limit") ? `${ctx.attempt * 30} seconds` : "10 seconds") }
 */
export type WorkflowRetryDelay = (failed: { ctx: WorkflowStepContext; error: Error }) => Duration | Promise<Duration>;

/** Options of `step.do`. */
export interface WorkflowStepConfig {
  retries?: {
    /** Retries after the first attempt. Default 5. */
    limit: number;
    /** Delay before the first retry, as ms or "10 seconds", or a function of the failed attempt. Default 10 s. */
    delay: Duration | WorkflowRetryDelay;
    /** Default "exponential". */
    backoff?: WorkflowBackoff;
  };
  /** Time allowed per attempt (real time), as ms or "10 minutes". Default 10 minutes. */
  timeout?: Duration;
}

/** Passed to a step's function. */
export interface WorkflowStepContext {
  /** The step's name, and how many times `step.do` was called with it so far in this run (1 the first time). */
  step: { name: string; count: number };
  /** 1 for the first attempt, 2 for the first retry… */
  attempt: number;
  /** The step's configuration, with the defaults where it sets none. */
  config: WorkflowStepConfig;
}

/** An event delivered by `instance.sendEvent` and returned by `step.waitForEvent`. */
export interface WorkflowStepEvent<T = unknown> {
  payload: Readonly<T>;
  timestamp: Date;
  type: string;
}

/** The `step` argument of `run`: durable, replayable steps. */
export interface WorkflowStep {
  /**
   * Runs `fn` once and stores its result; after a restart the stored result is returned without running
   * it again. Retries per `config.retries`; a `NonRetryableError` fails at once.
   */
  do<T>(name: string, fn: (ctx: WorkflowStepContext) => Promise<T> | T): Promise<T>;
  do<T>(name: string, config: WorkflowStepConfig, fn: (ctx: WorkflowStepContext) => Promise<T> | T): Promise<T>;
  /** With rollback options (Cloudflare's signature): not supported yet, the step rejects with a TypeError. */
  do<T>(name: string, fn: (ctx: WorkflowStepContext) => Promise<T> | T, rollback: WorkflowStepRollbackOptions): Promise<T>;
  do<T>(name: string, config: WorkflowStepConfig, fn: (ctx: WorkflowStepContext) => Promise<T> | T, rollback: WorkflowStepRollbackOptions): Promise<T>;
  /** Sleeps durably: the instance leaves memory and resumes when the time comes, even after a restart. */
  sleep(name: string, duration: Duration): Promise<void>;
  sleepUntil(name: string, timestamp: Date | number): Promise<void>;
  /** Waits for `instance.sendEvent({ type })`; throws a `WorkflowTimeoutError` after `timeout` (default 24 h). */
  waitForEvent<T = unknown>(name: string, options: { type: string; timeout?: Duration }): Promise<WorkflowStepEvent<T>>;
}

/** Status values of an instance, as in Cloudflare Workflows. */
export type WorkflowInstanceStatus =
  | "queued"
  | "running"
  | "paused"
  | "errored"
  | "terminated"
  | "complete"
  | "waiting"
  /** Paused while the step under way finishes and is recorded (only `status()` says it; stored as `paused`). */
  | "waitingForPause"
  | "unknown";

/** What `instance.status()` returns. */
export interface InstanceStatus<Output = unknown> {
  status: WorkflowInstanceStatus;
  output?: Output;
  error?: { name: string; message: string };
}

/**
 * How long a finished instance's record (status, output, steps, events) is kept after it ends, as ms
 * or text such as "5 minutes". Without it (or without the field for the way it ended), the record is
 * kept for good. Each at most 10 years (`maxWorkflowRetentionMs`); 0 removes it as soon as it ends.
 * @example
 * await env.Report.create({ params, retention: { successRetention: "1 day", errorRetention: "30 days" } });
 */
export interface WorkflowRetention {
  /** For instances that complete, and for terminated ones. */
  successRetention?: Duration;
  /** For instances that end errored. */
  errorRetention?: Duration;
}

/** Options of `create`. */
export interface WorkflowInstanceCreateOptions<Params = unknown> {
  /** 1-100 characters of letters, digits, `-` and `_`, not starting with `-`. Default: a UUID. */
  id?: string;
  params?: Params;
  /** When the record is removed once the instance has ended. Default: kept. */
  retention?: WorkflowRetention;
}

/** Options of `instance.restart()`, as in Cloudflare Workflows. */
export interface WorkflowInstanceRestartOptions {
  /**
   * Restart from this recorded step: the steps recorded before it keep their results, it and every
   * later one run again. Without it the instance restarts from the beginning.
   */
  from?: {
    /** The step's name, as in the workflow's code. */
    name: string;
    /** Which call of that name (1 the first, as `ctx.step.count`). Default 1. */
    count?: number;
    /** The kind of step, needed when steps of different kinds share the name. */
    type?: "do" | "sleep" | "waitForEvent";
  };
}

/** Options of `instance.terminate()`. */
export interface WorkflowInstanceTerminateOptions {
  /** Run the rollback handlers of the recorded steps first. Not supported yet: `true` throws. */
  rollback?: boolean;
}

/** Cloudflare's rollback options of `step.do`. Not supported yet: passing them rejects the step. */
export interface WorkflowStepRollbackOptions {
  rollback: (context: { ctx: WorkflowStepContext; error: Error; output: unknown }) => Promise<void>;
  rollbackConfig?: unknown;
}
