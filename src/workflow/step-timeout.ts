import { afterRealTime } from "../time/real-timeout.ts";
import { formatDuration } from "../time/duration.ts";
import { WorkflowTimeoutError } from "./errors.ts";

/** Calls `fn` after `ms` of real time; returns a cancel function (afterRealTime, or a test's stand-in). */
export type RealTimer = (ms: number, fn: () => void) => () => void;

/**
 * An attempt of `step.do(name)` bounded by its `timeout`: rejects with a `WorkflowTimeoutError` once
 * `ms` of real time passed (a step's work happens in this world even when tests move a virtual
 * clock). Any length holds: past Node's 24.8-day timer limit the wait is taken in chunks.
 */
export function withStepTimeout<T>(promise: Promise<T>, ms: number, name: string, after: RealTimer = afterRealTime): Promise<T> {
  let cancel: () => void = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = after(ms, () => reject(new WorkflowTimeoutError(`step.do("${name}") timed out after ${formatDuration(ms)}`)));
  });
  return Promise.race([promise, timeout]).finally(() => cancel());
}
