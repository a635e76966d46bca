import type { AgentDatabase } from "../storage/database.ts";
import { CREATE_FOR_AGENT, isWorkflowBinding, STATUS_NOW, type WorkflowBinding } from "./binding.ts";
import type { ApprovalPayload } from "./entrypoint.ts";
import { WorkflowStateError } from "./errors.ts";
import type { InstanceStatus } from "./types.ts";

/** A workflow instance an agent started, as `getWorkflows()` lists it. */
export interface TrackedWorkflow {
  workflowId: string;
  workflowName: string;
  createdAt: Date;
  metadata: Record<string, unknown> | null;
  /** The instance's status now (with its output or error). */
  status: InstanceStatus;
}

/** Options of `runWorkflow`. */
export interface RunWorkflowOptions {
  /** The instance id. Default: a UUID. */
  id?: string;
  /** Kept with the agent's record of the instance (`getWorkflows()`). */
  metadata?: Record<string, unknown>;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS _hearth_workflows (
  workflow_id TEXT NOT NULL, workflow_name TEXT NOT NULL, created_at INTEGER NOT NULL, metadata TEXT,
  PRIMARY KEY (workflow_name, workflow_id))`;

/**
 * The agent's side of workflows: starting instances on its own behalf (so they can call back through
 * `this.agent` and report progress), and remembering which instances it started, in its database.
 */
export class AgentWorkflows {
  readonly #db: AgentDatabase;
  readonly #env: Record<string, unknown>;
  readonly #origin: { className: string; name: string };
  #ready = false;

  constructor(db: AgentDatabase, env: unknown, origin: { className: string; name: string }) {
    this.#db = db;
    this.#env = (env ?? {}) as Record<string, unknown>;
    this.#origin = origin;
  }

  async run(workflowName: string, params: unknown, options: RunWorkflowOptions = {}): Promise<string> {
    const binding = this.#binding(workflowName);
    const id = await binding[CREATE_FOR_AGENT]({ ...(options.id === undefined ? {} : { id: options.id }), params }, this.#origin);
    this.#ensure();
    this.#db
      .statement("INSERT OR REPLACE INTO _hearth_workflows (workflow_id, workflow_name, created_at, metadata) VALUES (?, ?, ?, ?)")
      .run(id, workflowName, Date.now(), options.metadata === undefined ? null : JSON.stringify(options.metadata));
    return id;
  }

  async status(nameOrId: string, maybeId?: string): Promise<InstanceStatus> {
    const { binding, id } = this.#resolve(nameOrId, maybeId);
    const instance = await binding.get(id).catch((error: unknown) => {
      if (error instanceof WorkflowStateError) return undefined;
      throw error;
    });
    return instance ? instance.status() : { status: "unknown" };
  }

  async sendEvent(nameOrId: string, idOrEvent: string | { type: string; payload?: unknown }, maybeEvent?: { type: string; payload?: unknown }): Promise<void> {
    const { binding, id } = typeof idOrEvent === "string" ? this.#resolve(nameOrId, idOrEvent) : this.#resolve(nameOrId);
    const event = typeof idOrEvent === "string" ? maybeEvent : idOrEvent;
    if (!event) throw new TypeError("sendWorkflowEvent(id, { type, payload }): the event is missing");
    await (await binding.get(id)).sendEvent(event);
  }

  async approve(id: string, payload: Omit<ApprovalPayload, "approved">): Promise<void> {
    await this.#decide("approve", id, { ...payload, approved: true });
  }

  async reject(id: string, payload: Omit<ApprovalPayload, "approved">): Promise<void> {
    await this.#decide("reject", id, { ...payload, approved: false });
  }

  async #decide(verb: string, id: string, payload: ApprovalPayload): Promise<void> {
    try {
      await this.sendEvent(id, { type: "approval", payload });
    } catch (error) {
      if (!(error instanceof WorkflowStateError)) throw error;
      const { status } = await this.status(id);
      throw new WorkflowStateError(`Cannot ${verb} workflow instance ${id}: it is ${status}, no longer waiting for a decision`, {
        cause: error,
      });
    }
  }

  async control(action: "pause" | "resume" | "terminate" | "restart", nameOrId: string, maybeId?: string): Promise<void> {
    const { binding, id } = this.#resolve(nameOrId, maybeId);
    await (await binding.get(id))[action]();
  }

  list(): TrackedWorkflow[] {
    if (!this.#exists()) return [];
    const rows = this.#db.statement("SELECT * FROM _hearth_workflows ORDER BY created_at, workflow_id").all() as Array<{
      workflow_id: string;
      workflow_name: string;
      created_at: number;
      metadata: string | null;
    }>;
    return rows.map((row) => {
      const binding = this.#env[row.workflow_name];
      return {
        workflowId: row.workflow_id,
        workflowName: row.workflow_name,
        createdAt: new Date(row.created_at),
        metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
        status: isWorkflowBinding(binding) ? binding[STATUS_NOW](row.workflow_id) : { status: "unknown" },
      };
    });
  }

  /** `(id)` looks the workflow up among those this agent started; `(name, id)` names it. */
  #resolve(nameOrId: string, maybeId?: string): { binding: WorkflowBinding; id: string } {
    if (maybeId !== undefined) return { binding: this.#binding(nameOrId), id: maybeId };
    const row = this.#exists()
      ? (this.#db
          .statement("SELECT workflow_name FROM _hearth_workflows WHERE workflow_id = ? ORDER BY created_at DESC LIMIT 1")
          .get(nameOrId) as { workflow_name: string } | undefined)
      : undefined;
    if (!row) {
      throw new Error(
        `This agent did not start a workflow instance ${JSON.stringify(nameOrId)}; pass the workflow's binding name too: (workflowName, id)`,
      );
    }
    return { binding: this.#binding(row.workflow_name), id: nameOrId };
  }

  #binding(name: string): WorkflowBinding {
    const binding = this.#env[name];
    if (!isWorkflowBinding(binding)) {
      const known = Object.entries(this.#env).filter(([, value]) => isWorkflowBinding(value)).map(([key]) => key);
      throw new TypeError(`No workflow binding ${JSON.stringify(name)} in env; known: ${known.join(", ") || "none"}`);
    }
    return binding;
  }

  #exists(): boolean {
    if (this.#ready) return true;
    this.#ready = this.#db.statement("SELECT 1 AS x FROM sqlite_master WHERE name = '_hearth_workflows'").get() !== undefined;
    return this.#ready;
  }

  #ensure(): void {
    if (!this.#exists()) {
      this.#db.execScript(SCHEMA);
      this.#ready = true;
    }
  }

  invalidate(): void {
    this.#ready = false;
  }
}
