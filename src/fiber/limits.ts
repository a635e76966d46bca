/**
 * The limits of fibers, with their defaults. Each is documented in docs/limits.md ("Fibers") and
 * each error names the limit.
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
  /** Calls of `onFiberRecovered` for one fiber (a call whose process crashed counts) before it is given up. */
  fiberRecoveryAttempts: 5,
  /** Longest wait before a failed recovery is tried again (the wait doubles from 1 s up to this). */
  maxFiberRecoveryBackoffMs: 5 * 60_000,
  /** How often the host wakes an agent while it runs fibers, hence the latest a crash's recovery starts. */
  keepAliveIntervalMs: 30_000,
  /** Shortest `static options.keepAliveIntervalMs`. */
  minKeepAliveIntervalMs: 10,
  /** `listFibers` returns at most this many (default 50). */
  maxListedFibers: 100,
  /** `deleteFibers` removes at most this many per call (default 100). */
  maxDeletedFibers: 500,
} as const;

const intervals = new WeakMap<object, number>();

/**
 * The class's `static options.keepAliveIntervalMs` (the Agents SDK's option), or the default. While
 * a fiber runs the host wakes the agent this often, so after a crash its recovery starts within it.
 * A bad value fails loudly, naming the option.
 */
export function keepAliveIntervalOf(agentClass: object): number {
  let interval = intervals.get(agentClass);
  if (interval === undefined) {
    const options = (agentClass as { options?: { keepAliveIntervalMs?: unknown } }).options;
    const raw = typeof options === "object" && options !== null ? options.keepAliveIntervalMs : undefined;
    if (raw !== undefined && (typeof raw !== "number" || !Number.isFinite(raw) || raw < FIBER_LIMITS.minKeepAliveIntervalMs)) {
      const name = (agentClass as { name?: string }).name ?? "agent";
      throw new RangeError(
        `${name}.options.keepAliveIntervalMs must be a number of milliseconds >= ${FIBER_LIMITS.minKeepAliveIntervalMs} (minKeepAliveIntervalMs), got ${String(raw)}`,
      );
    }
    interval = raw ?? FIBER_LIMITS.keepAliveIntervalMs;
    intervals.set(agentClass, interval);
  }
  return interval;
}

/** The wait before recovery attempt `attempt + 1`: 1 s, 2 s, 4 s … up to maxFiberRecoveryBackoffMs. */
export function recoveryBackoff(attempt: number): number {
  return Math.min(FIBER_LIMITS.maxFiberRecoveryBackoffMs, 1000 * 2 ** Math.min(20, Math.max(0, attempt - 1)));
}
