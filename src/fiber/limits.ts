import { FIBER_OPTION_DEFAULTS } from "../agent/options.ts";

/**
 * The limits of fibers, with their defaults. Each is documented in docs/limits.md ("Fibers") and
 * each error names the limit. The per-class ones are `static options`, resolved (and checked when
 * the host starts) by `optionsOf` in src/agent/options.ts.
 */
export const FIBER_LIMITS = {
  /** Largest checkpoint (`stash`), metadata or recovery snapshot, as JSON. */
  maxFiberSnapshotBytes: 8 * 1024 * 1024,
  /** Fibers (runFiber and startFiber) running at once in one agent. */
  maxRunningFibers: 1_000,
  /** Longest fiber name, in characters. */
  maxFiberNameLength: 1_024,
  /** Longest `fiberId` or `idempotencyKey`, in characters. */
  maxFiberIdLength: 256,
  /** Longest wait before a failed recovery is tried again (the wait doubles from 1 s up to this). */
  maxFiberRecoveryBackoffMs: 5 * 60_000,
  /** Default `static options.fiberRecoveryMaxAgeMs`: from a fiber's start, how long a failing recovery is retried. */
  fiberRecoveryMaxAgeMs: FIBER_OPTION_DEFAULTS.fiberRecoveryMaxAgeMs,
  /** Default `static options.fiberRecoveryScanDeadlineMs`: how long start-up waits for recovery hooks. */
  fiberRecoveryScanDeadlineMs: FIBER_OPTION_DEFAULTS.fiberRecoveryScanDeadlineMs,
  /** Default `static options.keepAliveIntervalMs`: how often the host wakes an agent while it runs fibers. */
  keepAliveIntervalMs: FIBER_OPTION_DEFAULTS.keepAliveIntervalMs,
  /** Shortest `static options.keepAliveIntervalMs`. */
  minKeepAliveIntervalMs: FIBER_OPTION_DEFAULTS.minKeepAliveIntervalMs,
  /** `listFibers` returns at most this many (default 50). */
  maxListedFibers: 100,
  /** `deleteFibers` removes at most this many per call (default 100). */
  maxDeletedFibers: 500,
} as const;

/** The wait before recovery attempt `attempt + 1`: 1 s, 2 s, 4 s … up to maxFiberRecoveryBackoffMs. */
export function recoveryBackoff(attempt: number): number {
  return Math.min(FIBER_LIMITS.maxFiberRecoveryBackoffMs, 1000 * 2 ** Math.min(20, Math.max(0, attempt - 1)));
}
