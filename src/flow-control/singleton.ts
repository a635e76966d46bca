import { SingletonCancelledError, SingletonSkippedError } from "./errors.ts";
import { checkOptionNames, keyOption } from "./options.ts";
import { captureContext, invoke, callStart, onAbort } from "./runtime.ts";
import type { FlowControl, KeyOf, RunOptions, Work } from "./types.ts";

/** Options of {@link singleton}. */
export interface SingletonOptions<I> {
  /** What is counted: a string, or a function of the input. Default: one key for all. */
  key?: KeyOf<I>;
  /**
   * What a call does while a run for its key is active:
   * - `"skip"`: it does not run, and rejects with {@link SingletonSkippedError};
   * - `"cancel"`: the active run's signal is aborted with {@link SingletonCancelledError}, and the new
   *   call runs once that run has finished (so two runs of a key never overlap).
   */
  mode: "skip" | "cancel";
}

interface Pending {
  start(): void;
  cancel(): void;
}

interface KeyState {
  /** Aborts the active run. */
  readonly controller: AbortController;
  /** The call that runs next ("cancel" mode): only the newest one waits. */
  pending: Pending | undefined;
}

const KNOWN = ["key", "mode"] as const;

/**
 * One active run per key. In `"skip"` mode a call for a busy key is refused; in `"cancel"` mode it
 * cancels the active run and takes its place. A cancelled caller whose work fails after the abort
 * rejects with {@link SingletonCancelledError}; one whose work returns anyway gets its value. A call
 * waiting for a cancelled run to finish that is itself replaced by a newer one never runs, and rejects
 * with {@link SingletonCancelledError}. State is in memory, per agent instance.
 *
 * @example
 * // A new message from a user cancels the reply still being written for their previous one.
 * const latestOnly = singleton<{ user: string }>({ key: (m) => m.user, mode: "cancel" });
 * const reply = await latestOnly.run(message, (message, signal) => writeReply(message, signal));
 */
export function singleton<I = unknown>(options: SingletonOptions<I>): FlowControl<I> {
  checkOptionNames("singleton", options, KNOWN);
  const mode = options.mode;
  if (mode !== "skip" && mode !== "cancel") throw new TypeError(`singleton: mode must be "skip" or "cancel", got ${JSON.stringify(mode)}`);
  const keyOf = keyOption("singleton", options.key);
  const keys = new Map<string, KeyState>();

  const runFor = <T>(key: string, input: I, work: Work<I, T>, signal: AbortSignal): Promise<T> => {
    const controller = new AbortController();
    const state: KeyState = { controller, pending: undefined };
    keys.set(key, state);
    const stopListening = onAbort(signal, () => controller.abort(signal.reason));
    return invoke(work, input, controller.signal).finally(() => {
      stopListening();
      const next = state.pending;
      if (keys.get(key) === state) keys.delete(key);
      next?.start();
    });
  };

  return {
    kinds: ["singleton"],
    // Async: a refused call (bad key, caller gone) rejects rather than throws.
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      const active = keys.get(key);
      if (active === undefined) return runFor(key, input, work, signal);
      if (mode === "skip") return Promise.reject(new SingletonSkippedError(key));

      if (!active.controller.signal.aborted) active.controller.abort(new SingletonCancelledError(key));
      active.pending?.cancel();
      const inContext = captureContext();
      return new Promise<T>((resolve, reject) => {
        const pending: Pending = {
          start() {
            stopListening();
            inContext(() => runFor(key, input, work, signal)).then(resolve, reject);
          },
          cancel() {
            stopListening();
            reject(new SingletonCancelledError(key));
          },
        };
        const stopListening = onAbort(signal, () => {
          if (active.pending === pending) active.pending = undefined;
          reject(signal.reason);
        });
        active.pending = pending;
      });
    },
  };
}
