import type { McpClientManager } from "../mcp/client/manager.ts";
import { McpRuntime } from "../mcp/client/mcp-runtime.ts";
import { loadModules } from "../mcp/client/modules.ts";
import type { AddMcpServerOptions, AddMcpServerResult, AddRpcMcpServerOptions, McpServersState } from "../mcp/client/types.ts";
import { AgentFibers } from "../fiber/agent-fibers.ts";
import { keepAliveIntervalOf } from "../fiber/limits.ts";
import type {
  DeleteFibersOptions,
  FiberContext,
  FiberInspection,
  FiberRecoveryContext,
  FiberRecoveryResult,
  ListFibersOptions,
  StartFiberOptions,
  StartFiberResult,
} from "../fiber/types.ts";
import type { AgentNamespace } from "../host/namespace.ts";
import { frames } from "../protocol/frames.ts";
import { AgentTasks } from "../schedule/agent-tasks.ts";
import type {
  QueueItem,
  RetryOptions,
  Schedule,
  ScheduleCriteria,
  ScheduleOptions,
  TaskFailure,
} from "../schedule/types.ts";
import type {
  RunWorkflowOptions,
  WorkflowCallback,
  WorkflowDeleteCriteria,
  WorkflowInfo,
  WorkflowPage,
  WorkflowQueryCriteria,
} from "../workflow/agent-types.ts";
import { AgentWorkflows } from "../workflow/agent-workflows.ts";
import type { InstanceStatus } from "../workflow/types.ts";
import { AGENT_OPTIONS, AGENT_RUNTIME, AgentBase, HANDLE, MCP_STATE, REPORT_ERROR } from "./agent-base.ts";
import type { SocketRecord } from "./connection.ts";
import { replyToEmail, sendAgentEmail } from "../email/agent-email.ts";
import { agentEmailFrom, type AgentEmailPayload } from "../email/bridge.ts";
import type { AgentEmail, EmailSendResult, ReplyToEmailOptions, SendEmailOptions } from "../email/types.ts";

export { HANDLE, type ConnectionContext, type StateSource } from "./agent-base.ts";

/**
 * Base class of every agent: an addressable actor with its own SQLite database, state synced to
 * clients, WebSockets that survive hibernation, and RPC ({@link AgentBase}); plus durable time
 * (schedules, cron, queues), workflows started on its behalf, and an MCP client (`this.mcp`).
 * @example
 * export class Counter extends Agent<Env, { count: number }> {
 *   initialState = { count: 0 };
 *   @callable() increment(by: number) {
 *     this.setState({ count: this.state.count + by });
 *     return this.state.count;
 *   }
 * }
 */
export class Agent<Env = unknown, State = unknown> extends AgentBase<Env, State> {
  #tasks: AgentTasks | undefined;
  #workflows: AgentWorkflows | undefined;
  #mcp: McpRuntime | undefined;
  #fibers: AgentFibers | undefined;
  /** URL of the request or WebSocket handled last: the public address for OAuth callbacks. */
  #lastSeenUrl: string | undefined;

  /**
   * Runs `this[callback](payload, schedule)` later: at a `Date`, after a delay in **seconds**, or on
   * every match of a cron expression (5 fields or an alias such as `@daily`; `options.timezone`).
   * Durable: it survives hibernation, restarts and crashes, and runs at least once. The method must
   * exist now. Retries with jittered exponential backoff per `options.retry`.
   * @example
   * await this.schedule(60, "remind", { text: "stand up" });
   * await this.schedule(new Date("2027-01-01T09:00:00Z"), "greet");
   * await this.schedule("0 9 * * 1-5", "standup", undefined, { timezone: "Europe/Berlin" });
   */
  async schedule<T = unknown>(
    when: Date | string | number,
    callback: keyof this,
    payload?: T,
    options?: ScheduleOptions,
  ): Promise<Schedule<T>> {
    return this.#taskApi.schedule(when, callback as string, payload, options);
  }

  /**
   * Runs `this[callback](payload, schedule)` every `intervalSeconds`. Idempotent: calling it again with
   * the same callback, interval and payload (say, in every `onStart`) returns the existing schedule.
   * @example
   * async onStart() { await this.scheduleEvery(30, "poll"); }
   */
  async scheduleEvery<T = unknown>(
    intervalSeconds: number,
    callback: keyof this,
    payload?: T,
    options?: { retry?: RetryOptions },
  ): Promise<Schedule<T>> {
    return this.#taskApi.scheduleEvery(intervalSeconds, callback as string, payload, options);
  }

  /** A schedule by id, or undefined. */
  async getScheduleById<T = unknown>(id: string): Promise<Schedule<T> | undefined> {
    return this.#taskApi.getSchedule<T>(id);
  }

  /** @deprecated Synchronous form of {@link getScheduleById}. */
  getSchedule<T = unknown>(id: string): Schedule<T> | undefined {
    return this.#taskApi.getSchedule<T>(id);
  }

  /** Schedules matching the criteria, earliest first. */
  async listSchedules<T = unknown>(criteria?: ScheduleCriteria): Promise<Schedule<T>[]> {
    return this.#taskApi.listSchedules<T>(criteria);
  }

  /** @deprecated Synchronous form of {@link listSchedules}. */
  getSchedules<T = unknown>(criteria?: ScheduleCriteria): Schedule<T>[] {
    return this.#taskApi.listSchedules<T>(criteria);
  }

  /** Cancels a schedule; false when there is none with this id. */
  async cancelSchedule(id: string): Promise<boolean> {
    return this.#taskApi.cancelSchedule(id);
  }

  /**
   * Adds `this[callback](payload, item)` to the agent's durable FIFO queue: items run one at a time, in
   * order, soon after the current event; items left by a crash run when the agent wakes.
   * @example
   * const id = await this.queue("sendEmail", { to: "ada@example.com" }, { retry: { maxAttempts: 5 } });
   */
  async queue<T = unknown>(callback: keyof this, payload: T, options?: { retry?: RetryOptions; id?: string }): Promise<string> {
    return this.#taskApi.queue(callback as string, payload, options);
  }

  /** Removes a queued item; false when there is none with this id. */
  async dequeue(id: string): Promise<boolean> {
    return this.#taskApi.dequeue(id);
  }

  /** Empties the queue; returns how many items were removed. */
  async dequeueAll(): Promise<number> {
    return this.#taskApi.dequeueAll();
  }

  /** Removes the queued items of one callback; returns how many. */
  async dequeueAllByCallback(callback: string): Promise<number> {
    return this.#taskApi.dequeueAll(callback);
  }

  /** A queued item by id, or undefined. Synchronous, as documented by the Agents SDK (awaiting it works too). */
  getQueue<T = unknown>(id: string): QueueItem<T> | undefined {
    return this.#taskApi.getQueue<T>(id);
  }

  /** Queued items in order; with `key`, those whose payload has `key` equal to `value`. Synchronous. */
  getQueues<T = unknown>(key?: string, value?: unknown): QueueItem<T>[] {
    return this.#taskApi.getQueues<T>(key, value);
  }

  /** Runs that failed for good (after their last attempt) or were stopped by the crash-loop breaker, newest first. */
  async getTaskFailures(options?: { limit?: number }): Promise<TaskFailure[]> {
    return this.#taskApi.failures(options?.limit);
  }

  /** Clears a schedule's or queue item's breaker and failed attempts so it runs again; false if unknown. */
  async resetTask(id: string): Promise<boolean> {
    return this.#taskApi.resetTask(id);
  }

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

  /**
   * The MCP client: the remote servers this agent mounted, their tools, prompts and resources, and
   * their tools as AI SDK tools. Servers and their credentials live in the agent's database and
   * reconnect by themselves after hibernation or a restart.
   * @example
   * const { text } = await generateText({ model, tools: this.mcp.getAITools(), prompt: question });
   */
  get mcp(): McpClientManager {
    return this.#mcpRuntime.manager;
  }

  /**
   * Mounts a remote MCP server (Streamable HTTP, or legacy SSE) and connects to it. Resolves to
   * `{ id, state: "ready" }`, or `{ id, state: "authenticating", authUrl }` when the server wants
   * OAuth: send the user to `authUrl`; the authorization server redirects back to
   * `/agents/<class>/<name>/callback`, which this agent answers, and the server becomes ready.
   * Mounting the same name and URL again returns the same server (and retries a failed one).
   * Throws an `McpClientError` when the server cannot be reached; it stays listed as `failed`.
   * @example
   * const server = await this.addMcpServer("docs", "https://docs.example/mcp", { headers: { "x-api-key": env.KEY } });
   * if (server.state === "authenticating") return Response.redirect(server.authUrl);
   */
  async addMcpServer(name: string, url: string, options?: AddMcpServerOptions): Promise<AddMcpServerResult>;
  /**
   * Mounts an McpAgent of this host through its binding (no HTTP, no OAuth): the agent
   * `rpc:<name lowercased, spaces as ->` of that class, with `props` for its `onStart`. The binding's
   * `env` key and the props are stored, so the server comes back after hibernation and restarts.
   * @example
   * const { id } = await this.addMcpServer("counter", this.env.MY_MCP, { props: { userId: "u1" } });
   */
  async addMcpServer(name: string, binding: AgentNamespace, options?: AddRpcMcpServerOptions): Promise<{ id: string; state: "ready" }>;
  /** @deprecated Cloudflare's older positional form; pass `{ callbackHost, agentsPrefix }` instead. */
  async addMcpServer(name: string, url: string, callbackHost?: string, agentsPrefix?: string, options?: AddMcpServerOptions): Promise<AddMcpServerResult>;
  async addMcpServer(
    name: string,
    url: string | AgentNamespace,
    optionsOrHost?: AddMcpServerOptions | AddRpcMcpServerOptions | string,
    agentsPrefix?: string,
    options?: AddMcpServerOptions,
  ): Promise<AddMcpServerResult> {
    if (typeof url !== "string") return this.#mcpRuntime.addRpc(name, url, optionsOrHost as AddRpcMcpServerOptions | undefined);
    const resolved =
      typeof optionsOrHost === "string" ? { ...options, callbackHost: optionsOrHost, ...(agentsPrefix ? { agentsPrefix } : {}) } : optionsOrHost;
    return this.#mcpRuntime.add(name, url, resolved);
  }

  /**
   * Unmounts a server: stops reconnecting, ends its session and forgets its tokens.
   * @example
   * await this.removeMcpServer(id);
   */
  async removeMcpServer(id: string): Promise<void> {
    await this.#mcpRuntime.remove(id);
  }

  /**
   * The mounted servers with their state, tools, prompts and resources: what connected clients
   * receive in the `cf_agent_mcp_servers` frame (on connect and on every change).
   * @example
   * const { servers } = this.getMcpServers();
   * const waiting = Object.values(servers).filter((s) => s.state === "authenticating");
   */
  getMcpServers(): McpServersState {
    return this.#mcpRuntime.snapshot();
  }

  /**
   * Sends the `cf_agent_mcp_servers` frame to every connected client now. Hearth already sends it on
   * every change; this is for code written for the Agents SDK, which calls it after changes.
   * @example
   * this.mcp.onServerStateChanged(() => this.broadcastMcpServers());
   */
  broadcastMcpServers(): void {
    this.#mcpRuntime.changed();
  }

  /**
   * Runs `fn` as a durable fiber: recorded in this agent's database before it starts, kept in memory
   * while it runs, forgotten when it ends. If the process ends first (crash, kill, restart), the host
   * wakes the agent by itself and {@link onFiberRecovered} gets the fiber's name and last `stash()`.
   * Failures also reach `onError`, so `void this.runFiber(…)` is safe.
   * @example
   * void this.runFiber("research", async (ctx) => {
   *   const sources = await search(topic, { signal: ctx.signal });
   *   ctx.stash({ sources });
   *   this.setState({ ...this.state, report: await summarise(sources) });
   * });
   */
  runFiber<T>(name: string, fn: (ctx: FiberContext) => Promise<T>): Promise<T> {
    return this.#fiberApi.run(name, fn);
  }

  /**
   * Durably accepts background work and returns at once (or, with `waitForCompletion`, once it
   * settled). The record is kept after it ends; a second call with the same `idempotencyKey` or
   * `fiberId` joins the first (`accepted: false`).
   * @example
   * const receipt = await this.startFiber("reply", (ctx) => postReply(thread, { signal: ctx.signal }), {
   *   idempotencyKey: `webhook:${deliveryId}`,
   * });
   */
  async startFiber(name: string, fn: (ctx: FiberContext) => Promise<void>, options?: StartFiberOptions): Promise<StartFiberResult> {
    return this.#fiberApi.start(name, fn, options);
  }

  /** A `startFiber` fiber by id, or null. @example const fiber = await this.inspectFiber(receipt.fiberId); */
  async inspectFiber(fiberId: string): Promise<FiberInspection | null> {
    return this.#fiberApi.inspect(fiberId);
  }

  /** A `startFiber` fiber by idempotency key, or null. @example await this.inspectFiberByKey(`webhook:${id}`); */
  async inspectFiberByKey(idempotencyKey: string): Promise<FiberInspection | null> {
    return this.#fiberApi.inspectByKey(idempotencyKey);
  }

  /** `startFiber` fibers, newest first. @example await this.listFibers({ status: "interrupted" }); */
  async listFibers(options?: ListFibersOptions): Promise<FiberInspection[]> {
    return this.#fiberApi.list(options);
  }

  /**
   * Cancels a `startFiber` fiber that has not settled: it is recorded as aborted and its `ctx.signal`
   * aborts (cooperative: the function stops when it looks). False if unknown or settled.
   * @example await this.cancelFiber(fiberId, "superseded");
   */
  async cancelFiber(fiberId: string, reason?: string): Promise<boolean> {
    return this.#fiberApi.cancel(fiberId, reason);
  }

  /** {@link cancelFiber} by idempotency key. @example await this.cancelFiberByKey(`webhook:${id}`); */
  async cancelFiberByKey(idempotencyKey: string, reason?: string): Promise<boolean> {
    return this.#fiberApi.cancelByKey(idempotencyKey, reason);
  }

  /**
   * Deletes settled `startFiber` records (default: completed, error, aborted); returns how many.
   * @example await this.deleteFibers({ settledBefore: new Date(Date.now() - 7 * 86_400_000) });
   */
  async deleteFibers(options?: DeleteFibersOptions): Promise<number> {
    return this.#fiberApi.delete(options);
  }

  /**
   * Settles an interrupted `startFiber` fiber after recovering it yourself; false unless interrupted.
   * @example await this.resolveFiber(fiberId, { status: "completed" });
   */
  async resolveFiber(fiberId: string, result: FiberRecoveryResult): Promise<boolean> {
    return this.#fiberApi.resolve(fiberId, result);
  }

  /**
   * Replaces the checkpoint of the fiber running this code (like `ctx.stash`); durable when it
   * returns. Throws outside a fiber.
   * @example this.stash({ done: steps.slice(0, i) });
   */
  stash(data: unknown): void {
    this.#fiberApi.stash(data);
  }

  /**
   * Called at start-up, before any other event, for each fiber whose process ended while it ran, with
   * its name and last checkpoint. Resume by starting a new fiber; for a `startFiber` fiber, return how
   * it ended. A throw is retried at a later start (at most fiberRecoveryAttempts). Default: a warning.
   * @example
   * async onFiberRecovered(ctx: FiberRecoveryContext) {
   *   if (ctx.name === "research") void this.runFiber("research", (f) => this.research(ctx.snapshot, f));
   * }
   */
  onFiberRecovered(ctx: FiberRecoveryContext): Promise<void | FiberRecoveryResult> {
    console.warn(`[hearth] ${this[AGENT_RUNTIME].className}/${this.name}: fiber "${ctx.name}" (${ctx.id}) was interrupted; override onFiberRecovered to resume it`);
    return Promise.resolve();
  }

  /** Its fibers go with its storage. */
  override async destroy(): Promise<void> {
    this.#fibers?.destroying();
    await super.destroy();
  }

  get #fiberApi(): AgentFibers {
    this.#fibers ??= new AgentFibers(this[AGENT_RUNTIME], this, (error) => this[REPORT_ERROR](error), keepAliveIntervalOf(this.constructor));
    return this.#fibers;
  }

  /**
   * Receives an email that `routeAgentEmail` routed to this agent. Override it; the default logs
   * and drops the message. Runs like any event: its writes commit together, and if it throws they
   * are rolled back and the sender is asked to retry (SMTP 451).
   * @example
   * async onEmail(email: AgentEmail) {
   *   const parsed = await PostalMime.parse(await email.getRaw());
   *   this.sql`INSERT INTO inbox (sender, subject) VALUES (${email.from}, ${parsed.subject ?? ""})`;
   * }
   */
  onEmail(email: AgentEmail): void | Promise<void> {
    console.warn(`[hearth] ${this[AGENT_RUNTIME].className}/${this.name} has no onEmail; the email from ${email.from} is dropped`);
  }

  /** @internal routeAgentEmail delivers here: plain data, the message itself stays with the router. */
  async _onEmail(payload: AgentEmailPayload): Promise<void> {
    try {
      await this.onEmail(agentEmailFrom(payload));
    } catch (error) {
      this[REPORT_ERROR](error);
      throw error;
    }
  }

  /**
   * Replies to `email`'s sender from the address it was sent to, threaded, with this agent's
   * routing headers (signed with `secret`, so `createSecureReplyEmailResolver` routes the answer
   * back here). Delivered through the inbound message's `reply`: the outbound SMTP server.
   * @example
   * await this.replyToEmail(email, { fromName: "Support", body: "Thanks!", secret: this.env.EMAIL_SECRET });
   */
  async replyToEmail(email: AgentEmail, options: ReplyToEmailOptions): Promise<void> {
    await replyToEmail({ agentName: this[AGENT_RUNTIME].classSlug, agentId: this.name }, email, options);
  }

  /**
   * Sends a new email with this agent's routing headers (signed when `secret` is given), through
   * `options.binding` (Cloudflare style: `this.env.EMAIL`), else `env.EMAIL`, else `HEARTH_SMTP_URL`.
   * @example
   * await this.sendEmail({ binding: this.env.EMAIL, to: "ada@example.com", from: "bot@example.com", subject: "Hi", text: "Hello" });
   */
  async sendEmail(options: SendEmailOptions): Promise<EmailSendResult> {
    const identity = { agentName: this[AGENT_RUNTIME].classSlug, agentId: this.name };
    return sendAgentEmail(identity, this.env as Record<string, unknown>, options);
  }

  get #mcpRuntime(): McpRuntime {
    if (!this.#mcp) {
      const runtime = this[AGENT_RUNTIME];
      this.#mcp = new McpRuntime({
        db: runtime.db,
        className: runtime.className,
        classSlug: runtime.classSlug,
        name: runtime.name,
        env: this.env,
        lastSeenUrl: () => this.#lastSeenUrl,
        keepAlive: () => runtime.keepAlive(),
        write: (fn) => runtime.blockConcurrencyWhile(async () => fn()),
        report: (error) => this[REPORT_ERROR](error),
        publish: (state) => {
          const frame = frames.mcpServers(state);
          for (const record of runtime.sockets()) {
            if (record.protocol && record.connected) this.getConnection(record.id)?.send(frame);
          }
        },
      });
    }
    return this.#mcp;
  }

  get #taskApi(): AgentTasks {
    this.#tasks ??= new AgentTasks(this[AGENT_RUNTIME], this, (error) => this[REPORT_ERROR](error), this[AGENT_OPTIONS].retry);
    return this.#tasks;
  }

  get #workflowApi(): AgentWorkflows {
    const runtime = this[AGENT_RUNTIME];
    this.#workflows ??= new AgentWorkflows(runtime.db, this, { className: runtime.className, name: runtime.name });
    return this.#workflows;
  }

  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#tasks?.invalidate();
    this.#workflows?.invalidate();
    this.#mcp?.invalidate();
  }

  override [HANDLE.unload](): void {
    this.#mcp?.shutdown();
    this.#fibers?.leave();
  }

  override [MCP_STATE](): McpServersState | undefined {
    return this.#mcp?.snapshot();
  }

  /** Start-up: the stored MCP servers reconnect in the background, without the user calling anything. */
  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    let mounted = McpRuntime.hasServers(this[AGENT_RUNTIME].db);
    if (mounted) {
      // Loaded before onStart, so this.mcp.getAITools() works from there on.
      await loadModules().catch((error: unknown) => {
        mounted = false;
        this[REPORT_ERROR](new Error("The MCP client could not be loaded; mounted servers stay disconnected", { cause: error }));
      });
    }
    await super[HANDLE.start](props);
    this.#workflowApi.checkBindings(); // after onStart, where migrateWorkflowBinding() belongs
    if (mounted) {
      this.#mcpRuntime.store.tablesSeen();
      this.#mcpRuntime.restore();
    }
    // Fibers the last process left running go to onFiberRecovered, before any other event.
    await this.#fiberApi.recover();
  }

  /** The OAuth callback of a mounted server is answered here, before onRequest. */
  override async [HANDLE.request](request: Request): Promise<Response> {
    this.#lastSeenUrl = request.url;
    const callback = this.#mcp ? await this.#mcp.handleCallback(request) : undefined;
    return callback ?? super[HANDLE.request](request);
  }

  override async [HANDLE.connect](record: SocketRecord, request: Request): Promise<void> {
    this.#lastSeenUrl = request.url;
    return super[HANDLE.connect](record, request);
  }

  override async [HANDLE.message](record: SocketRecord, message: string | ArrayBuffer): Promise<void> {
    this.#lastSeenUrl = record.url;
    return super[HANDLE.message](record, message);
  }

  /** The host's dispatcher runs due tasks through this. */
  [HANDLE.tasks](): AgentTasks {
    this.#fibers?.heartbeat(); // a wake from the host's due index: keep it coming while fibers run
    return this.#taskApi;
  }
}
