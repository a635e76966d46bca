/**
 * A member that is a whole team run by a sub-agent: the child agent owns its run (journal, budget,
 * approvals) in its own SQLite. The parent's step waits without holding memory: approvals the child's
 * run asks for surface in the parent's run (so at the root), and the child tells the parent when its
 * run stops.
 */
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { IN_SUB_AGENT, type SubAgentClass } from "../sub-agents/sub-agent-agent.ts";
import { RunSuspended, TeamStepError, type PendingApproval } from "./errors.ts";
import { TeamJournal, type TeamRunStatus } from "./journal.ts";
import type { MemberOptions } from "./members.ts";
import { idForKey, type MemberResult, type MemberUsage, type TeamMember } from "./member.ts";
import { usageTotals } from "./run-signal.ts";
import type { Team } from "./team.ts";

/** Separates the member's path from the child run's path in a nested approval's path. */
export const NESTED_SEPARATOR = "::";

/** The journal row (kind) that records a member's own run while this run waits on it. */
export const CHILD_RUN_KIND = "child-run";

/** Where a nested approval lives: the child agent and its run. */
export interface NestedChild {
  className: string;
  instance: string;
  runId: string;
}

/**
 * An approval of the member's run that was decided (approved: "done", rejected: "failed"), wherever
 * that was: the parent's copy of it is settled the same way. `path` is the path in the parent's run.
 */
export interface NestedDecision {
  path: string;
  status: "done" | "failed";
  output?: unknown;
  error?: { name: string; message: string };
}

/** The child's run waits (for a person, or still runs): the parent's run waits too. */
export class NestedSuspended extends RunSuspended {
  readonly child: NestedChild;
  readonly decided: NestedDecision[];
  constructor(approvals: PendingApproval[], child: NestedChild, decided: NestedDecision[]) {
    super(approvals);
    this.child = child;
    this.decided = decided;
  }
}

/** Where a teamMember's result or error (when its run ended) carries the approvals its run decided. */
const DECIDED: unique symbol = Symbol("hearth.team.decided");

/**
 * The approvals a member's run decided, carried by what its call returned or threw: approvals may be
 * decided in the member's own agent, and the parent's copies must not go on waiting.
 */
export function decidedIn(outcome: unknown): NestedDecision[] {
  if (outcome instanceof NestedSuspended) return outcome.decided;
  return (typeof outcome === "object" && outcome !== null ? (outcome as { [DECIDED]?: NestedDecision[] })[DECIDED] : undefined) ?? [];
}

/** `outcome` carrying `decided` (not enumerable: it is not part of the output or the error). */
function withDecided<T extends object>(outcome: T, decided: NestedDecision[]): T {
  Object.defineProperty(outcome, DECIDED, { value: decided });
  return outcome;
}

interface Snapshot {
  className: string;
  status: TeamRunStatus;
  output?: unknown;
  error?: { name: string; message: string };
  approvals: PendingApproval[];
  /** Approvals of the child's run that were decided, with paths in the child's run. */
  decided: NestedDecision[];
  usage: MemberUsage;
}

/** Options of {@link teamMember}. */
export interface TeamMemberOptions<I> extends MemberOptions {
  /** The member's name (default the team's). */
  name?: string;
  /** Which child instance runs it (default one named after the member). */
  instance?: (input: I) => string;
}

/**
 * A member that runs `team` in a sub-agent of the owner.
 * @example
 * const research = teamMember(Researcher, researchTeam, { description: "Researches a topic in depth" });
 */
export function teamMember<I = unknown, O = unknown>(cls: SubAgentClass, childTeam: Team<I, O>, options: TeamMemberOptions<I> = {}): TeamMember<I, O> {
  const name = options.name ?? childTeam.name;
  const { instance, name: _name, ...rest } = options;
  return {
    kind: "member",
    name,
    estimate: { tokens: 0 }, // the child's run has its own budget
    ...rest,
    async call(input, context): Promise<MemberResult<O>> {
      const owner = context.owner as { [IN_SUB_AGENT]?: (cls: SubAgentClass, name: string, task: (child: object) => Promise<Snapshot>) => Promise<Snapshot> };
      if (typeof owner[IN_SUB_AGENT] !== "function") throw new TypeError(`Team member ${name}: the run's owner is not an Agent, so it has no sub-agents`);
      const where = instance ? instance(input) : name;
      const copied = structuredClone(input);
      const snapshot = await owner[IN_SUB_AGENT](cls, where, async (child) => {
        // The idempotency key is the child run's id: a repeated call finds the same run.
        const run = await childTeam.start(child, copied, { runId: idForKey("member", context.idempotencyKey), parent: { team: context.team, runId: context.runId } });
        return snapshotOf(child, run.id);
      });
      const inParent = (path: string) => `${context.path}${NESTED_SEPARATOR}${path}`;
      const decided = snapshot.decided.map((decision) => ({ ...decision, path: inParent(decision.path) }));
      if (snapshot.status === "completed") return withDecided({ output: structuredClone(snapshot.output) as O, usage: snapshot.usage }, decided);
      if (snapshot.status === "failed" || snapshot.status === "cancelled") {
        context.usage?.(snapshot.usage); // what the member's run spent before it ended counts here too
        throw withDecided(new TeamStepError(snapshot.error ?? { name: "Error", message: snapshot.status }), decided);
      }
      const child = { className: snapshot.className, instance: where, runId: idForKey("member", context.idempotencyKey) };
      throw new NestedSuspended(
        snapshot.approvals.map((approval) => ({ ...approval, path: inParent(approval.path) })),
        child,
        decided,
      );
    },
  };
}

function snapshotOf(child: object, runId: string): Snapshot {
  const runtime = (child as { [AGENT_RUNTIME]: AgentRuntime })[AGENT_RUNTIME];
  const journal = new TeamJournal(runtime.db);
  const record = journal.run(runId)!;
  const approvals: PendingApproval[] = [];
  const decided: NestedDecision[] = [];
  const usage: Required<Pick<MemberUsage, "inputTokens" | "outputTokens" | "toolCalls" | "costUsd">> = { inputTokens: 0, outputTokens: 0, toolCalls: 0, costUsd: 0 };
  const steps = [...journal.steps(runId).values()];
  // Priced here, with the member team's prices: the sum carries no model the parent could price it by.
  usage.costUsd = usageTotals(record.team, steps.map((step) => step.usage)).costUsd;
  for (const step of steps) {
    if (step.status === "waiting" && step.kind !== CHILD_RUN_KIND) {
      approvals.push({ path: step.path, prompt: (step.output as { prompt: string }).prompt, kind: step.kind === "approval:budget" ? "budget" : "step" });
    } else if (isApproval(step.kind) && step.status !== "waiting") {
      decided.push({ path: step.path, status: step.status, ...("output" in step ? { output: step.output } : {}), ...(step.error ? { error: step.error } : {}) });
    }
    usage.inputTokens += step.usage?.inputTokens ?? 0;
    usage.outputTokens += step.usage?.outputTokens ?? 0;
    usage.toolCalls += step.usage?.toolCalls ?? 0;
  }
  return {
    className: runtime.className,
    status: record.status,
    ...(record.output !== undefined ? { output: record.output } : {}),
    ...(record.error ? { error: record.error } : {}),
    approvals,
    decided,
    usage,
  };
}

/** Approval rows: `approval:<kind>` while waiting or approved, `approval` once rejected. */
function isApproval(kind: string): boolean {
  return kind === "approval" || kind.startsWith("approval:");
}
