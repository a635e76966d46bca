/**
 * The worker pool's options and their defaults. Documented in docs/sandbox.md.
 */
import { availableParallelism } from "node:os";

export const POOL_LIMITS = {
  /** Largest pool accepted (`size`): more threads than this only cost memory. */
  maxPoolSize: 256,
  /** Native stack of each worker thread, in MiB (`stackSizeMb`; Node's default is 4). */
  workerStackSizeMb: 4,
  /**
   * How long past its call's wall-clock deadline a sandbox's sync call waits for the host's answer
   * (`hostAnswerGraceMs`). The host's work is not the sandbox's fault (on the host thread a slow
   * answer was simply waited for); this only bounds a host thread that never answers.
   */
  hostAnswerGraceMs: 30_000,
  /**
   * How far past its call's limits one stretch of a sandbox's code may run inside a native builtin,
   * where the engine checks none, before its worker is stopped (`stuckGraceMs`): more CPU time than
   * the call's `cpuMs` plus this, or past its wall-clock deadline plus this (stuck-watch.ts).
   */
  stuckGraceMs: 1_000,
  /** How often the host looks at a worker with calls in flight, for a call stuck where no limit is checked. */
  stuckLookEveryMs: 250,
  /** How long past its call's wall-clock deadline the host thread waits for a nested call or a held turn. */
  hostWaitGraceMs: 5_000,
  /**
   * A worker with a call this long past its wall-clock deadline takes no new sandboxes (they go to
   * another worker, started if need be: up to twice `size` while some are overdue).
   */
  overdueAfterMs: 250,
} as const;

/** Worker threads in the default pool: one per core the process may use. */
export function defaultPoolSize(): number {
  return availableParallelism();
}
