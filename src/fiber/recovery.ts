import { messageOf } from "../agent/rpc.ts";
import type { EventType, PayloadOf } from "../events/types.ts";
import type { FiberRow, FiberStore } from "./fiber-store.ts";
import { recoveryBackoff } from "./limits.ts";
import type { FiberRecoveryContext, FiberRecoveryResult } from "./types.ts";
import { encodeResult, isObject, parse } from "./validate.ts";
import { setTimeout } from "node:timers"; // the runtime's own: never an actor's timer (host/actor-timers.ts)

export interface RecoveryDeps {
  store: FiberStore;
  now: () => number;
  /** True for fibers whose function runs in this instance: not interrupted. */
  isRunning: (id: string) => boolean;
  /** The agent's onFiberRecovered. */
  hook: (ctx: FiberRecoveryContext) => Promise<void | FiberRecoveryResult> | void | FiberRecoveryResult;
  report: (error: unknown) => void;
  /** A startFiber fiber settled (wakes callers waiting for it). */
  settled: (id: string) => void;
  /** A recovery time changed outside a pass (a late hook settled): the host's wake-up must follow. */
  changed: () => void;
  /** Holds the agent in memory while a hook runs. */
  keepAlive: () => () => void;
  /** False once the agent left memory or was destroyed: a late hook's outcome is no longer recorded. */
  active: () => boolean;
  /** "Class/name", for messages. */
  where: string;
  /** `static options.fiberRecoveryMaxAgeMs`; 0: retried for ever. */
  maxAgeMs: number;
  /** `static options.fiberRecoveryScanDeadlineMs`; 0: no deadline. */
  deadlineMs: number;
  /** When fibers a pass did not reach in time are tried again (the keep-alive interval). */
  retryDelayMs: number;
  /** Emits an `agents:fiber` event of the agent (the payload is built only if someone listens). */
  emit: <T extends EventType>(type: T, payload: () => PayloadOf<T>) => void;
}

type Outcome = { result: void | FiberRecoveryResult } | { error: unknown };

/**
 * Recovery of interrupted fibers. Fibers recorded as running whose function does not run here were
 * interrupted: the process that ran them ended (a crash, a kill, a shutdown). A pass hands each due
 * one to the hook, one at a time, oldest first, at start-up (before onStart) and again whenever the
 * host wakes the live agent with recoveries due.
 *
 * Each call is recorded before it is made (committed): counted, and due again after a backoff (1 s,
 * doubling, at most 5 min), so a hook that kills the process or never settles is retried later, not
 * at once. A hook that throws is retried on the same backoff until the fiber is older than
 * `fiberRecoveryMaxAgeMs` (then a runFiber row is dropped; a startFiber record stays interrupted).
 *
 * A pass waits at most `fiberRecoveryScanDeadlineMs` in all: a hook still running then goes on
 * without the agent waiting for it (its outcome is recorded when it settles), and the fibers not
 * reached are due again one keep-alive interval later. The records say what is left, so a crash in
 * between loses nothing.
 */
export class FiberRecovery {
  readonly #deps: RecoveryDeps;
  /** Fibers whose hook is running (possibly past a pass's deadline): never called twice at once. */
  readonly #inFlight = new Set<string>();
  #passing = false;

  constructor(deps: RecoveryDeps) {
    this.#deps = deps;
  }

  /** Fibers whose hook is running here. */
  get inFlight(): ReadonlySet<string> {
    return this.#inFlight;
  }

  /** True when fibers are due for recovery and no pass is under way to recover them. */
  hasDue(now: number): boolean {
    return !this.#passing && this.#due(now).length > 0;
  }

  async pass(): Promise<void> {
    if (this.#passing) return;
    this.#passing = true;
    try {
      const { store } = this.#deps;
      const now = this.#deps.now();
      const interrupted = store.unfinished().filter((row) => !this.#deps.isRunning(row.id));
      for (const row of interrupted) store.markInterrupted(row.id, now);
      if (interrupted.length > 0) store.commit();
      for (const row of interrupted) {
        const detected = () => ({ ...fiberOf(row), recoveryReason: "interrupted" as const, elapsedMs: now - row.created_at });
        this.#deps.emit("fiber:recovery:detected", detected);
        this.#deps.emit("fiber:run:interrupted", detected);
      }
      const due = this.#due(now);
      const { deadlineMs } = this.#deps;
      const deadline = deadlineMs > 0 ? performance.now() + deadlineMs : Number.POSITIVE_INFINITY;
      for (let i = 0; i < due.length; i++) {
        if (i > 0 && performance.now() >= deadline) {
          this.#defer(due.slice(i));
          return;
        }
        if (!(await this.#attempt(due[i]!, deadline))) {
          this.#defer(due.slice(i + 1));
          return;
        }
      }
    } finally {
      this.#passing = false;
    }
  }

  /** One call of the hook; false when it has not settled by the deadline (it goes on by itself). */
  async #attempt(row: FiberRow, deadline: number): Promise<boolean> {
    const deps = this.#deps;
    const now = deps.now();
    if (row.recovery_attempts > 0 && this.#expired(row, now)) {
      this.#giveUp(row, row.error);
      return true;
    }
    const attempt = row.recovery_attempts + 1;
    deps.store.beginRecoveryAttempt(row.id, now + recoveryBackoff(attempt));
    deps.store.commit();
    deps.emit("fiber:recovery:attempt", () => ({ ...fiberOf(row), recoveryReason: "interrupted" }));
    this.#inFlight.add(row.id);
    const release = deps.keepAlive();
    const call = (async () => deps.hook(contextOf(row)))();
    const done = call
      .then(
        (result) => this.#record(row, attempt, now, { result }),
        (error: unknown) => this.#record(row, attempt, now, { error }),
      )
      .catch((error: unknown) => deps.report(new Error(`${label(deps, row)}: its recovery could not be recorded: ${messageOf(error)}`, { cause: error })))
      .finally(() => {
        this.#inFlight.delete(row.id);
        release();
      });
    if (deadline === Number.POSITIVE_INFINITY) {
      await done;
      return true;
    }
    if (await settlesWithin(done, deadline - performance.now())) return true;
    deps.report(
      new Error(
        `${label(deps, row)}: onFiberRecovered has not settled within fiberRecoveryScanDeadlineMs (${deps.deadlineMs} ms); ` +
          "the agent goes on without waiting for it. Its outcome is recorded when it settles; if it never does, the fiber is recovered again at the agent's next start",
      ),
    );
    return false;
  }

  #record(row: FiberRow, attempt: number, startedAt: number, outcome: Outcome): void {
    const deps = this.#deps;
    if (!deps.active()) return; // the storage is closed: the fiber is recovered at the next start
    const { store } = deps;
    const now = deps.now();
    if ("error" in outcome) {
      const message = messageOf(outcome.error);
      deps.emit("fiber:recovery:failed", () => ({ fiberId: row.id, fiberName: row.name, error: message, elapsedMs: now - startedAt, reason: "handler_error" }));
      if (this.#expired(row, now)) {
        this.#giveUp({ ...row, recovery_attempts: attempt }, message, outcome.error);
        return;
      }
      const retryAt = now + recoveryBackoff(attempt);
      store.recoveryFailed(row.id, message, retryAt);
      store.commit();
      deps.changed();
      deps.report(
        new Error(`${label(deps, row)}: onFiberRecovered threw (attempt ${attempt}); tried again from ${new Date(retryAt).toISOString()}: ${message}`, {
          cause: outcome.error,
        }),
      );
      return;
    }
    const { result } = outcome;
    deps.emit("fiber:recovery:handled", () => ({ ...fiberOf(row), status: row.managed ? "managed" : "user", elapsedMs: now - startedAt }));
    if (!row.managed) store.delete(row.id);
    else if (result === undefined || result === null) store.recovered(row.id); // stays interrupted, for inspection or resolveFiber
    else {
      try {
        store.recovered(row.id, encodeResult("onFiberRecovered() returned an invalid result", result), now);
      } catch (error) {
        store.recovered(row.id);
        deps.report(new Error(`${label(deps, row)}: ${messageOf(error)}; the fiber stays interrupted`, { cause: error }));
      }
    }
    store.commit();
    deps.changed();
    deps.settled(row.id);
  }

  /** Fibers whose recovery is due and not already under way, oldest first. */
  #due(now: number): FiberRow[] {
    return this.#deps.store.dueForRecovery(now).filter((row) => !this.#inFlight.has(row.id));
  }

  #expired(row: FiberRow, now: number): boolean {
    return this.#deps.maxAgeMs > 0 && now - row.created_at > this.#deps.maxAgeMs;
  }

  /** Too old to try again: a runFiber row goes, a startFiber record stays interrupted with the reason. */
  #giveUp(row: FiberRow, lastError: string | null, cause?: unknown): void {
    const deps = this.#deps;
    const message =
      `${label(deps, row)} was given up: onFiberRecovered did not succeed within fiberRecoveryMaxAgeMs (${deps.maxAgeMs} ms) ` +
      `of the fiber's start, in ${row.recovery_attempts} attempts${lastError ? `; last error: ${lastError}` : ""}`;
    deps.emit("fiber:recovery:skipped", () => ({ ...fiberOf(row), reason: "max_age_exceeded", elapsedMs: deps.now() - row.created_at }));
    if (row.managed) deps.store.recoveryFailed(row.id, lastError ?? message, null);
    else deps.store.delete(row.id);
    deps.store.commit();
    deps.report(new Error(message, cause === undefined ? undefined : { cause }));
    deps.settled(row.id);
  }

  /** Fibers a pass did not reach before its deadline: due again one interval later. */
  #defer(rows: readonly FiberRow[]): void {
    if (rows.length === 0) return;
    const deps = this.#deps;
    const at = deps.now() + deps.retryDelayMs;
    deps.store.deferRecovery(
      rows.map((row) => row.id),
      at,
    );
    deps.store.commit();
    for (const row of rows) deps.emit("fiber:recovery:skipped", () => ({ ...fiberOf(row), reason: "scan_deadline_exceeded" }));
    deps.report(
      new Error(
        `${deps.where}: recovering fibers took longer than fiberRecoveryScanDeadlineMs (${deps.deadlineMs} ms); ` +
          `${rows.length} more (${rows.map((row) => JSON.stringify(row.name)).join(", ")}) are recovered from ${new Date(at).toISOString()}`,
      ),
    );
  }
}

/** The fields every fiber event starts with. */
function fiberOf(row: FiberRow): { fiberId: string; fiberName: string; managed: boolean } {
  return { fiberId: row.id, fiberName: row.name, managed: row.managed === 1 };
}

function label(deps: RecoveryDeps, row: FiberRow): string {
  return `${deps.where}: fiber "${row.name}" (${row.id})`;
}

/** True if `promise` settles within `ms` milliseconds of real time (a stuck hook is stuck in this world). */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  return Promise.race([promise.then(() => true as const), expired]).finally(() => clearTimeout(timer));
}

function contextOf(row: FiberRow): FiberRecoveryContext {
  const metadata = parse(row.metadata);
  return {
    id: row.id,
    name: row.name,
    ...(row.managed ? { status: "interrupted" as const, metadata: isObject(metadata) ? metadata : null } : {}),
    ...(row.idempotency_key === null ? {} : { idempotencyKey: row.idempotency_key }),
    snapshot: parse(row.snapshot) ?? null,
    createdAt: row.created_at,
    recoveryReason: "interrupted",
  };
}
