import { QueueFullError } from "./errors.ts";
import { FLOW_CONTROL_LIMITS } from "./limits.ts";
import { checkOptionNames, integerOption, keyOption, maxQueueOption } from "./options.ts";
import { captureContext, invoke, callStart, onAbort } from "./runtime.ts";
import type { FlowControl, KeyOf, RunOptions, Work } from "./types.ts";

/** Options of {@link concurrency}. */
export interface ConcurrencyOptions<I> {
  /** Runs at once per key: an integer from 1 to 100,000. */
  limit: number;
  /** What is counted: a string, or a function of the input (the user id…). Default: one key for all. */
  key?: KeyOf<I>;
  /** Callers a key may hold waiting, 0 to 100,000; default 1,000. Over it: {@link QueueFullError}. */
  maxQueue?: number;
}

interface Waiter {
  start(): void;
}

interface KeyState {
  running: number;
  readonly waiting: Waiter[];
}

const KNOWN = ["limit", "key", "maxQueue"] as const;

/**
 * At most `limit` runs per key at once; the others wait in FIFO order and start as runs finish.
 * A waiting caller holds no slot, and one that aborts its signal leaves the queue at once.
 * State is in memory: it belongs to one agent instance (one actor, one thread, one owner).
 *
 * @example
 * const onePerUser = concurrency<Request>({ limit: 1, key: (request) => request.headers.get("x-user") ?? "" });
 * const reply = await onePerUser.run(request, async (request, signal) => answer(request, signal));
 */
export function concurrency<I = unknown>(options: ConcurrencyOptions<I>): FlowControl<I> {
  checkOptionNames("concurrency", options, KNOWN);
  const limit = integerOption("concurrency", "limit", options.limit, 1, FLOW_CONTROL_LIMITS.maxLimit);
  const keyOf = keyOption("concurrency", options.key);
  const maxQueue = maxQueueOption("concurrency", options.maxQueue);
  const keys = new Map<string, KeyState>();

  const release = (key: string, state: KeyState): void => {
    state.running--;
    const next = state.waiting.shift();
    if (next !== undefined) next.start();
    else if (state.running === 0) keys.delete(key);
  };

  return {
    kinds: ["concurrency"],
    // Async: a refused call (bad key, caller gone) rejects rather than throws.
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      let state = keys.get(key);
      if (state === undefined) keys.set(key, (state = { running: 0, waiting: [] }));
      const held = state;
      const runNow = (): Promise<T> => {
        held.running++;
        return invoke(work, input, signal).finally(() => release(key, held));
      };
      if (held.running < limit && held.waiting.length === 0) return runNow();
      if (held.waiting.length >= maxQueue) return Promise.reject(new QueueFullError("concurrency", key, maxQueue));

      const inContext = captureContext();
      return new Promise<T>((resolve, reject) => {
        const waiter: Waiter = {
          start() {
            stopListening();
            inContext(() => runNow()).then(resolve, reject);
          },
        };
        const stopListening = onAbort(signal, () => {
          const index = held.waiting.indexOf(waiter);
          if (index < 0) return;
          held.waiting.splice(index, 1);
          if (held.running === 0 && held.waiting.length === 0) keys.delete(key);
          reject(signal.reason);
        });
        held.waiting.push(waiter);
      });
    },
  };
}
