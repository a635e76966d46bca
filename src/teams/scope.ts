/**
 * What every step of one run shares while the run executes: the journal and what it already holds,
 * the budget, the run's stop signal and its event stream. `effect` is the one place work is done:
 * a step journaled as done is never done again.
 */
import { settleOverspend } from "./approvals.ts";
import { type ExhaustedPolicy, type RunBudget, type TeamLimits } from "./budget.ts";
import { errorInfo, RunStopped, RunSuspended, TeamStepError } from "./errors.ts";
import type { StepRecord, TeamEvent, TeamJournal } from "./journal.ts";
import type { MemberUsage } from "./member.ts";
import type { TeamNode } from "./nodes.ts";
import type { StepPlace } from "./places.ts";
import type { Scratchpad } from "./scratchpad.ts";
import type { Clock } from "../time/clock.ts";
import { addUsage } from "./usage.ts";

// Where a step is, and a child's path, live in places.ts (the approvals this module calls need them too).
export { childPath, type StepPlace } from "./places.ts";

/** The shared state of one executing run. */
export interface RunScope {
  readonly runId: string;
  readonly team: string;
  /** The agent that owns the run. */
  readonly owner: object;
  readonly journal: TeamJournal;
  /** What the journal held when this execution started, plus what it wrote since. */
  readonly steps: Map<string, StepRecord>;
  readonly budget: RunBudget;
  readonly policy: ExhaustedPolicy;
  /** Aborted with a {@link RunStopped} when the run is paused, cancelled or out of wall time. */
  readonly signal: AbortSignal;
  readonly conversation: string | undefined;
  /** The run's scratchpad: step outputs saved by key (rebuilt by the walk when a run resumes). */
  readonly scratch: Scratchpad;
  /** The owner's clock: wall time, step timeouts and retry backoff all run on it (virtual in tests). */
  readonly clock: Clock;
  now(): number;
  emit(type: string, path: string | undefined, data?: unknown): TeamEvent;
}

/** Runs a node at a place: the tree walk, handed to the pattern modules (which it imports). */
export type Execute = (scope: RunScope, node: TeamNode, input: unknown, place: StepPlace) => Promise<unknown>;

/** Throws the run's stop reason if it is stopping. */
export function checkRunning(scope: RunScope, place: StepPlace): void {
  if (scope.signal.aborted) throw stopReason(scope);
  if (place.signal.aborted) throw place.signal.reason instanceof Error ? place.signal.reason : new Error(String(place.signal.reason));
}

/** A unit of work: what it may spend, and the work itself. */
export interface Effect<T> {
  kind: string;
  /** Reserved before the call: tokens (default the run's reserveTokens), model, tool calls. */
  estimate?: { tokens?: number; model?: string; toolCalls?: number };
  /** The member called, whose own limits (`limits`) count all its calls in the run. */
  member?: string;
  /** The member's own limits in this run. */
  limits?: TeamLimits;
  /** Whether it counts as a call against the budget (decisions do not). Default true. */
  counts?: boolean;
  /** Its output goes into the step-finished event too (a decision watchers want to see). */
  report?: boolean;
  /** What the step received (a member call's input): journaled when it starts, for people to read. */
  input?: unknown;
  /** `report` takes usage as it is spent: counted if the work fails, or returns without `usage`. */
  run(signal: AbortSignal, report: (usage: MemberUsage) => void): Promise<{ output: T; usage?: MemberUsage }>;
}

/**
 * Does `effect` once per run: if the journal has its result, returns (or throws) that; otherwise
 * reserves budget, runs it, journals the outcome, waits for the commit, and only then returns.
 */
export async function effect<T>(scope: RunScope, place: StepPlace, work: Effect<T>): Promise<T> {
  const done = scope.steps.get(place.path);
  if (done?.status === "done") {
    await settleOverspend(scope, place, false);
    return done.output as T;
  }
  if (done?.status === "failed") throw new TeamStepError(done.error ?? { name: "Error", message: "failed" });
  checkRunning(scope, place);
  const counts = work.counts !== false;
  const reservation = counts ? scope.budget.reserve(work.estimate ?? {}, work.limits, work.member) : undefined;
  scope.emit("step-started", place.path, { kind: work.kind });
  if ("input" in work) scope.journal.writeStepInput(scope.runId, place.path, work.input);
  let reported: MemberUsage | undefined;
  const report = (usage: MemberUsage) => void (reported = addUsage(reported, usage));
  let result: { output: T; usage?: MemberUsage };
  try {
    result = await work.run(place.signal, report);
  } catch (error) {
    if (reservation) scope.budget.release(reservation);
    if (error instanceof RunSuspended) throw error;
    // A stop is not the step's failure: the step runs again when the run resumes. What it reported
    // before the stop was spent all the same, so it is journaled on a row of its own.
    if (scope.signal.aborted) {
      if (reported && counts) await journalInterrupted(scope, place, work, reported);
      throw stopReason(scope);
    }
    const info = errorInfo(error);
    // What it spent before it failed was spent all the same: journaled with the failure, so the budget
    // (rebuilt from the journal when the run resumes) and the usage totals count it.
    const spent = reported;
    const record: StepRecord = { path: place.path, kind: work.kind, ...(work.member !== undefined ? { member: work.member } : {}), status: "failed", error: info, ...(spent ? { usage: spent } : {}), at: scope.now() };
    if (counts) scope.budget.record(spent, work.member);
    scope.steps.set(place.path, record);
    scope.journal.writeStep(scope.runId, record);
    scope.emit("step-failed", place.path, { kind: work.kind, error: info, ...(spent ? { usage: spent } : {}) });
    await scope.journal.committed();
    throw error;
  }
  if (reservation) scope.budget.release(reservation);
  const usage = result.usage ?? reported;
  const record: StepRecord = {
    path: place.path,
    kind: work.kind,
    ...(work.member !== undefined ? { member: work.member } : {}),
    status: "done",
    output: result.output,
    ...(usage ? { usage } : {}),
    at: scope.now(),
  };
  if (counts) scope.budget.record(usage, work.member);
  scope.steps.set(place.path, record);
  scope.journal.writeStep(scope.runId, record);
  scope.emit("step-finished", place.path, { kind: work.kind, ...(usage ? { usage } : {}), ...(work.report ? { output: result.output } : {}) });
  await scope.journal.committed();
  await settleOverspend(scope, place, true, work.limits, work.member);
  return result.output;
}

/**
 * Journals what a call that was stopped (pause, cancel, wall time) reported: a failed row beside the
 * step, which the budget and the usage totals count (and a resumed run rebuilds from), while the step's
 * own path stays free to run again. `childPath` writes a name's "%" as "%25", so a segment of the
 * form "%stopped-N" is never a step's.
 */
async function journalInterrupted(scope: RunScope, place: StepPlace, work: Effect<unknown>, spent: MemberUsage): Promise<void> {
  let n = 1;
  while (scope.steps.has(`${place.path}/%stopped-${n}`)) n++;
  const reason = stopReason(scope);
  const record: StepRecord = {
    path: `${place.path}/%stopped-${n}`,
    kind: work.kind,
    ...(work.member !== undefined ? { member: work.member } : {}),
    status: "failed",
    error: { name: "RunStopped", message: reason.reason },
    usage: spent,
    at: scope.now(),
  };
  scope.budget.record(spent, work.member);
  scope.steps.set(record.path, record);
  scope.journal.writeStep(scope.runId, record);
  scope.emit("step-stopped", place.path, { kind: work.kind, usage: spent });
  await scope.journal.committed();
}

function stopReason(scope: RunScope): RunStopped {
  const reason: unknown = scope.signal.reason;
  return reason instanceof RunStopped ? reason : new RunStopped("cancel", String(reason));
}

/**
 * A signal aborted when `parent` is or `ms` later on the owner's `clock` (with a StepTimeoutError);
 * `clear` stops the timer.
 */
export function withTimeout(clock: Clock, parent: AbortSignal, ms: number | undefined, makeError: () => Error): { signal: AbortSignal; clear: () => void; timedOut: () => boolean } {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener("abort", onAbort, { once: true });
  const cancelTimer =
    ms === undefined
      ? undefined
      : clock.setTimer(clock.now() + ms, () => {
          timedOut = true;
          controller.abort(makeError());
        });
  return {
    signal: controller.signal,
    clear: () => {
      cancelTimer?.();
      parent.removeEventListener("abort", onAbort);
    },
    timedOut: () => timedOut,
  };
}

/** Resolves with `promise`, or rejects when `signal` aborts (with its reason). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
