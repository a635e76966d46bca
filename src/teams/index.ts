/**
 * Agent teams: members (sub-agents, models, code, remote agents) composed into routes, pipelines,
 * fan-outs, loops, fallbacks, supervisors and handoffs; every run journaled in its owner's SQLite,
 * resumed at the exact step after a crash, and bounded by budgets that are always on.
 */
export { team, Team, type TeamOptions, type StartTeamRunOptions, type TeamEntry } from "./team.ts";
export { TeamRun, teamRun } from "./run.ts";
export { approval, branch, fallback, handoff, loop, map, parallel, pipeline, route, step, supervisor } from "./nodes.ts";
export type {
  ApprovalNode,
  BranchNode,
  Classifier,
  FallbackNode,
  HandoffNode,
  LoopNode,
  MapNode,
  ParallelNode,
  PipelineNode,
  RouteNode,
  StepErrorInfo,
  StepNode,
  StepOptions,
  SupervisorNode,
  TeamNode,
} from "./nodes.ts";
export { fnMember, modelMember, subAgentMember, type FnMemberContext, type MemberOptions, type ModelMemberOptions, type SubAgentMemberCall, type SubAgentMemberOptions } from "./members.ts";
export type { MemberCallContext, MemberEvent, MemberResult, MemberUsage, TeamMember } from "./member.ts";
export { BudgetExceededError, DEFAULT_PRICES, DEFAULT_TEAM_LIMITS, type ExhaustedPolicy, type ModelPrice, type TeamLimits } from "./budget.ts";
export { ApprovalRejectedError, LoopLimitError, StepTimeoutError, TeamRoutingError, TeamStepError, type PendingApproval } from "./errors.ts";
export type { TeamEvent, TeamRunRecord, TeamRunStatus } from "./journal.ts";
export { TEAM_FRAMES, MAX_WATCHERS_PER_RUN, type TeamWatchPolicy } from "./stream.ts";
export { MAX_JOURNALED_INPUT_CHARS } from "./step-inputs.ts";
export { appendReducer, MAX_SCRATCH_KEYS, type ScratchKey, type ScratchpadSpec } from "./scratchpad.ts";
export { teamMemory, DEFAULT_MEMORY_TTL_SECONDS, MAX_MEMORY_VALUE_BYTES, type KvLike, type TeamMemory } from "./memory.ts";
export { teamMember, NESTED_SEPARATOR, type TeamMemberOptions } from "./team-member.ts";
export { chatMember, type ChatMemberOptions } from "./chat-member.ts";
export { TEAM_RUN_CHANNEL, subscribeTeamRuns, type TeamRunSignal } from "./run-signal.ts";
