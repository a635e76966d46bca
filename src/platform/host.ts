/**
 * The host applications make: the core actor host (host/host.ts) with the platform's capabilities
 * plugged in through its named interfaces — workflows as timed work and `env` bindings, fibers as a
 * wake source, Dynamic Workers as the default `LOADER` binding. The core imports none of them; this
 * is where they meet.
 */
import { ActorHost, type ActorHostOptions } from "../host/host.ts";
import "./observability.ts"; // observability's wrappers around every request and event
import { FIBER_WAKES } from "../fiber/index-rebuild.ts";
import { WorkerLoader } from "../sandbox/loader.ts";
import type { WorkflowClass } from "../workflow/entrypoint.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";
import { HostedWorkflows, type WorkflowPlacement } from "../workflow/hosted-workflows.ts";

export type { AgentClass, TaskErrorReport } from "../host/host.ts";

/** Options of {@link Host}: the core host's, and its workflows. */
export interface HostOptions extends Omit<ActorHostOptions, "timedWork" | "defaultBindings" | "wakeSources"> {
  /** Workflow classes by binding name; each becomes `env[name]` (a WorkflowBinding). A name may not clash with an agent class, a binding or a variable. */
  workflows?: Record<string, WorkflowClass>;
  /**
   * Where the workflow instances run when not here (a cluster: the node that holds them). The host
   * then opens an engine only when told to ({@link Host.workflows}); its bindings call `api`.
   */
  workflowPlacement?: WorkflowPlacement;
}

/**
 * Runs agents, Durable Objects and workflows in this process: exactly one live instance per (class,
 * name), created on first use, hibernated when idle, woken by the next request or message.
 * @example
 * const host = new Host({ dataDir: ".hearth", agents: { Counter }, workflows: { ONBOARDING: Onboarding } });
 * const server = await serve({ host, port: 8787 });
 */
export class Host extends ActorHost {
  /** The host's workflows (bindings, engines, timers); undefined when it binds none. */
  readonly workflows: HostedWorkflows | undefined;
  readonly #loader: WorkerLoader | undefined;

  constructor(options: HostOptions) {
    const { workflows: classes, workflowPlacement, ...core } = options;
    const workflows = classes && Object.keys(classes).length > 0 ? new HostedWorkflows(classes, workflowPlacement) : undefined;
    const bindings = { ...core.bindings };
    for (const [name, binding] of Object.entries(workflows?.bindings ?? {})) {
      if (name in bindings) throw new TypeError(`The workflow binding ${name} clashes with a binding of the same name`);
      bindings[name] = binding;
    }
    const loader = new WorkerLoader();
    super({ ...core, bindings, defaultBindings: { LOADER: loader }, timedWork: workflows ? [workflows] : [], wakeSources: [FIBER_WAKES] });
    this.workflows = workflows;
    this.#loader = this.env.LOADER === loader ? loader : undefined;
  }

  /** Workflow instances executing now (sleeping and waiting ones are not in memory). */
  get workflowStats(): { running: number } {
    return { running: this.workflows?.running ?? 0 };
  }

  /** The workflow engines open here: one, or a cluster node's partitions. */
  get workflowEngines(): readonly WorkflowEngine[] {
    return this.workflows?.engines ?? [];
  }

  override async close(options?: { drainMs?: number }): Promise<void> {
    await super.close(options);
    this.#loader?.close();
  }
}

/**
 * Whether the host binds any workflow (`env.<WORKFLOW>`): on a cluster node that holds no partition
 * yet, it has workflows but no engine open.
 * @example
 * if (hasWorkflows(host)) console.log(workflowCounts(host));
 */
export function hasWorkflows(host: Host): boolean {
  return host.workflows !== undefined;
}

/**
 * How many workflow instances the engines open here have in each status (summed over a cluster
 * node's partitions); empty without workflows.
 * @example
 * const counts = workflowCounts(host); // { waiting: 3, complete: 12 }
 */
export function workflowCounts(host: Host): Record<string, number> {
  return host.workflows?.counts() ?? {};
}
