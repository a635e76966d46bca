/**
 * Approvals: a journaled leaf that is done (its value), rejected (it fails), or not yet given — then it
 * is written as waiting and the run suspends (siblings in a parallel branch go on). A budget request
 * (the `ask` policy) is an approval whose value is the extension.
 */
import type { BudgetExceededError, RunBudget, TeamLimits } from "./budget.ts";
import { ApprovalRejectedError, RunSuspended, type PendingApproval } from "./errors.ts";
import type { ApprovalNode } from "./nodes.ts";
import { at } from "./places.ts";
import type { StepRecord } from "./journal.ts";
import type { RunScope, StepPlace } from "./scope.ts";

/**
 * An approval: done (its value), rejected (fails), or not yet given — then it is journaled as waiting
 * and the run suspends (siblings in a parallel branch go on).
 */
export async function waitForApproval(scope: RunScope, node: ApprovalNode, input: unknown, place: StepPlace, kind: PendingApproval["kind"] = "step"): Promise<unknown> {
  const record = scope.steps.get(place.path);
  if (record?.status === "done") return record.output;
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

/** Asks for a budget extension (the `ask` policy); resolves with the extension once approved. */
export function askForBudget(scope: RunScope, error: BudgetExceededError, place: StepPlace): Promise<unknown> {
  return waitForApproval(scope, { kind: "approval", prompt: () => `${error.message}. Approve to extend the ${error.limit} budget.` }, { limit: error.limit }, at(place, "budget"), "budget");
}

/**
 * Applies every budget extension granted so far, in the order they were granted. Done once when an
 * execution starts: every grant is journaled before the run goes on (an approval relaunches it), so a
 * grant whose call finished long ago still holds after the run waited, paused or restarted.
 */
export function applyGrantedBudgets(budget: RunBudget, steps: ReadonlyMap<string, StepRecord>): void {
  const granted = [...steps.values()].filter((step) => step.kind === "approval:budget" && step.status === "done");
  granted.sort((a, b) => a.at - b.at || (a.path < b.path ? -1 : 1));
  for (const step of granted) {
    const output = step.output as (TeamLimits & { limit?: keyof TeamLimits }) | null | undefined;
    budget.extend(output?.limit, output ?? undefined);
  }
}
