// The runtime's own timers: never an actor's (host/actor-timers.ts tracks the global ones).
import { clearTimeout, setTimeout } from "node:timers";

/**
 * Node's setTimeout fires after 1 ms (with a TimeoutOverflowWarning) for any delay above this:
 * 2^31 − 1 ms, about 24.8 days.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Calls `fn` once `ms` of real, monotonic time have passed, whatever `ms` is: a wait longer than
 * {@link MAX_TIMEOUT_MS} is taken in steps, so a huge value means "practically never" rather than
 * "at once". The timer does not keep the process alive. Returns a function that cancels it.
 *
 * @example
 * const cancel = afterRealTime(30 * 24 * 3600_000, () => console.log("thirty days later"));
 * cancel();
 */
export function afterRealTime(ms: number, fn: () => void): () => void {
  const end = performance.now() + ms;
  let handle: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const left = Math.max(0, end - performance.now());
    handle = left > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fn, left);
    handle.unref();
  };
  arm();
  return () => clearTimeout(handle);
}
