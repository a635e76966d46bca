import { isAgentNamespace } from "../host/namespace.ts";
import type { AgentDatabase } from "../storage/database.ts";
import type {
  RunWorkflowOptions,
  WorkflowCallback,
  WorkflowDeleteCriteria,
  WorkflowInfo,
  WorkflowPage,
  WorkflowQueryCriteria,
} from "./agent-types.ts";
import { CREATE_FOR_AGENT, isWorkflowBinding, PEEK, type WorkflowBinding } from "./binding.ts";
import type { ApprovalPayload } from "./entrypoint.ts";
import { WorkflowStateError } from "./errors.ts";
import { newWorkflowId, randomId } from "./ids.ts";
import { resolveRetention } from "./retention.ts";
import { isFinal, toWorkflowInfo, WorkflowTracking, type TrackingRow } from "./tracking.ts";
import type { InstanceStatus } from "./types.ts";
import { emitAgentEvent, workflowControlEvent } from "../events/index.ts";

/** What the agent side needs of the `Agent` (its state, clients and hooks). */
export interface WorkflowAgent {
  readonly env: unknown;
  readonly state: unknown;
  readonly initialState?: unknown;
  setState(state: unknown): void;
  broadcast(message: string): void;
  onWorkflowCallback(callback: WorkflowCallback): void | Promise<void>;
  onWorkflowProgress(workflowName: string, workflowId: string, progress: unknown): void | Promise<void>;
  onWorkflowComplete(workflowName: string, workflowId: string, result?: unknown): void | Promise<void>;
  onWorkflowError(workflowName: string, workflowId: string, error: string): void | Promise<void>;
  onWorkflowEvent(workflowName: string, workflowId: string, event: unknown): void | Promise<void>;
}

type Event = { type: string; payload?: unknown };
const CALLBACK_TYPES = new Set(["progress", "complete", "error", "event"]);
/** Bindings already warned about, per agent: the start-up warning is not repeated at every wake. */
const warned = new Set<string>();

/**
 * The agent's side of workflows: starting instances on its behalf (so they call back through
 * `this.agent`), tracking them in its own SQLite (`cf_agents_workflows`), controlling them by id, and
 * receiving their callbacks.
 */
export class AgentWorkflows {
  readonly #agent: WorkflowAgent;
  readonly #env: Record<string, unknown>;
  readonly #origin: { className: string; name: string };
  readonly #tracking: WorkflowTracking;

  constructor(db: AgentDatabase, agent: WorkflowAgent, origin: { className: string; name: string }) {
    this.#agent = agent;
    this.#env = (agent.env ?? {}) as Record<string, unknown>;
    this.#origin = origin;
    this.#tracking = new WorkflowTracking(db);
  }

  async run(workflowName: string, params: unknown, options: RunWorkflowOptions = {}): Promise<string> {
    const binding = this.#binding(workflowName);
    const origin = options.agentBinding === undefined ? this.#origin : { className: this.#agentBinding(options.agentBinding), name: this.#origin.name };
    const id = options.id ?? newWorkflowId();
    if (typeof id !== "string") throw new TypeError(`runWorkflow(…, { id }): the id is a string, got ${typeof id}`);
    const metadata = metadataJson(options.metadata);
    resolveRetention(options.retention, "runWorkflow(…, { retention })"); // refused before anything is tracked
    // Tracked before the instance exists, so its first callback always finds the row.
    this.#tracking.insert({ id: randomId(), workflowId: id, workflowName, metadata, now: Date.now() });
    try {
      await binding[CREATE_FOR_AGENT]({ id, params, ...(options.retention === undefined ? {} : { retention: options.retention }) }, origin);
    } catch (error) {
      this.#tracking.delete(id);
      throw error;
    }
    emitAgentEvent(this.#agent, "workflow:start", () => ({ workflowId: id, workflowName }));
    return id;
  }

  async status(nameOrId: string, maybeId?: string): Promise<InstanceStatus> {
    const { binding, id } = this.#resolve(nameOrId, maybeId, "getWorkflowStatus(workflowName, id)");
    const instance = await binding.get(id).catch((error: unknown) => {
      if (error instanceof WorkflowStateError) return undefined;
      throw error;
    });
    const status: InstanceStatus = instance ? await instance.status() : { status: "unknown" };
    const row = this.#tracking.get(id);
    // The tracking row keeps the SDK's statuses: an instance waiting for its pause is paused there.
    const tracked = status.status === "waitingForPause" ? "paused" : status.status;
    if (instance && row?.workflow_name === binding.name) this.#tracking.setStatus(id, tracked, status.error, Date.now());
    return status;
  }

  async sendEvent(nameOrId: string, idOrEvent: string | Event, maybeEvent?: Event): Promise<void> {
    const { binding, id } =
      typeof idOrEvent === "string"
        ? this.#resolve(nameOrId, idOrEvent, "sendWorkflowEvent(workflowName, id, event)")
        : this.#resolve(nameOrId, undefined, "sendWorkflowEvent(workflowName, id, event)");
    const event = typeof idOrEvent === "string" ? maybeEvent : idOrEvent;
    if (!event) throw new TypeError("sendWorkflowEvent(id, { type, payload }): the event is missing");
    await (await binding.get(id)).sendEvent(event);
    emitAgentEvent(this.#agent, "workflow:event", () => ({ workflowId: id, eventType: event.type }));
  }

  async approve(id: string, data: Omit<ApprovalPayload, "approved"> = {}): Promise<void> {
    await this.#decide("approve", id, { approved: true, reason: data.reason, metadata: data.metadata });
    emitAgentEvent(this.#agent, "workflow:approved", () => ({ workflowId: id, reason: data.reason }));
  }

  async reject(id: string, data: Omit<ApprovalPayload, "approved"> = {}): Promise<void> {
    await this.#decide("reject", id, { approved: false, reason: data.reason, ...(data.metadata ? { metadata: data.metadata } : {}) });
    emitAgentEvent(this.#agent, "workflow:rejected", () => ({ workflowId: id, reason: data.reason }));
  }

  async #decide(verb: string, id: string, payload: ApprovalPayload): Promise<void> {
    const { binding } = this.#tracked(id);
    try {
      await (await binding.get(id)).sendEvent({ type: "approval", payload });
      emitAgentEvent(this.#agent, "workflow:event", () => ({ workflowId: id, eventType: "approval" }));
    } catch (error) {
      if (!(error instanceof WorkflowStateError)) throw error;
      const { status } = await this.status(binding.name, id);
      throw new WorkflowStateError(`Cannot ${verb} workflow instance ${id}: it is ${status}, no longer waiting for a decision`, {
        cause: error,
      });
    }
  }

  async control(action: "pause" | "resume" | "terminate", id: string): Promise<void> {
    const { binding, row } = this.#tracked(id);
    await (await binding.get(id))[action]();
    this.#sync(row);
    emitAgentEvent(this.#agent, workflowControlEvent(action), () => ({ workflowId: id, workflowName: binding.name }));
  }

  async restart(id: string, options: { resetTracking?: boolean } = {}): Promise<void> {
    const { binding, row } = this.#tracked(id);
    await (await binding.get(id)).restart();
    emitAgentEvent(this.#agent, "workflow:restarted", () => ({ workflowId: id, workflowName: binding.name }));
    if (options.resetTracking ?? true) this.#tracking.reset(id, Date.now());
    else this.#sync(row);
  }

  get(id: string): WorkflowInfo | undefined {
    const row = this.#tracking.get(id);
    if (!row) return undefined;
    this.#refresh(row);
    return toWorkflowInfo(this.#tracking.get(id) ?? row);
  }

  list(criteria: WorkflowQueryCriteria = {}): WorkflowPage {
    this.#refreshAll();
    const { rows, total, nextCursor } = this.#tracking.page(criteria ?? {});
    return { workflows: rows.map(toWorkflowInfo), total, nextCursor };
  }

  delete(id: string): boolean {
    return this.#tracking.delete(id);
  }

  deleteWhere(criteria: WorkflowDeleteCriteria = {}): number {
    if (criteria?.status !== undefined) this.#refreshAll();
    return this.#tracking.deleteWhere(criteria ?? {});
  }

  migrateBinding(oldName: string, newName: string): number {
    this.#binding(newName);
    const count = this.#tracking.rename(oldName, newName);
    if (count > 0) console.log(`[hearth] ${this.#who()}: migrated ${count} workflow(s) from '${oldName}' to '${newName}'`);
    return count;
  }

  /** At start-up: tracked workflows whose binding is gone (renamed?) get a warning with the call that fixes it. */
  checkBindings(): void {
    let names: ReturnType<WorkflowTracking["byName"]>;
    try {
      names = this.#tracking.byName();
    } catch (error) {
      console.error(`[hearth] ${this.#who()}: could not read the workflows it tracks:`, error); // the agent starts anyway
      return;
    }
    const orphans = names.filter((row) => !isWorkflowBinding(this.#env[row.workflow_name]));
    if (orphans.length === 0) return;
    const current = this.#bindingNames();
    for (const { workflow_name: oldName, total, active, completed } of orphans) {
      const key = `${this.#who()}\0${oldName}`;
      if (warned.has(key)) continue;
      warned.add(key);
      const suggestion = `this.migrateWorkflowBinding('${oldName}', '${current.length === 1 ? current[0] : "<NEW_BINDING_NAME>"}')`;
      const breakdown = active > 0 && completed > 0 ? `${active} active, ${completed} completed` : active > 0 ? `${active} active` : `${completed} completed`;
      console.warn(
        `[hearth] ${this.#who()}: Found ${total} workflow(s) referencing unknown binding '${oldName}' (${breakdown}). If you renamed the binding, call: ${suggestion}`,
      );
    }
  }

  /** A callback from a workflow: the tracking row catches up with the instance, then the agent's hook runs. */
  async handleCallback(callback: WorkflowCallback): Promise<void> {
    if (typeof callback !== "object" || callback === null || !CALLBACK_TYPES.has(callback.type) || typeof callback.workflowId !== "string") {
      throw new TypeError("A workflow callback is { workflowName, workflowId, type: progress | complete | error | event, … }");
    }
    const row = this.#tracking.get(callback.workflowId);
    if (row) this.#refresh(row);
    await this.#agent.onWorkflowCallback(callback);
  }

  /** The default `onWorkflowCallback`: one hook per callback type. */
  async dispatch(callback: WorkflowCallback): Promise<void> {
    const { workflowName, workflowId } = callback;
    if (callback.type === "progress") await this.#agent.onWorkflowProgress(workflowName, workflowId, callback.progress);
    else if (callback.type === "complete") await this.#agent.onWorkflowComplete(workflowName, workflowId, callback.result);
    else if (callback.type === "error") await this.#agent.onWorkflowError(workflowName, workflowId, callback.error);
    else await this.#agent.onWorkflowEvent(workflowName, workflowId, callback.event);
  }

  broadcast(message: unknown): void {
    this.#agent.broadcast(JSON.stringify(message));
  }

  updateState(action: "set" | "merge" | "reset", state?: unknown): void {
    if (action === "set") this.#agent.setState(state);
    else if (action === "reset") this.#agent.setState(this.#agent.initialState);
    else if (action === "merge") {
      if (typeof state !== "object" || state === null || Array.isArray(state)) throw new TypeError("mergeAgentState(partial): an object of keys to set");
      const current = this.#agent.state;
      this.#agent.setState({ ...(typeof current === "object" && current !== null ? current : {}), ...state });
    } else throw new TypeError(`Unknown state action ${JSON.stringify(action)}`);
  }

  invalidate(): void {
    this.#tracking.invalidate();
  }

  /** Brings an unfinished row up to date with its instance (finished ones change only by restartWorkflow). */
  #refresh(row: Pick<TrackingRow, "workflow_id" | "workflow_name" | "status">): void {
    if (!isFinal(row.status)) this.#sync(row);
  }

  /** Copies the instance's status to the row, when the instance is known here. */
  #sync(row: Pick<TrackingRow, "workflow_id" | "workflow_name">): void {
    const binding = this.#env[row.workflow_name];
    const seen = isWorkflowBinding(binding) ? binding[PEEK](row.workflow_id) : undefined;
    if (seen) this.#tracking.setStatus(row.workflow_id, seen.status, seen.error, seen.updatedAt);
  }

  #refreshAll(): void {
    for (const row of this.#tracking.unfinished()) this.#refresh(row);
  }

  /** `(id)` looks the workflow up among those this agent tracks; `(name, id)` names it. */
  #resolve(nameOrId: string, maybeId: string | undefined, form: string): { binding: WorkflowBinding; id: string } {
    if (maybeId !== undefined) return { binding: this.#binding(nameOrId), id: maybeId };
    const row = this.#tracking.get(nameOrId);
    if (!row) throw new Error(`Workflow ${nameOrId} not found in tracking table; for an instance this agent did not start, call ${form}`);
    return { binding: this.#binding(row.workflow_name), id: nameOrId };
  }

  #tracked(id: string): { binding: WorkflowBinding; row: TrackingRow } {
    const row = this.#tracking.get(id);
    if (!row) throw new Error(`Workflow ${id} not found in tracking table`);
    return { binding: this.#binding(row.workflow_name), row };
  }

  #binding(name: string): WorkflowBinding {
    const binding = this.#env[name];
    if (!isWorkflowBinding(binding)) {
      throw new Error(`Workflow binding '${name}' not found in environment (workflow bindings: ${this.#bindingNames().join(", ") || "none"})`);
    }
    return binding;
  }

  #agentBinding(name: string): string {
    if (!isAgentNamespace(this.#env[name])) throw new Error(`Agent binding '${name}' not found in environment`);
    return name;
  }

  #bindingNames(): string[] {
    return Object.entries(this.#env)
      .filter(([, value]) => isWorkflowBinding(value))
      .map(([key]) => key);
  }

  #who(): string {
    return `${this.#origin.className}/${this.#origin.name}`;
  }
}

function metadataJson(metadata: unknown): string | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== "object" || Array.isArray(metadata)) throw new TypeError("runWorkflow(…, { metadata }): an object of JSON values");
  try {
    return JSON.stringify(metadata);
  } catch (error) {
    throw new TypeError(`runWorkflow(…, { metadata }): not JSON (${(error as Error).message})`, { cause: error });
  }
}
