import type { InstancePeek, WorkflowApi } from "./api.ts";
import type { WorkflowOrigin } from "./engine.ts";
import { WorkflowStateError } from "./errors.ts";
import type { InstanceStatus, WorkflowInstanceCreateOptions } from "./types.ts";

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

  /** Ends the instance for good; it runs no further step. */
  terminate(): Promise<void> {
    return this.#engine.terminate(this.#workflow, this.id);
  }

  /** Runs it again from the start with the same params, forgetting its recorded steps. */
  restart(): Promise<void> {
    return this.#engine.restart(this.#workflow, this.id);
  }

  /** Delivers an event to `step.waitForEvent({ type })`, now or whenever it gets there. */
  sendEvent(event: { type: string; payload?: unknown }): Promise<void> {
    return this.#engine.sendEvent(this.#workflow, this.id, event);
  }
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

  /** Creates several instances at once: all or none. */
  async createBatch(list: readonly WorkflowInstanceCreateOptions<Params>[]): Promise<WorkflowInstance<Output>[]> {
    const ids = await this.#engine().createBatch(this.name, list);
    return ids.map((id) => new WorkflowInstance<Output>(this.#engine(), this.name, id));
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
