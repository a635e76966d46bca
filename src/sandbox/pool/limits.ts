/**
 * The worker pool's options and their defaults. Documented in docs/sandbox.md.
 */
import { availableParallelism } from "node:os";

export const POOL_LIMITS = {
  /** Largest pool accepted (`size`): more threads than this only cost memory. */
  maxPoolSize: 256,
  /** Native stack of each worker thread, in MiB (`stackSizeMb`; Node's default is 4). */
  workerStackSizeMb: 4,
} as const;

/** Worker threads in the default pool: one per core the process may use. */
export function defaultPoolSize(): number {
  return availableParallelism();
}
