/**
 * A host's workflows: their `env` bindings, the engines that run their instances (one, or one per
 * partition a cluster node holds) and the instances' timers in the host's due index. Plugged into
 * the host as timed work (host/timed-work.ts); the host knows nothing else of workflows.
 */
import { join } from "node:path";
import { twoCopiesHint } from "../host/class-registry.ts";
import type { TimedEntry, TimedWork, TimedWorkHost } from "../host/timed-work.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import type { WorkflowApi } from "./api.ts";
import { WorkflowBinding } from "./binding.ts";
import { WorkflowEngine } from "./engine.ts";
import { WorkflowEntrypoint, type WorkflowClass } from "./entrypoint.ts";
import { WorkflowStore } from "./store.ts";

/** Where a cluster runs the instances, instead of this host: the host opens an engine only when told to. */
export interface WorkflowPlacement {
  /** Where the bindings send their calls (the node that holds each instance). */
  readonly api: WorkflowApi;
  /** Which partition (engine) holds an instance; without it, one engine holds them all. */
  readonly partition?: (workflow: string, id: string) => string;
}

/**
 * The file of a host's workflow instances: `workflows.sqlite`, or `workflows-<partition>.sqlite` for
 * one partition of them (a cluster spreads the instances over nodes by partition).
 */
export function workflowStorePath(stateDir: string, partition = ""): string {
  return join(stateDir, partition === "" ? "workflows.sqlite" : `workflows-${partition}.sqlite`);
}

/**
 * The workflow classes of one host, as timed work under the prefix `workflow:`.
 * @example
 * const workflows = new HostedWorkflows({ ONBOARDING: Onboarding });
 * const host = new ActorHost({ dataDir, agents, bindings: workflows.bindings, timedWork: [workflows] });
 */
export class HostedWorkflows implements TimedWork {
  readonly prefix = "workflow:";
  /** One `env` binding per workflow class, by binding name. */
  readonly bindings: Readonly<Record<string, WorkflowBinding>>;
  readonly #classes: ReadonlyMap<string, WorkflowClass>;
  readonly #placement: WorkflowPlacement | undefined;
  /** The engines open here, by partition (`""`: a host's only one). */
  readonly #engines = new Map<string, WorkflowEngine>();
  #host: TimedWorkHost | undefined;
  /** Timers of instances that park, written in one batch before the store's commit that marks them waiting. */
  #wakes: TimedEntry[] = [];

  /** Checks the classes (each must extend WorkflowEntrypoint) and makes their bindings. */
  constructor(classes: Readonly<Record<string, WorkflowClass>>, placement?: WorkflowPlacement) {
    const checked = new Map<string, WorkflowClass>();
    const bindings: Record<string, WorkflowBinding> = {};
    const api = () => placement?.api ?? this.#onlyEngine();
    for (const [name, ctor] of Object.entries(classes)) {
      if (typeof ctor !== "function" || !(ctor.prototype instanceof WorkflowEntrypoint)) {
        throw new TypeError(`workflows.${name} is not a class that extends WorkflowEntrypoint${twoCopiesHint(ctor, "WorkflowEntrypoint")}`);
      }
      checked.set(name, ctor);
      bindings[name] = new WorkflowBinding(api, name);
    }
    this.#classes = checked;
    this.bindings = bindings;
    this.#placement = placement;
  }

  attach(host: TimedWorkHost): void {
    this.#host = host;
    if (!this.#placement && this.#classes.size > 0) this.#engines.set("", this.#open(""));
  }

  wake(workflow: string, id: string): Promise<number | null> {
    // The entry goes once the instance is durably running (then the boot scan covers a crash); the
    // instance sets its next timer itself when it waits again. An instance of a partition held
    // elsewhere now: its holder armed its own timer when it opened it.
    const partition = this.#placement?.partition?.(workflow, id) ?? "";
    return this.#engines.get(partition)?.wake(workflow, id) ?? Promise.resolve(null);
  }

  start(freshIndex: boolean): void {
    for (const engine of this.#engines.values()) engine.boot({ includeWaiting: freshIndex });
  }

  get running(): number {
    let count = 0;
    for (const engine of this.#engines.values()) count += engine.runningCount;
    return count;
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#engines.values()].map((engine) => engine.idle()));
  }

  close(): void {
    this.#flushWakes();
    for (const engine of this.#engines.values()) engine.close();
    this.#engines.clear();
  }

  /** Every engine open here (a cluster node: one per partition it holds). */
  get engines(): WorkflowEngine[] {
    return [...this.#engines.values()];
  }

  /** The engine of `partition`, while it is open here. */
  engine(partition: string): WorkflowEngine | undefined {
    return this.#engines.get(partition);
  }

  /**
   * Opens the engine of `partition` where a placement runs the instances (a cluster node that now
   * holds them, its file rebuilt from the log): every unfinished instance resumes, waiting ones get
   * their timers here.
   */
  open(replication?: DatabaseReplication, partition = ""): WorkflowEngine {
    const open = this.#engines.get(partition);
    if (open) return open;
    if (this.#classes.size === 0) throw new Error("This host runs no workflows");
    const engine = this.#open(partition, replication);
    this.#engines.set(partition, engine);
    engine.boot({ includeWaiting: true });
    return engine;
  }

  /** Closes the engine of `partition` opened on demand (its instances moved elsewhere); its timers here then find nothing. */
  closePartition(partition = ""): void {
    const engine = this.#engines.get(partition);
    this.#engines.delete(partition);
    engine?.close();
  }

  /** How many instances the engines open here have in each status (summed over partitions). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const engine of this.#engines.values()) {
      for (const { status, n } of engine.store.all<{ status: string; n: number }>("SELECT status, count(*) AS n FROM instances GROUP BY status")) {
        counts[status] = (counts[status] ?? 0) + n;
      }
    }
    return counts;
  }

  #open(partition: string, replication?: DatabaseReplication): WorkflowEngine {
    const host = this.#attached();
    const store = new WorkflowStore(workflowStorePath(host.stateDir, partition), host.durability, () => this.#flushWakes(), replication);
    return new WorkflowEngine(store, this.#classes, {
      env: host.env,
      clock: host.clock,
      agentStub: (className, name) => host.agentStub(className, name) as never,
      notifyAgent: (className, name, method, args) => host.notifyAgent(className, name, method, args),
      wakeAt: (workflow, id, at) => {
        this.#wakes.push({ key: workflow, name: id, at });
      },
    });
  }

  #flushWakes(): void {
    if (this.#wakes.length === 0) return;
    const wakes = this.#wakes;
    this.#wakes = [];
    this.#host?.lowerTimers(wakes);
  }

  #onlyEngine(): WorkflowEngine {
    const engine = this.#engines.get("");
    if (!engine) throw new Error("This host runs no workflows");
    return engine;
  }

  #attached(): TimedWorkHost {
    if (!this.#host) throw new Error("The workflows are not attached to a host yet");
    return this.#host;
  }
}
