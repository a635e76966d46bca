/**
 * Approvals: a journaled leaf that is done (its value), rejected (it fails), or not yet given — then it
 * is written as waiting and the run suspends (siblings in a parallel branch go on). A budget request
 * (the `ask` policy) is an approval whose value is the extension.
 */
import { BudgetExceededError, extendLimits, resolveLimits, type TeamLimits } from "./budget.ts";
import { ApprovalRejectedError, RunSuspended, type PendingApproval } from "./errors.ts";
import type { ApprovalNode } from "./nodes.ts";
import { at } from "./places.ts";
import type { StepRecord, TeamJournal } from "./journal.ts";
import type { RunScope, StepPlace } from "./scope.ts";

/**
 * An approval: done (its value), rejected (fails), or not yet given — then it is journaled as waiting
 * and the run suspends (siblings in a parallel branch go on).
 */
export async function waitForApproval(scope: RunScope, node: ApprovalNode, input: unknown, place: StepPlace, kind: PendingApproval["kind"] = "step"): Promise<unknown> {
  const record = scope.steps.get(place.path);
  if (record?.status === "done") return record.output;
  // Withdrawn (its branch was moved past): on a replay it waits as it did then, and the sibling's
  // recorded failure moves the run past it again (see withdrawApprovals).
  if (record?.status === "failed" && record.error?.name === WITHDRAWN) throw new RunSuspended([{ path: place.path, prompt: "", kind }]);
  if (record?.status === "failed") throw new ApprovalRejectedError(record.error?.message ?? "rejected");
  const prompt = record?.status === "waiting" ? (record.output as { prompt: string }).prompt : node.prompt(input);
  if (!record) {
    const waiting = { path: place.path, kind: `approval:${kind}`, status: "waiting" as const, output: { prompt, input }, at: scope.now() };
    scope.steps.set(place.path, waiting);
    scope.journal.writeStep(scope.runId, waiting);
    scope.emit("approval-requested", place.path, { prompt, kind });
    await scope.journal.committed();
  }
  throw new RunSuspended([{ path: place.path, prompt, kind }]);
}

/** The error a withdrawn approval's row carries. */
const WITHDRAWN = "ApprovalWithdrawnError";

/**
 * Approvals of branches the run moved past (a sibling branch failed): settled as withdrawn, so none
 * is offered or can be answered any more (answering one ran what came after it in an abandoned branch).
 */
export function withdrawApprovals(scope: RunScope, approvals: readonly PendingApproval[], why: string): void {
  for (const { path } of approvals) {
    const row = scope.steps.get(path);
    if (row?.status !== "waiting") continue;
    const withdrawn: StepRecord = { path, kind: row.kind, status: "failed", error: { name: WITHDRAWN, message: why }, at: scope.now() };
    scope.steps.set(path, withdrawn);
    scope.journal.writeStep(scope.runId, withdrawn);
    scope.emit("approval-resolved", path, { withdrawn: true });
  }
}

/** Asks for a budget extension (the `ask` policy); resolves with the extension once approved. */
export function askForBudget(scope: RunScope, error: BudgetExceededError, place: StepPlace): Promise<unknown> {
  return waitForApproval(scope, { kind: "approval", prompt: () => `${error.message}. Approve to extend the ${error.limit} budget.` }, { limit: error.limit }, at(place, "budget"), "budget");
}

/**
 * After a call spent more than it reserved: under the `ask` policy a run's limit it crossed is an
 * approval of kind "budget" (the call's output is kept; the run goes on once granted), otherwise the
 * run fails. A step replayed from the journal (`fresh` false) only waits again for the requests it
 * made: spend journaled after it is not its own.
 */
export async function settleOverspend(scope: RunScope, place: StepPlace, fresh: boolean, limits?: TeamLimits, member?: string): Promise<void> {
  for (let request = 1; ; request++) {
    const asked = at(place, `overspent-${request}`);
    const approvalPlace = at(asked, "budget");
    if (scope.steps.has(approvalPlace.path)) {
      // Granted: go on (the grant is in the run's limits); waiting or rejected: this throws.
      await waitForApproval(scope, { kind: "approval", prompt: () => "" }, null, approvalPlace, "budget");
      continue;
    }
    if (!fresh) return;
    try {
      scope.budget.checkSpent(limits, member);
      return;
    } catch (error) {
      // A member's own limit is not the run's: an extension of the run's limits could never fit it.
      if (!(error instanceof BudgetExceededError) || scope.policy !== "ask" || error.member !== undefined) throw error;
      await askForBudget(scope, error, asked);
    }
  }
}

/** A budget grant as journaled: the extension given, the limit that ran out, and whether the run's limits hold it. */
type Grant = TeamLimits & { limit?: keyof TeamLimits; inLimits?: boolean };

/**
 * Saves a granted extension into run `runId`'s limits (in the same write as the grant's approval, so
 * one is never without the other); returns the grant to journal, marked as saved. An execution that
 * starts later reads its limits, extensions included.
 */
export function saveGrant(journal: TeamJournal, runId: string, grant: Grant): Grant {
  const record = journal.run(runId);
  if (!record) throw new Error(`No team run ${runId} on this agent`);
  journal.setLimits(runId, extendLimits(resolveLimits(record.limits as TeamLimits), grant.limit, grant));
  return { ...grant, inLimits: true };
}

/**
 * Saves into the run's limits the grants an older version journaled in their approvals only (it
 * applied them again at every execution), in the order they were given; marked, they are saved once.
 * Returns the limits in force.
 */
export function saveEarlierGrants(journal: TeamJournal, runId: string, steps: Map<string, StepRecord>, limits: Required<TeamLimits>): Required<TeamLimits> {
  const earlier = [...steps.values()].filter((step) => step.kind === "approval:budget" && step.status === "done" && !(step.output as Grant | null)?.inLimits);
  if (earlier.length === 0) return limits;
  earlier.sort((a, b) => a.at - b.at || (a.path < b.path ? -1 : 1));
  let extended = limits;
  for (const step of earlier) {
    const grant = (step.output ?? {}) as Grant;
    extended = extendLimits(extended, grant.limit, grant);
    const saved = { ...step, output: { ...grant, inLimits: true } };
    steps.set(step.path, saved);
    journal.writeStep(runId, saved);
  }
  journal.setLimits(runId, extended);
  return extended;
}
