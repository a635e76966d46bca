/**
 * The errors a team run ends with, and the signals that stop a run without ending it. After a
 * restart a journaled error is known by its name and message only: the engine makes a
 * {@link TeamStepError} of it, which keeps both.
 */
import type { StepErrorInfo } from "./nodes.ts";

/** A journaled failure, thrown again when a resumed run reaches the step that failed. */
export class TeamStepError extends Error {
  constructor(info: StepErrorInfo) {
    super(info.message);
    this.name = info.name;
  }
}

/** A step took longer than its timeoutMs. */
export class StepTimeoutError extends Error {
  override readonly name = "StepTimeoutError";
}

/** A loop reached maxIterations without its exit condition holding. */
export class LoopLimitError extends Error {
  override readonly name = "LoopLimitError";
}

/** A person rejected an approval. */
export class ApprovalRejectedError extends Error {
  override readonly name = "ApprovalRejectedError";
}

/** A route, handoff or supervisor named something that does not exist. */
export class TeamRoutingError extends Error {
  override readonly name = "TeamRoutingError";
}

/** The run was cancelled; `message` is the reason. */
export class TeamRunCancelledError extends Error {
  override readonly name = "TeamRunCancelledError";
}

/** An approval the run waits for (its path identifies it). */
export interface PendingApproval {
  path: string;
  prompt: string;
  kind: "step" | "budget";
}

/** Not a failure: the run waits for approvals and stops until they are given. */
export class RunSuspended extends Error {
  override readonly name = "RunSuspended";
  readonly approvals: PendingApproval[];
  constructor(approvals: PendingApproval[]) {
    super(`The team run waits for ${approvals.length} approval(s)`);
    this.approvals = approvals;
  }
}

/** Not a failure: the run was paused or cancelled while this step ran. */
export class RunStopped extends Error {
  override readonly name = "RunStopped";
  readonly how: "pause" | "cancel" | "wallMs";
  readonly reason: string;
  constructor(how: "pause" | "cancel" | "wallMs", reason: string) {
    super(reason);
    this.how = how;
    this.reason = reason;
  }
}

/** Errors no retry or fallback should catch: the run is stopping or a budget ran out. */
export function isFinal(error: unknown): boolean {
  if (error instanceof RunSuspended || error instanceof RunStopped) return true;
  const name = (error as { name?: unknown } | null)?.name;
  return name === "BudgetExceededError" || name === "ApprovalRejectedError" || name === "TeamRunCancelledError";
}

/** The name and message of anything thrown. */
export function errorInfo(error: unknown): StepErrorInfo {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}
