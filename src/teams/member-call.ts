/**
 * A member call: once per path in a run (its journaled result after a restart), bounded by the
 * delegation depth, with the member's estimate reserved from the budget; under the `ask` policy a
 * call that does not fit waits for a person to grant more.
 */
import { BudgetExceededError } from "./budget.ts";
import { askForBudget } from "./approvals.ts";
import type { MemberCallContext, TeamMember } from "./member.ts";
import type { StepNode } from "./nodes.ts";
import { at } from "./places.ts";
import { effect, raceSignal, type RunScope, type StepPlace } from "./scope.ts";

/** Calls a member once for this path (its journaled result after a restart). */
export function callMember(scope: RunScope, member: TeamMember, input: unknown, place: StepPlace, limits?: StepNode["options"]["limits"]): Promise<unknown> {
  if (place.depth > scope.budget.limits.depth) {
    throw new BudgetExceededError("depth", `Team run budget exhausted: delegation depth ${place.depth} is over the limit of ${scope.budget.limits.depth}`);
  }
  const work = {
    kind: "member",
    ...(limits ? { limits } : {}),
    estimate: { ...member.estimate, ...(limits?.tokens !== undefined ? { tokens: limits.tokens } : {}) },
    run: async (signal: AbortSignal) => {
      const context: MemberCallContext = {
        runId: scope.runId,
        path: place.path,
        idempotencyKey: `${scope.runId}:${place.path}`,
        signal,
        owner: scope.owner,
        emit: (event) => void scope.emit("member-event", place.path, { member: member.name, ...event }),
      };
      return raceSignal(member.call(input, context), signal);
    },
  };
  return withBudgetRequests(scope, place, () => effect(scope, place, work));
}

/**
 * Under the `ask` policy, a call the budget cannot fit waits for a person to grant more (an approval
 * of kind "budget" whose value is the extension, e.g. `{ tokens: 50_000 }`), then runs.
 */
async function withBudgetRequests<T>(scope: RunScope, place: StepPlace, run: () => Promise<T>): Promise<T> {
  for (let request = 1; ; request++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof BudgetExceededError) || scope.policy !== "ask" || scope.steps.get(place.path)) throw error;
      const extension = await askForBudget(scope, error, at(place, `budget-${request}`));
      scope.budget.extend(error.limit, extension as Parameters<typeof scope.budget.extend>[1]);
    }
  }
}
