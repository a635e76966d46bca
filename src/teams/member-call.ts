/**
 * A member call: once per path in a run (its journaled result after a restart), bounded by the
 * delegation depth, with the member's estimate reserved from the budget; under the `ask` policy a
 * call that does not fit waits for a person to grant more.
 */
import { HANDLE } from "../agent/agent-base.ts";
import type { AgentTasks } from "../schedule/agent-tasks.ts";
import { BudgetExceededError } from "./budget.ts";
import { RunSuspended } from "./errors.ts";
import type { StepRecord } from "./journal.ts";
import { NESTED_CHECK_TASK } from "./live.ts";
import { CHILD_RUN_KIND, decidedIn, NESTED_SEPARATOR, NestedSuspended, type NestedDecision } from "./team-member.ts";
import { askForBudget } from "./approvals.ts";
import type { MemberCallContext, MemberEvent, MemberUsage, TeamMember } from "./member.ts";
import type { StepNode } from "./nodes.ts";
import { at } from "./places.ts";
import { effect, raceSignal, type RunScope, type StepPlace } from "./scope.ts";
import { traceTeamStep } from "../observability/traces/hooks.ts";

/** JSON characters one member event's `data` may hold (documented in docs/limits.md). */
export const MAX_MEMBER_EVENT_CHARS = 262_144;
/** Events one run may store; member events past it are refused (the engine's own are bounded by `calls`). */
export const MAX_RUN_EVENTS = 100_000;

/** A member's progress report, journaled and streamed; too large or too many is refused, nothing stored. */
function emitMemberEvent(scope: RunScope, place: StepPlace, member: string, event: MemberEvent): void {
  if (event === null || typeof event !== "object" || typeof event.type !== "string") throw new TypeError("A team member event is an object with a string `type`");
  const chars = event.data === undefined ? 0 : (JSON.stringify(event.data) ?? "").length;
  if (chars > MAX_MEMBER_EVENT_CHARS) {
    throw new RangeError(`A team member event holds at most ${MAX_MEMBER_EVENT_CHARS} characters of JSON in its data (got ${chars}); nothing was stored`);
  }
  if (scope.journal.eventCount(scope.runId) >= MAX_RUN_EVENTS) {
    throw new RangeError(`Team run ${scope.runId} stores at most ${MAX_RUN_EVENTS} events; member ${member}'s event was not stored (emit less often, e.g. batch text deltas)`);
  }
  scope.emit("member-event", place.path, { member, ...event });
}

/** Calls a member once for this path (its journaled result after a restart). */
export function callMember(scope: RunScope, member: TeamMember, input: unknown, place: StepPlace, limits?: StepNode["options"]["limits"]): Promise<unknown> {
  if (place.depth > scope.budget.limits.depth) {
    throw new BudgetExceededError("depth", `Team run budget exhausted: delegation depth ${place.depth} is over the limit of ${scope.budget.limits.depth}`);
  }
  const work = {
    kind: "member",
    member: member.name,
    input,
    ...(limits ? { limits } : {}),
    ...(member.estimate ? { estimate: member.estimate } : {}),
    run: async (signal: AbortSignal, report: (usage: MemberUsage) => void) => {
      const context: MemberCallContext = {
        runId: scope.runId,
        team: scope.team,
        path: place.path,
        idempotencyKey: `${scope.runId}:${place.path}`,
        signal,
        owner: scope.owner,
        emit: (event) => emitMemberEvent(scope, place, member.name, event),
        usage: report,
      };
      try {
        const result = await raceSignal(traceTeamStep(scope.team, scope.runId, member.name, place.path, () => member.call(input, context)), signal);
        // Written before the step's own row, so a journal that holds the step holds these too.
        settleNested(scope, place, decidedIn(result), true);
        return result;
      } catch (error) {
        settleNested(scope, place, decidedIn(error), !(error instanceof RunSuspended) && !scope.signal.aborted);
        throw error;
      }
    },
  };
  return withBudgetRequests(scope, place, () => effect(scope, place, work)).then(
    (output) => {
      settleNested(scope, place, [], true); // a step journaled done by an older version may have left copies waiting
      return output;
    },
    (error: unknown) => {
      if (error instanceof NestedSuspended) return waitForNested(scope, error, place);
      const status = scope.steps.get(place.path)?.status;
      if (status === "done" || status === "failed") settleNested(scope, place, [], true);
      throw error;
    },
  );
}

/**
 * Settles this run's copies of approvals of a member's own run (`teamMember`) that no longer wait
 * there: decided in the member's agent, they must not wait here. Once the member's call `ended`, any
 * copy still waiting (the member's run ended without it) is withdrawn and the member's run is no
 * longer one this run waits on.
 */
function settleNested(scope: RunScope, place: StepPlace, decided: NestedDecision[], ended: boolean): void {
  const marker = scope.steps.get(`${place.path}${NESTED_SEPARATOR}run`);
  if (marker?.status !== "waiting") return; // this member's run never waited, or was settled already
  const settle = (row: StepRecord, outcome: Pick<StepRecord, "status" | "output" | "error">, data: Record<string, unknown>) => {
    const settled: StepRecord = { path: row.path, kind: row.kind, status: outcome.status, ...("output" in outcome ? { output: outcome.output } : {}), ...(outcome.error ? { error: outcome.error } : {}), at: scope.now() };
    scope.steps.set(row.path, settled);
    scope.journal.writeStep(scope.runId, settled);
    scope.emit("approval-resolved", row.path, data);
  };
  for (const decision of decided) {
    const copy = scope.steps.get(decision.path);
    if (copy?.kind === NESTED_APPROVAL_KIND && copy.status === "waiting") settle(copy, decision, { nested: true, decidedIn: "member" });
  }
  if (!ended) return;
  const prefix = `${place.path}${NESTED_SEPARATOR}`;
  for (const row of [...scope.steps.values()]) {
    if (row.kind !== NESTED_APPROVAL_KIND || row.status !== "waiting" || !row.path.startsWith(prefix)) continue;
    settle(row, { status: "failed", error: { name: "ApprovalWithdrawnError", message: "The member's own run ended without this approval" } }, { nested: true, withdrawn: true });
  }
  const done: StepRecord = { ...marker, status: "done", at: scope.now() };
  scope.steps.set(marker.path, done);
  scope.journal.writeStep(scope.runId, done);
}

/** The journal row (kind) of this run's copy of an approval a member's own run waits for. */
const NESTED_APPROVAL_KIND = "approval:nested";

/** Checks a member's own run again after this long, should its "I stopped" message be lost. */
export const NESTED_CHECK_MS = 60_000;

/**
 * A member's own run waits: its approvals are written into this run (so they surface at the root),
 * a check is scheduled, and this run suspends until the member's run tells it it stopped.
 */
async function waitForNested(scope: RunScope, suspended: NestedSuspended, place: StepPlace): Promise<never> {
  // Where the member's run lives, so a cancel of this run reaches it.
  const marker = `${place.path}${NESTED_SEPARATOR}run`;
  if (!scope.steps.get(marker)) {
    const row = { path: marker, kind: CHILD_RUN_KIND, status: "waiting" as const, output: { child: suspended.child }, at: scope.now() };
    scope.steps.set(marker, row);
    scope.journal.writeStep(scope.runId, row);
  }
  for (const approval of suspended.approvals) {
    if (scope.steps.get(approval.path)) continue;
    const row = { path: approval.path, kind: NESTED_APPROVAL_KIND, status: "waiting" as const, output: { prompt: approval.prompt, input: null, child: suspended.child, kind: approval.kind }, at: scope.now() };
    scope.steps.set(approval.path, row);
    scope.journal.writeStep(scope.runId, row);
    scope.emit("approval-requested", approval.path, { prompt: approval.prompt, kind: approval.kind, nested: true });
  }
  const tasks = (scope.owner as { [HANDLE.tasks]?: () => AgentTasks })[HANDLE.tasks]?.();
  tasks?.schedule(new Date(scope.now() + NESTED_CHECK_MS), NESTED_CHECK_TASK, { team: scope.team, runId: scope.runId }, { idempotent: true });
  await scope.journal.committed();
  throw new RunSuspended(suspended.approvals);
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
      // A member's own limit is not the run's: an extension of the run's limits could never fit it.
      if (error.member !== undefined) throw error;
      // A grant returned here is in the run's limits, which this execution read when it started: if
      // the call still does not fit, the next request asks for more.
      await askForBudget(scope, error, at(place, `budget-${request}`));
    }
  }
}
