import { HANDLE, AGENT_RUNTIME } from "../agent/agent-base.ts";
import { frames } from "../protocol/frames.ts";
import { SchedulingAgent } from "../schedule/scheduling-agent.ts";
import type {
  RunWorkflowOptions,
  WorkflowCallback,
  WorkflowDeleteCriteria,
  WorkflowInfo,
  WorkflowPage,
  WorkflowQueryCriteria,
} from "./agent-types.ts";
import { AgentWorkflows } from "./agent-workflows.ts";
import type { InstanceStatus } from "./types.ts";

/**
 * The workflow layer of {@link Agent}: instances started on the agent's behalf, tracked in its
 * database, calling back through the `onWorkflow…` hooks.
 */
export class WorkflowAgent<Env = unknown, State = unknown> extends SchedulingAgent<Env, State> {
  #workflows: AgentWorkflows | undefined;

  /**
   * Starts an instance of the workflow bound as `workflowName` on behalf of this agent and tracks it
   * in this agent's SQLite: inside it, `this.agent` is a stub of this agent, and its progress,
   * completion and errors reach the `onWorkflow…` hooks. The default id is `wf_` plus 21 random
   * characters. Returns the instance id.
   * @example
   * const id = await this.runWorkflow("Onboarding", { email }, { metadata: { userId } });
   */
  async runWorkflow<P = unknown>(workflowName: string, params: P, options?: RunWorkflowOptions): Promise<string> {
    return this.#workflowApi.run(workflowName, params, options);
  }

  /**
   * Status of an instance (`{ status, output?, error? }`), also recorded in the tracking row. With one
   * argument, the instance must be one this agent started.
   * @example
   * const { status, output } = await this.getWorkflowStatus("Onboarding", id);
   */
  async getWorkflowStatus(workflowId: string): Promise<InstanceStatus>;
  async getWorkflowStatus(workflowName: string, workflowId: string): Promise<InstanceStatus>;
  async getWorkflowStatus(nameOrId: string, maybeId?: string): Promise<InstanceStatus> {
    return this.#workflowApi.status(nameOrId, maybeId);
  }

  /**
   * Delivers an event to an instance's `step.waitForEvent({ type })`.
   * @example
   * await this.sendWorkflowEvent("Onboarding", id, { type: "email-verified", payload: { at: Date.now() } });
   */
  async sendWorkflowEvent(workflowId: string, event: { type: string; payload?: unknown }): Promise<void>;
  async sendWorkflowEvent(workflowName: string, workflowId: string, event: { type: string; payload?: unknown }): Promise<void>;
  async sendWorkflowEvent(
    nameOrId: string,
    idOrEvent: string | { type: string; payload?: unknown },
    maybeEvent?: { type: string; payload?: unknown },
  ): Promise<void> {
    return this.#workflowApi.sendEvent(nameOrId, idOrEvent, maybeEvent);
  }

  /**
   * Approves a tracked instance waiting in `this.waitForApproval(step)` (an "approval" event).
   * @example
   * @callable() approve(id: string) { return this.approveWorkflow(id, { reason: "looks good", metadata: { by: "ada" } }); }
   */
  async approveWorkflow(workflowId: string, data: { reason?: string; metadata?: Record<string, unknown> } = {}): Promise<void> {
    return this.#workflowApi.approve(workflowId, data);
  }

  /**
   * Rejects a tracked instance waiting for approval: its `waitForApproval` throws a `WorkflowRejectedError`.
   * @example
   * await this.rejectWorkflow(id, { reason: "over budget" });
   */
  async rejectWorkflow(workflowId: string, data: { reason?: string; metadata?: Record<string, unknown> } = {}): Promise<void> {
    return this.#workflowApi.reject(workflowId, data);
  }

  /** Pauses a tracked instance before its next step. @example await this.pauseWorkflow(id); */
  async pauseWorkflow(workflowId: string): Promise<void> {
    return this.#workflowApi.control("pause", workflowId);
  }

  /** Resumes a paused tracked instance. @example await this.resumeWorkflow(id); */
  async resumeWorkflow(workflowId: string): Promise<void> {
    return this.#workflowApi.control("resume", workflowId);
  }

  /** Ends a tracked instance for good. @example await this.terminateWorkflow(id); */
  async terminateWorkflow(workflowId: string): Promise<void> {
    return this.#workflowApi.control("terminate", workflowId);
  }

  /**
   * Runs a tracked instance again from the start with the same id and params. By default its tracking
   * row starts over too (queued, created now, no error); `{ resetTracking: false }` keeps its times.
   * @example
   * await this.restartWorkflow(id, { resetTracking: false });
   */
  async restartWorkflow(workflowId: string, options?: { resetTracking?: boolean }): Promise<void> {
    return this.#workflowApi.restart(workflowId, options);
  }

  /**
   * A tracked instance by id (status, metadata, error, times), or undefined. Synchronous.
   * @example
   * const workflow = this.getWorkflow(id); // { workflowId, workflowName, status, metadata, error, createdAt, … }
   */
  getWorkflow(workflowId: string): WorkflowInfo | undefined {
    return this.#workflowApi.get(workflowId);
  }

  /**
   * One page of the instances this agent started, newest first by default: `{ workflows, total,
   * nextCursor }`. Filters: `status` (one or several), `workflowName`, `metadata` (exact matches);
   * `limit` 50 by default, at most 100; `orderBy` "asc" | "desc"; `cursor` from the previous page.
   * @example
   * const { workflows, total, nextCursor } = this.getWorkflows({ status: ["complete", "errored"], limit: 20 });
   */
  getWorkflows(criteria?: WorkflowQueryCriteria): WorkflowPage {
    return this.#workflowApi.list(criteria);
  }

  /** Forgets a tracking row (the instance itself is untouched); false when there is none. @example this.deleteWorkflow(id); */
  deleteWorkflow(workflowId: string): boolean {
    return this.#workflowApi.delete(workflowId);
  }

  /**
   * Forgets the tracking rows that match (all of them without criteria); returns how many.
   * @example
   * this.deleteWorkflows({ status: ["complete", "errored"], createdBefore: new Date(Date.now() - 7 * 86_400_000) });
   */
  deleteWorkflows(criteria?: WorkflowDeleteCriteria): number {
    return this.#workflowApi.deleteWhere(criteria);
  }

  /**
   * After renaming a workflow binding: moves the tracking rows of `oldName` to `newName` (which must
   * be bound) and returns how many moved. The agent warns at start-up when rows name an unknown binding.
   * @example
   * async onStart() { this.migrateWorkflowBinding("OLD_WORKFLOW", "NEW_WORKFLOW"); }
   */
  migrateWorkflowBinding(oldName: string, newName: string): number {
    return this.#workflowApi.migrateBinding(oldName, newName);
  }

  /**
   * Every callback of a workflow this agent started (progress, complete, error, event) comes here
   * first; by default it calls the matching hook below. Override it to handle them in one place.
   * @example
   * async onWorkflowCallback(callback: WorkflowCallback) { if (callback.type === "event") this.log(callback.event); }
   */
  onWorkflowCallback(callback: WorkflowCallback): void | Promise<void> {
    return this.#workflowApi.dispatch(callback);
  }

  /**
   * A workflow this agent started reported progress (`this.reportProgress(p)` in the workflow). By
   * default it is broadcast to every connected client as a `workflow_progress` frame.
   * @example
   * onWorkflowProgress(name: string, id: string, progress: unknown) { this.setState({ ...this.state, progress }); }
   */
  onWorkflowProgress(workflowName: string, workflowId: string, progress: unknown): void | Promise<void> {
    this.broadcast(frames.workflow({ event: "progress", workflowName, workflowId, progress }));
  }

  /**
   * A workflow this agent started completed (it returned, or called `step.reportComplete`). By default
   * clients get a `workflow_complete` frame (without the result).
   * @example
   * onWorkflowComplete(name: string, id: string, result?: unknown) { this.deleteWorkflow(id); }
   */
  onWorkflowComplete(workflowName: string, workflowId: string, _result?: unknown): void | Promise<void> {
    this.broadcast(frames.workflow({ event: "complete", workflowName, workflowId }));
  }

  /**
   * A workflow this agent started failed (or called `step.reportError`). By default clients get a
   * `workflow_error` frame.
   * @example
   * onWorkflowError(name: string, id: string, error: string) { console.error(name, id, error); }
   */
  onWorkflowError(workflowName: string, workflowId: string, error: string): void | Promise<void> {
    this.broadcast(frames.workflow({ event: "error", workflowName, workflowId, error }));
  }

  /**
   * A workflow this agent started sent a custom event (`step.sendEvent(event)`). Does nothing by default.
   * @example
   * onWorkflowEvent(name: string, id: string, event: unknown) { this.broadcast(JSON.stringify({ type: "task-event", id, event })); }
   */
  onWorkflowEvent(_workflowName: string, _workflowId: string, _event: unknown): void | Promise<void> {}

  /** @internal Workflows call back through this: the tracking row catches up, then {@link onWorkflowCallback}. */
  async _workflow_handleCallback(callback: WorkflowCallback): Promise<void> {
    return this.#workflowApi.handleCallback(callback);
  }

  /** @internal `broadcastToClients` of a workflow this agent started. */
  _workflow_broadcast(message: unknown): void {
    this.#workflowApi.broadcast(message);
  }

  /** @internal `step.updateAgentState` / `mergeAgentState` / `resetAgentState` of a workflow this agent started. */
  _workflow_updateState(action: "set" | "merge" | "reset", state?: unknown): void {
    this.#workflowApi.updateState(action, state);
  }

  get #workflowApi(): AgentWorkflows {
    const runtime = this[AGENT_RUNTIME];
    // A sub-agent is named by its root and its path, so callbacks and `this.agent` reach it (not a root of its class).
    const { rootClassName, rootName, path } = runtime.lineage;
    const origin = path.length === 0 ? { className: runtime.className, name: runtime.name } : { className: rootClassName, name: [rootName, ...path].join("\0") };
    this.#workflows ??= new AgentWorkflows(runtime.db, this, origin);
    return this.#workflows;
  }

  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#workflows?.invalidate();
  }

  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    await super[HANDLE.start](props);
    this.#workflowApi.checkBindings(); // after onStart, where migrateWorkflowBinding() belongs
  }
}
