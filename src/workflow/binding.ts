import type { InstancePeek, WorkflowApi } from "./api.ts";
import type { WorkflowOrigin } from "./engine.ts";
import { WorkflowStateError } from "./errors.ts";
import { batchList, checkBatchSize, createEach, type WorkflowBatchCreateError, type WorkflowBatchCreateOptions } from "./create-batch.ts";
import type { InstanceStatus, WorkflowInstanceCreateOptions, WorkflowInstanceRestartOptions, WorkflowInstanceTerminateOptions } from "./types.ts";

/**
 * A handle on one workflow instance.
 * @example
 * const instance = await env.Onboarding.get("user-42");
 * await instance.sendEvent({ type: "approval", payload: { approved: true } });
 * console.log(await instance.status()); // { status: "running" }
 */
export class WorkflowInstance<Output = unknown> {
  readonly id: string;
  readonly #engine: WorkflowApi;
  readonly #workflow: string;

  /** @internal */
  constructor(engine: WorkflowApi, workflow: string, id: string) {
    this.#engine = engine;
    this.#workflow = workflow;
    this.id = id;
  }

  async status(): Promise<InstanceStatus<Output>> {
    return (await this.#engine.status(this.#workflow, this.id)) as InstanceStatus<Output>;
  }

  /** Stops before the next step (a running step finishes and is recorded). */
  pause(): Promise<void> {
    return this.#engine.pause(this.#workflow, this.id);
  }

  resume(): Promise<void> {
    return this.#engine.resume(this.#workflow, this.id);
  }

  /** Ends the instance for good; it runs no further step. `{ rollback: true }` is not supported yet (throws). */
  terminate(options?: WorkflowInstanceTerminateOptions): Promise<void> {
    return this.#engine.terminate(this.#workflow, this.id, options);
  }

  /**
   * Runs it again with the same params: from the start, forgetting its recorded steps, or from a
   * recorded step, keeping the results of the steps before it.
   * @example
   * await instance.restart({ from: { name: "charge", count: 2, type: "do" } });
   */
  restart(options?: WorkflowInstanceRestartOptions): Promise<void> {
    return this.#engine.restart(this.#workflow, this.id, options);
  }

  /** Delivers an event to `step.waitForEvent({ type })`, now or whenever it gets there. */
  sendEvent(event: { type: string; payload?: unknown }): Promise<void> {
    return this.#engine.sendEvent(this.#workflow, this.id, event);
  }
}

/** What the object form of `createBatch` returns: handles on the created instances, and why the others were not. */
export interface WorkflowBatchCreateResult<Output = unknown> {
  created: WorkflowInstance<Output>[];
  errors: WorkflowBatchCreateError[];
}

export const CREATE_FOR_AGENT: unique symbol = Symbol("hearth.createForAgent");
export const PEEK: unique symbol = Symbol("hearth.peek");

/**
 * The `env` binding of a workflow class: `env.Onboarding`.
 * @example
 * const instance = await env.Onboarding.create({ id: "user-42", params: { email } });
 */
export class WorkflowBinding<Params = unknown, Output = unknown> {
  /** The binding name, e.g. "Onboarding". */
  readonly name: string;
  readonly #engine: () => WorkflowApi;

  /** @internal Created by the host. */
  constructor(engine: () => WorkflowApi, name: string) {
    this.#engine = engine;
    this.name = name;
  }

  /**
   * Creates an instance; resolves once it is durable. With `retention`, its record goes that long
   * after it ends (then `get(id)` throws and the id is free again); without, it is kept for good.
   * @example
   * await env.Report.create({ params: { month }, retention: { successRetention: "1 day", errorRetention: "30 days" } });
   */
  async create(options: WorkflowInstanceCreateOptions<Params> = {}): Promise<WorkflowInstance<Output>> {
    const id = await this.#engine().create(this.name, options);
    return new WorkflowInstance<Output>(this.#engine(), this.name, id);
  }

  /**
   * Creates up to 100 instances at once. The array form (deprecated on Cloudflare) is all or none;
   * the object form creates what it can and reports each instance it could not create.
   * @example
   * const { created, errors } = await env.Report.createBatch({ instances: [{ id: "a" }, { id: "b" }] });
   * await env.Report.createBatch({ count: 10, params: { month } });
   */
  async createBatch(list: readonly WorkflowInstanceCreateOptions<Params>[]): Promise<WorkflowInstance<Output>[]>;
  async createBatch(options: WorkflowBatchCreateOptions<Params>): Promise<WorkflowBatchCreateResult<Output>>;
  async createBatch(
    batch: readonly WorkflowInstanceCreateOptions<Params>[] | WorkflowBatchCreateOptions<Params>,
  ): Promise<WorkflowInstance<Output>[] | WorkflowBatchCreateResult<Output>> {
    const handle = (id: string) => new WorkflowInstance<Output>(this.#engine(), this.name, id);
    if (Array.isArray(batch)) {
      checkBatchSize(this.name, batch.length);
      return (await this.#engine().createBatch(this.name, batch)).map(handle);
    }
    const list = batchList(this.name, batch as WorkflowBatchCreateOptions<Params>);
    if (!("instances" in batch && batch.instances !== undefined)) return { created: (await this.#engine().createBatch(this.name, list)).map(handle), errors: [] };
    const { ids, errors } = await createEach(this.#engine(), this.name, list);
    return { created: ids.map(handle), errors };
  }

  /** A handle on an existing instance; throws when there is none with this id. */
  async get(id: string): Promise<WorkflowInstance<Output>> {
    if (!(await this.#engine().exists(this.name, id))) {
      throw new WorkflowStateError(`${this.name} has no instance ${JSON.stringify(id)}`);
    }
    return new WorkflowInstance<Output>(this.#engine(), this.name, id);
  }

  /** @internal Status, error and time of the last change, synchronously and without the output; undefined for no such instance. */
  [PEEK](id: string): InstancePeek | undefined {
    return this.#engine().peek(this.name, id);
  }

  /** @internal `runWorkflow` from an agent: remembers the agent for `this.agent` and callbacks. */
  async [CREATE_FOR_AGENT](options: WorkflowInstanceCreateOptions<Params>, origin: WorkflowOrigin): Promise<string> {
    return this.#engine().create(this.name, options, origin);
  }
}

export function isWorkflowBinding(value: unknown): value is WorkflowBinding {
  return value instanceof WorkflowBinding;
}
