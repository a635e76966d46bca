/**
 * Public types of agent tools (a child chat agent run as a tool of its parent's turn), with the
 * names and shapes of Cloudflare's Agents SDK (`agents/agent-tools`), so UI code written for the
 * `agent-tool-event` frames works unchanged.
 */

/** Where a run is: `starting`/`running` while it works, then one of the terminal states. */
export type AgentToolRunStatus = "starting" | "running" | "completed" | "error" | "aborted" | "interrupted";

/** The states a run ends in. `interrupted` is soft: a later re-attach may still collect the child's result. */
export type AgentToolTerminalStatus = Extract<AgentToolRunStatus, "completed" | "error" | "aborted" | "interrupted">;

/**
 * Why a run was sealed `interrupted`. Hearth produces `not-tailable` (the parent restarted and the
 * child's turn no longer runs) and `inspect-failed` (the child could not be reached); the other
 * values exist for compatibility with Cloudflare's type.
 */
export type AgentToolInterruptedReason =
  | "no-progress"
  | "window-exceeded"
  | "not-tailable"
  | "inspect-timeout"
  | "inspect-failed"
  | "recovery-deadline"
  | "budget-exceeded";

/** Name and icon a UI shows for a run (`displayName` and `icon` of `agentTool`, plus your own fields). */
export type AgentToolDisplayMetadata = { name?: string; icon?: string } & Record<string, unknown>;

/**
 * What an `agentTool` returns to the parent model when its run did not complete: a structured
 * failure instead of an opaque string. `retryable` is true only for `interrupted`.
 */
export interface AgentToolFailure {
  ok: false;
  status: Exclude<AgentToolTerminalStatus, "completed">;
  /** Human-readable, safe to show. */
  error: string;
  retryable: boolean;
  /** Only for `interrupted`. */
  reason?: AgentToolInterruptedReason;
  /** Only for `interrupted`: the child was still working when the parent stopped waiting. */
  childStillRunning?: boolean;
}

/** One run as the parent's hooks (`onAgentToolStart`, `onAgentToolFinish`) see it. */
export interface AgentToolRunInfo {
  runId: string;
  parentToolCallId?: string;
  /** The child's class, by binding name (the name `onBeforeSubAgent` sees). */
  agentType: string;
  inputPreview?: unknown;
  status: AgentToolRunStatus;
  display?: AgentToolDisplayMetadata;
  displayOrder: number;
  /** Epoch milliseconds. */
  startedAt: number;
  completedAt?: number;
}

/** Options of `runAgentTool`. */
export interface RunAgentToolOptions<Input = unknown> {
  /** What the child gets; its `formatAgentToolInput` turns it into a user message. */
  input: Input;
  /** Stable id: the same id never starts a second child turn (default: a fresh id). */
  runId?: string;
  /** The parent's tool call this run belongs to (frames carry it, UIs group runs by it). */
  parentToolCallId?: string;
  /** Order among sibling runs of one tool call (default 0). */
  displayOrder?: number;
  /** Cancels the run: the child's turn is aborted and the run ends `aborted`. */
  signal?: AbortSignal;
  /** What UIs show as the input (default: the input, as JSON, cut at 500 characters). */
  inputPreview?: unknown;
  display?: AgentToolDisplayMetadata;
  /**
   * Not supported on Hearth: a detached run is refused with an error (runs are awaited).
   * @deprecated Hearth awaits every run.
   */
  detached?: never;
}

/** How a run ended, as `runAgentTool` resolves. */
export interface RunAgentToolResult<Output = unknown> {
  runId: string;
  agentType: string;
  status: AgentToolTerminalStatus;
  /** The child's `getAgentToolOutput` (default: its last assistant text). */
  output?: Output;
  /** The child's `getAgentToolSummary` (default: its last assistant text). */
  summary?: string;
  error?: string;
  reason?: AgentToolInterruptedReason;
  childStillRunning?: boolean;
}

/** A child run's own record, as `inspectAgentToolRun` reports it. */
export interface AgentToolRunInspection<Output = unknown> {
  runId: string;
  status: Exclude<AgentToolRunStatus, "interrupted">;
  /** The child's chat request that ran the turn. */
  requestId?: string;
  output?: Output;
  summary?: string;
  error?: string;
  startedAt: number;
  completedAt?: number;
}

/** One UI message chunk the child streamed, with its position in the run (from 0). */
export interface AgentToolStoredChunk {
  sequence: number;
  /** The chunk as JSON (a `UIMessageChunk`). */
  body: string;
}

/** What `pullAgentToolChunks` answers: the chunks after the position asked for, and the run's state. */
export interface AgentToolPull {
  chunks: AgentToolStoredChunk[];
  status: Exclude<AgentToolRunStatus, "interrupted"> | "missing";
  /** True once the run ended: no more chunks will come. */
  done: boolean;
}

/** The payload of an `agent-tool-event` frame. */
export type AgentToolEvent =
  | { kind: "started"; runId: string; agentType: string; inputPreview?: unknown; order: number; display?: AgentToolDisplayMetadata }
  | { kind: "chunk"; runId: string; body: string }
  | { kind: "finished"; runId: string; summary: string }
  | { kind: "error"; runId: string; error: string }
  | { kind: "aborted"; runId: string; reason?: string }
  | { kind: "interrupted"; runId: string; error: string; reason?: AgentToolInterruptedReason; childStillRunning?: boolean };

/**
 * The frame the parent sends its clients for every event of a run. `sequence` counts per run
 * (started 0, chunks 1…n, the end n+1): a client dedupes a replayed frame against a live one by
 * `(event.runId, sequence)`.
 */
export interface AgentToolEventMessage {
  type: "agent-tool-event";
  parentToolCallId?: string;
  sequence: number;
  /** Set on frames sent to a connection that (re)connected, from the parent's registry. */
  replay?: true;
  event: AgentToolEvent;
}

/** Filters of `clearAgentToolRuns`; none: every run goes. */
export interface ClearAgentToolRunsOptions {
  /** Only runs started before this epoch-milliseconds time. */
  readonly olderThan?: number;
  /** Only runs in one of these states. */
  readonly status?: AgentToolRunStatus[];
}

/** The `agentToolReplayOnConnect` static option: how much of the registry a (re)connecting client gets. */
export interface AgentToolReplayOptions {
  /** Only the newest this many runs (default: all). */
  maxRuns?: number;
  /** Only the last this many chunks of each run (default: all); sequences stay those of the full run. */
  maxChunksPerRun?: number;
}
