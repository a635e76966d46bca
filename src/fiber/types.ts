/**
 * The public shapes of fibers: the Agents SDK's names and fields, so code written for Cloudflare's
 * `runFiber` / `startFiber` / `onFiberRecovered` compiles unchanged.
 */

/**
 * What the function given to `runFiber` / `startFiber` receives.
 * @example
 * await this.runFiber("research", async (ctx) => {
 *   const found = await search(topic, { signal: ctx.signal });
 *   ctx.stash({ found });
 * });
 */
export interface FiberContext {
  /** This execution's id (the row in the agent's database). */
  id: string;
  /**
   * Aborted when the fiber is cancelled (`cancelFiber`) and when the agent leaves memory (its fiber is
   * then recovered at the next start); check it before visible side effects.
   */
  signal: AbortSignal;
  /**
   * Replaces the checkpoint with `data` (JSON); durable when it returns, or, while another event's
   * `ctx.storage.transaction()` closure is open, as soon as that closure ends.
   */
  stash(data: unknown): void;
  /** Always null while running; the last checkpoint reaches `onFiberRecovered` instead. */
  snapshot: unknown | null;
}

/**
 * Where a fiber is. `runFiber` rows exist only while they run; `startFiber` rows are kept after they
 * end, with one of the settled statuses.
 */
export type FiberStatus = "pending" | "running" | "completed" | "aborted" | "interrupted" | "error";

/** Options of `startFiber`. */
export interface StartFiberOptions {
  /** Your own id for the fiber (1-256 characters); a second start with it joins the first. */
  fiberId?: string;
  /** A deduplication key (1-256 characters), e.g. a webhook's delivery id; a second start with it joins the first. */
  idempotencyKey?: string;
  /** JSON kept with the fiber and handed to `onFiberRecovered`. */
  metadata?: Record<string, unknown>;
  /** Resolve only once the fiber has settled (completed, error, aborted or interrupted). */
  waitForCompletion?: boolean;
}

/** A `startFiber` fiber as stored. */
export interface FiberInspection {
  fiberId: string;
  name: string;
  idempotencyKey?: string;
  status: FiberStatus;
  /** The last checkpoint (`stash`), or the one a recovery recorded. */
  snapshot?: unknown;
  /** Why it failed, was aborted (the cancel reason) or why its recovery failed. */
  error?: string;
  metadata?: Record<string, unknown>;
  /** Epoch milliseconds. */
  createdAt: number;
  startedAt?: number;
  settledAt?: number;
}

/** What `startFiber` returns: the stored fiber, and whether this call created it. */
export type StartFiberResult = FiberInspection & {
  /** False when a fiber with the same `fiberId` or `idempotencyKey` existed: this call joined it. */
  accepted: boolean;
};

/** How an interrupted `startFiber` fiber ends, returned by `onFiberRecovered` or passed to `resolveFiber`. */
export type FiberRecoveryResult =
  | { status: "completed"; snapshot?: unknown; metadata?: Record<string, unknown> }
  | { status: "error"; error?: unknown; snapshot?: unknown }
  | { status: "aborted"; reason?: string; snapshot?: unknown }
  | { status: "interrupted"; reason?: string; snapshot?: unknown };

/** Filters of `listFibers`. */
export interface ListFibersOptions {
  status?: FiberStatus | FiberStatus[];
  name?: string;
  /** At most this many, newest first. Default 50, at most 100. */
  limit?: number;
}

/** Filters of `deleteFibers`. */
export interface DeleteFibersOptions {
  /** Settled statuses to delete. Default completed, error and aborted (interrupted only when named). */
  status?: FiberStatus | FiberStatus[];
  /** Only fibers that settled before this time. */
  settledBefore?: Date;
  /** At most this many, oldest first. Default 100, at most 500. */
  limit?: number;
}

/**
 * What `onFiberRecovered` receives for a fiber whose process ended while it ran (a crash, a restart,
 * a shutdown). The function itself is gone; the name, the checkpoint and the metadata are not.
 */
export interface FiberRecoveryContext {
  id: string;
  /** The name given to `runFiber` / `startFiber`. */
  name: string;
  /** "interrupted" for `startFiber` fibers; absent for `runFiber` ones. */
  status?: FiberStatus;
  idempotencyKey?: string;
  metadata?: Record<string, unknown> | null;
  /** The last `stash()`, or null when it never stashed. */
  snapshot: unknown | null;
  /** When the fiber started, epoch milliseconds: compare with `Date.now()` to skip stale work. */
  createdAt: number;
  recoveryReason: "interrupted";
}
