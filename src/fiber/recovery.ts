import type { FiberRow, FiberStore } from "./fiber-store.ts";
import { FIBER_LIMITS, recoveryBackoff } from "./limits.ts";
import type { FiberRecoveryContext, FiberRecoveryResult } from "./types.ts";
import { messageOf } from "../agent/rpc.ts";
import { encodeResult, isObject, parse } from "./validate.ts";

export interface RecoveryDeps {
  store: FiberStore;
  now: () => number;
  /** True for fibers whose function runs in this instance (started by onStart, say): not interrupted. */
  isRunning: (id: string) => boolean;
  /** The agent's onFiberRecovered. */
  hook: (ctx: FiberRecoveryContext) => Promise<void | FiberRecoveryResult> | void | FiberRecoveryResult;
  report: (error: unknown) => void;
  /** A startFiber fiber settled (wakes callers waiting for it). */
  settled: (id: string) => void;
  /** "Class/name", for messages. */
  where: string;
}

/**
 * Start-up recovery. Fibers recorded as running whose function does not run here were interrupted:
 * the process that ran them ended (a crash, a kill, a shutdown). Each due one is handed to the hook,
 * one at a time, oldest first. The attempt is counted and committed before the hook runs, so a hook
 * that kills the process counts as well, and after fiberRecoveryAttempts the fiber is given up instead
 * of being recovered (and killing the process) forever.
 */
export async function recoverFibers(deps: RecoveryDeps): Promise<void> {
  const { store } = deps;
  const now = deps.now();
  for (const row of store.unfinished()) {
    if (!deps.isRunning(row.id)) store.markInterrupted(row.id, now);
  }
  for (const row of store.dueForRecovery(now)) {
    try {
      await recoverOne(deps, row);
    } catch (error) {
      // Storage failed (the agent is being destroyed, the disk is full): the rest wait for the next start.
      deps.report(new Error(`${deps.where}: recovering fiber "${row.name}" (${row.id}) failed: ${messageOf(error)}`, { cause: error }));
      return;
    }
  }
}

async function recoverOne(deps: RecoveryDeps, row: FiberRow): Promise<void> {
  const { store } = deps;
  const limit = FIBER_LIMITS.fiberRecoveryAttempts;
  const label = `${deps.where}: fiber "${row.name}" (${row.id})`;
  if (row.recovery_attempts >= limit) {
    giveUp(deps, row, `${label} was given up: onFiberRecovered did not finish in ${limit} attempts (fiberRecoveryAttempts)${row.error ? `; last error: ${row.error}` : ""}`);
    return;
  }
  store.countRecoveryAttempt(row.id);
  const attempt = row.recovery_attempts + 1;
  let result: void | FiberRecoveryResult;
  try {
    result = await deps.hook(contextOf(row));
  } catch (error) {
    const message = messageOf(error);
    if (attempt >= limit) {
      giveUp(deps, { ...row, error: message }, `${label}: onFiberRecovered threw in attempt ${attempt} of ${limit} (fiberRecoveryAttempts), given up: ${message}`, error);
      return;
    }
    const retryAt = deps.now() + recoveryBackoff(attempt);
    store.recoveryFailed(row.id, message, retryAt);
    deps.report(
      new Error(`${label}: onFiberRecovered threw (attempt ${attempt} of ${limit}); tried again at the agent's next start from ${new Date(retryAt).toISOString()}: ${message}`, {
        cause: error,
      }),
    );
    return;
  }
  if (!row.managed) {
    store.delete(row.id);
    return;
  }
  if (result === undefined || result === null) {
    store.recovered(row.id); // stays interrupted, for inspection or resolveFiber
  } else {
    try {
      store.recovered(row.id, encodeResult("onFiberRecovered() returned an invalid result", result), deps.now());
    } catch (error) {
      store.recovered(row.id);
      deps.report(new Error(`${label}: ${messageOf(error)}; the fiber stays interrupted`, { cause: error }));
    }
  }
  deps.settled(row.id);
}

/** No more attempts: a runFiber row goes, a startFiber row stays interrupted with the reason. */
function giveUp(deps: RecoveryDeps, row: FiberRow, message: string, cause?: unknown): void {
  if (row.managed) deps.store.recoveryFailed(row.id, row.error ?? message, null);
  else deps.store.delete(row.id);
  deps.report(new Error(message, cause === undefined ? undefined : { cause }));
  deps.settled(row.id);
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
