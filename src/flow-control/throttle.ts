import type { Clock } from "../time/clock.ts";
import { QueueFullError, ThrottledError } from "./errors.ts";
import { FLOW_CONTROL_LIMITS } from "./limits.ts";
import { checkOptionNames, durationOption, integerOption, keyOption, maxQueueOption } from "./options.ts";
import { captureContext, clockOf, invoke, callStart, onAbort } from "./runtime.ts";
import type { FlowControl, KeyOf, RunOptions, Work } from "./types.ts";

/** Options of {@link throttle}. */
export interface ThrottleOptions<I> {
  /** Starts per key in any window of `periodMs`: an integer from 1 to 100,000. */
  limit: number;
  /** The window, in ms: 1 ms to 7 days. */
  periodMs: number;
  /** Extra starts a window may hold on top of `limit` (Inngest's name); default 0. `limit + burst` ≤ 100,000. */
  burst?: number;
  /** What is counted: a string, or a function of the input. Default: one key for all. */
  key?: KeyOf<I>;
  /**
   * Longest wait to start, in ms; default one minute, or `periodMs` if longer. A call that would wait
   * longer is refused at once with {@link ThrottledError} (its `retryAfterMs` says when to retry).
   */
  maxWaitMs?: number;
  /** Callers a key may hold waiting, 0 to 100,000; default 1,000. Over it: {@link QueueFullError}. */
  maxQueue?: number;
  /** Time source; default the running agent's clock, else the system clock. */
  clock?: Clock;
}

interface Waiter {
  start(): void;
}

interface KeyState {
  /** Start times within the last period, oldest first (at most `limit + burst`). */
  readonly starts: number[];
  readonly waiting: Waiter[];
  /** Cancels the timer armed for when the oldest start leaves the window. */
  cancelTimer: (() => void) | undefined;
  clock: Clock;
}

const KNOWN = ["limit", "periodMs", "burst", "key", "maxWaitMs", "maxQueue", "clock"] as const;

/**
 * At most `limit + burst` starts per key in any window of `periodMs` (a sliding window); the excess
 * waits in FIFO order — queued, never dropped — up to `maxWaitMs`. Only starts count: how long a run
 * takes does not matter (pair it with {@link concurrency} for that). State is in memory, per agent
 * instance.
 *
 * @example
 * // Two model calls per second per user; a third waits for the window to move.
 * const paced = throttle<string>({ limit: 2, periodMs: 1000, key: (userId) => userId });
 * await paced.run(userId, (userId) => callModel(userId));
 */
export function throttle<I = unknown>(options: ThrottleOptions<I>): FlowControl<I> {
  checkOptionNames("throttle", options, KNOWN);
  const limit = integerOption("throttle", "limit", options.limit, 1, FLOW_CONTROL_LIMITS.maxLimit);
  const periodMs = durationOption("throttle", "periodMs", options.periodMs);
  const burst = integerOption("throttle", "burst", options.burst ?? 0, 0, FLOW_CONTROL_LIMITS.maxLimit - limit);
  const capacity = limit + burst;
  const maxWaitMs =
    options.maxWaitMs === undefined
      ? Math.max(FLOW_CONTROL_LIMITS.defaultThrottleMaxWaitMs, periodMs)
      : integerOption("throttle", "maxWaitMs", options.maxWaitMs, 0, FLOW_CONTROL_LIMITS.maxPeriodMs);
  const keyOf = keyOption("throttle", options.key);
  const maxQueue = maxQueueOption("throttle", options.maxQueue);
  const keys = new Map<string, KeyState>();

  const prune = (state: KeyState, now: number): void => {
    let expired = 0;
    while (expired < state.starts.length && state.starts[expired]! <= now - periodMs) expired++;
    if (expired > 0) state.starts.splice(0, expired);
  };

  /** When the queued call at `position` (0 = next) would start, if every call ahead starts on time. */
  const startTime = (state: KeyState, position: number, now: number): number => {
    // The n-th start of the sequence (recent starts, then the queue) may come one period after the
    // (n - capacity)-th.
    let index = state.starts.length + position;
    let periods = 0;
    while (index >= capacity) {
      index -= capacity;
      periods++;
    }
    if (periods === 0) return now;
    const base = index < state.starts.length ? state.starts[index]! : now;
    return Math.max(now, base + periods * periodMs);
  };

  const dispatch = (key: string, state: KeyState): void => {
    state.cancelTimer?.();
    state.cancelTimer = undefined;
    const now = state.clock.now();
    prune(state, now);
    while (state.waiting.length > 0 && state.starts.length < capacity) {
      state.starts.push(now);
      state.waiting.shift()!.start();
    }
    if (state.starts.length === 0 && state.waiting.length === 0) {
      keys.delete(key);
      return;
    }
    // The oldest start leaves the window: a waiter may start then, or the key's state can go.
    state.cancelTimer = state.clock.setTimer(state.starts[0]! + periodMs, () => dispatch(key, state));
  };

  return {
    kinds: ["throttle"],
    // Async: a refused call (bad key, caller gone) rejects rather than throws.
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      const clock = clockOf(options.clock);
      const now = clock.now();
      let state = keys.get(key);
      if (state === undefined) keys.set(key, (state = { starts: [], waiting: [], cancelTimer: undefined, clock }));
      const held = state;
      prune(held, now);
      if (held.waiting.length === 0 && held.starts.length < capacity) {
        held.starts.push(now);
        if (held.cancelTimer === undefined) dispatch(key, held);
        return invoke(work, input, signal);
      }
      if (held.waiting.length >= maxQueue) {
        return Promise.reject(new QueueFullError("throttle", key, maxQueue, startTime(held, held.waiting.length, now) - now));
      }
      const waitMs = startTime(held, held.waiting.length, now) - now;
      if (waitMs > maxWaitMs) return Promise.reject(new ThrottledError(key, waitMs, maxWaitMs));

      const inContext = captureContext();
      return new Promise<T>((resolve, reject) => {
        const waiter: Waiter = {
          start() {
            stopListening();
            inContext(() => invoke(work, input, signal)).then(resolve, reject);
          },
        };
        const stopListening = onAbort(signal, () => {
          const index = held.waiting.indexOf(waiter);
          if (index < 0) return;
          held.waiting.splice(index, 1);
          reject(signal.reason);
        });
        held.waiting.push(waiter);
        if (held.cancelTimer === undefined) dispatch(key, held);
      });
    },
  };
}
