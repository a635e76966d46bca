import type { Clock } from "../time/clock.ts";
import { QueueFullError } from "./errors.ts";
import { FLOW_CONTROL_LIMITS } from "./limits.ts";
import { checkOptionNames, durationOption, integerOption, keyOption, maxQueueOption } from "./options.ts";
import { captureContext, clockOf, invoke, callStart, onAbort } from "./runtime.ts";
import type { FlowControl, KeyOf, RunOptions, Work } from "./types.ts";

/** Options of {@link debounce}. */
export interface DebounceOptions<I> {
  /** The quiet time, in ms (1 ms to 7 days): the run happens once no call came for this long. */
  periodMs: number;
  /** What is counted: a string, or a function of the input. Default: one key for all. */
  key?: KeyOf<I>;
  /**
   * The longest a batch waits after its first call, in ms, however often calls keep coming; default
   * `periodMs × 10` (capped at 7 days). At least `periodMs`.
   */
  maxWaitMs?: number;
  /** Callers one batch may hold, 0 to 100,000; default 1,000. Over it: {@link QueueFullError}. */
  maxQueue?: number;
  /** Time source; default the running agent's clock, else the system clock. */
  clock?: Clock;
}

interface Caller<I> {
  readonly input: I;
  readonly signal: AbortSignal;
  readonly inContext: <R>(fn: () => R) => R;
  readonly work: Work<I, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  stopListening(): void;
}

interface Batch<I> {
  readonly callers: Set<Caller<I>>;
  readonly firstAt: number;
  cancelTimer: () => void;
}

const KNOWN = ["periodMs", "key", "maxWaitMs", "maxQueue", "clock"] as const;

/**
 * Many calls for a key within `periodMs` of each other make one run, with the input (and the work) of
 * the last call, once the key has been quiet for `periodMs` — or `maxWaitMs` after the batch's first
 * call. **Every caller of the batch gets the outcome of that one run** (its value or its error), so a
 * superseded call still learns what happened. A caller that aborts leaves the batch (the run uses the
 * last input still wanted; with no caller left there is no run). A call after the run started begins
 * a new batch. State is in memory, per agent instance.
 *
 * @example
 * // Rapid typing: one model call per pause of 500 ms, with the latest text.
 * const settle = debounce<{ user: string; text: string }>({ periodMs: 500, key: (m) => m.user });
 * const suggestion = await settle.run({ user, text }, ({ text }) => suggest(text));
 */
export function debounce<I = unknown>(options: DebounceOptions<I>): FlowControl<I> {
  checkOptionNames("debounce", options, KNOWN);
  const periodMs = durationOption("debounce", "periodMs", options.periodMs);
  const maxWaitMs =
    options.maxWaitMs === undefined
      ? Math.min(periodMs * FLOW_CONTROL_LIMITS.defaultDebounceMaxWaitFactor, FLOW_CONTROL_LIMITS.maxPeriodMs)
      : integerOption("debounce", "maxWaitMs", options.maxWaitMs, periodMs, FLOW_CONTROL_LIMITS.maxPeriodMs);
  const keyOf = keyOption("debounce", options.key);
  const maxQueue = maxQueueOption("debounce", options.maxQueue);
  const batches = new Map<string, Batch<I>>();

  const fire = (key: string, batch: Batch<I>): void => {
    if (batches.get(key) === batch) batches.delete(key);
    const callers = batch.callers;
    const last = [...callers].at(-1);
    if (last === undefined) return;
    const controller = new AbortController();
    for (const caller of callers) {
      caller.stopListening();
      // A caller giving up while the run is on leaves it; the run is aborted when nobody is left.
      caller.stopListening = onAbort(caller.signal, () => {
        callers.delete(caller);
        caller.reject(caller.signal.reason);
        if (callers.size === 0) controller.abort(caller.signal.reason);
      });
    }
    last.inContext(() => invoke(last.work, last.input, controller.signal)).then(
      (value) => settleAll(callers, (caller) => caller.resolve(value)),
      (error: unknown) => settleAll(callers, (caller) => caller.reject(error)),
    );
  };

  return {
    kinds: ["debounce"],
    // Async: a refused call (bad key, caller gone) rejects rather than throws.
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      const clock = clockOf(options.clock);
      const now = clock.now();
      let batch = batches.get(key);
      if (batch !== undefined && batch.callers.size >= maxQueue) return Promise.reject(new QueueFullError("debounce", key, maxQueue));
      if (batch === undefined) {
        if (maxQueue === 0) return Promise.reject(new QueueFullError("debounce", key, maxQueue));
        batches.set(key, (batch = { callers: new Set(), firstAt: now, cancelTimer: () => {} }));
      }
      const held = batch;
      return new Promise<T>((resolve, reject) => {
        const caller: Caller<I> = {
          input,
          signal,
          inContext: captureContext(),
          work: work as Work<I, unknown>,
          resolve: resolve as (value: unknown) => void,
          reject,
          stopListening: () => {},
        };
        caller.stopListening = onAbort(signal, () => {
          held.callers.delete(caller);
          reject(signal.reason);
          if (held.callers.size === 0 && batches.get(key) === held) {
            held.cancelTimer();
            batches.delete(key);
          }
        });
        held.callers.add(caller);
        held.cancelTimer();
        const at = Math.min(now + periodMs, held.firstAt + maxWaitMs);
        held.cancelTimer = clock.setTimer(at, () => fire(key, held));
      });
    },
  };
}

function settleAll<I>(callers: Set<Caller<I>>, settle: (caller: Caller<I>) => void): void {
  for (const caller of callers) {
    caller.stopListening();
    settle(caller);
  }
  callers.clear();
}
