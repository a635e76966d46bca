import type { Duration } from "../time/duration.ts";
import type { WorkflowEvent, WorkflowInstanceStatus, WorkflowRetention, WorkflowStep } from "./types.ts";

/** The status of a tracked workflow, as in Cloudflare's Agents SDK (`InstanceStatus["status"]`). */
export type WorkflowStatus = WorkflowInstanceStatus;

/** What `run` of an `AgentWorkflow` receives: the params given to `runWorkflow`. */
export type AgentWorkflowEvent<Params = unknown> = WorkflowEvent<Params>;

/**
 * The `step` of an `AgentWorkflow`: the usual durable steps plus durable messages to the agent that
 * started the instance. Each is recorded like a `step.do`, so it reaches the agent once per instance,
 * not once per replay.
 */
export interface AgentWorkflowStep extends WorkflowStep {
  /** Tells the agent the workflow is done (`onWorkflowComplete`); returning from `run` then sends nothing more. */
  reportComplete<T = unknown>(result?: T): Promise<void>;
  /** Tells the agent about an error (`onWorkflowError`); a later throw from `run` is then not reported again. */
  reportError(error: Error | string): Promise<void>;
  /** Sends a custom event to the agent (`onWorkflowEvent`). */
  sendEvent<T = unknown>(event: T): Promise<void>;
  /** Replaces the agent's state (its clients get the new state). */
  updateAgentState(state: unknown): Promise<void>;
  /** Merges keys into the agent's state, shallowly (its clients get the new state). */
  mergeAgentState(partialState: Record<string, unknown>): Promise<void>;
  /** Sets the agent's state back to its `initialState`. */
  resetAgentState(): Promise<void>;
}

/** The progress shape `reportProgress` takes unless the workflow names its own. */
export type DefaultProgress = {
  step?: string;
  status?: "pending" | "running" | "complete" | "error";
  message?: string;
  /** 0 to 1. */
  percent?: number;
  [key: string]: unknown;
};

/** What every callback from a workflow to its agent carries. */
export interface WorkflowCallbackBase {
  /** The workflow's binding name. */
  workflowName: string;
  workflowId: string;
  type: WorkflowCallbackType;
  /** When it was sent (ms since the epoch). */
  timestamp: number;
}

export type WorkflowCallbackType = "progress" | "complete" | "error" | "event";
export type WorkflowProgressCallback<P = DefaultProgress> = WorkflowCallbackBase & { type: "progress"; progress: P };
export type WorkflowCompleteCallback = WorkflowCallbackBase & { type: "complete"; result?: unknown };
export type WorkflowErrorCallback = WorkflowCallbackBase & { type: "error"; error: string };
export type WorkflowEventCallback = WorkflowCallbackBase & { type: "event"; event: unknown };

/** A message from a workflow to the agent that started it: what `onWorkflowCallback` receives. */
export type WorkflowCallback<P = DefaultProgress> =
  | WorkflowProgressCallback<P>
  | WorkflowCompleteCallback
  | WorkflowErrorCallback
  | WorkflowEventCallback;

/** A callback without its envelope (who sent it, when): what a workflow reports. */
export type WorkflowCallbackBody =
  | { type: "progress"; progress: unknown }
  | { type: "complete"; result?: unknown }
  | { type: "error"; error: string }
  | { type: "event"; event: unknown };

/** @internal Wraps a callback body in its envelope. */
export function callbackOf(workflowName: string, workflowId: string, timestamp: number, body: WorkflowCallbackBody): WorkflowCallback<unknown> {
  return { workflowName, workflowId, timestamp, ...body };
}

/** Options of `runWorkflow`. */
export interface RunWorkflowOptions {
  /** The instance id. Default: `wf_` and 21 random characters of `A-Za-z0-9_-`. */
  id?: string;
  /** Kept with the agent's record of the instance, for `getWorkflows({ metadata })`; not passed to the workflow. */
  metadata?: Record<string, unknown>;
  /** The agent binding that callbacks and `this.agent` go to. Default: this agent's own class. */
  agentBinding?: string;
  /**
   * Passed to the workflow's `create` unchanged: how long the instance's record is kept once it ends
   * (default: for good). The agent's tracking row is not affected: it stays until `deleteWorkflow`.
   */
  retention?: WorkflowRetention;
}

/** A workflow instance this agent started, as its tracking table records it. */
export interface WorkflowInfo {
  /** The tracking row's own id. */
  id: string;
  /** The instance id. */
  workflowId: string;
  /** The workflow's binding name. */
  workflowName: string;
  status: WorkflowStatus;
  metadata: Record<string, unknown> | null;
  error: { name: string; message: string } | null;
  createdAt: Date;
  updatedAt: Date;
  /** When it completed, errored or was terminated; null before. */
  completedAt: Date | null;
}

/** Filters of `getWorkflows` and `deleteWorkflows`. */
export interface WorkflowQueryCriteria {
  status?: WorkflowStatus | WorkflowStatus[];
  workflowName?: string;
  /** Exact matches on top-level metadata keys. */
  metadata?: Record<string, string | number | boolean>;
  /** Page size: default 50, at most 100. */
  limit?: number;
  /** By creation time; default "desc" (newest first). */
  orderBy?: "asc" | "desc";
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** Criteria of `deleteWorkflows`. */
export type WorkflowDeleteCriteria = Omit<WorkflowQueryCriteria, "limit" | "orderBy" | "cursor"> & {
  /** Only records created before this date. */
  createdBefore?: Date;
};

/** One page of `getWorkflows`. */
export interface WorkflowPage {
  workflows: WorkflowInfo[];
  /** How many match the criteria, over all pages. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** An event for `sendWorkflowEvent`, delivered to `step.waitForEvent({ type })`. */
export interface WorkflowEventPayload {
  type: string;
  payload?: unknown;
}

/** The payload of the "approval" event that `approveWorkflow` / `rejectWorkflow` send. */
export interface ApprovalEventPayload {
  approved: boolean;
  reason?: string;
  metadata?: Record<string, unknown>;
}

/** Options of `waitForApproval`. */
export interface WaitForApprovalOptions {
  /** Default "wait-for-approval". */
  stepName?: string;
  /** Default 24 hours (then a `WorkflowTimeoutError`). */
  timeout?: Duration;
  /** Default "approval". */
  eventType?: string;
}
