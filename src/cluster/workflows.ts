import type { Host } from "../host/host.ts";
import { workflowStorePath } from "../host/timekeeper.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import type { WorkflowApi } from "../workflow/api.ts";
import type { WorkflowEngine, WorkflowOrigin } from "../workflow/engine.ts";
import type { WorkflowInstanceCreateOptions } from "../workflow/types.ts";
import type { OwnedService } from "./services.ts";

/** The service kind of a project's workflow instances; their log and lease key is `~workflows/engine`. */
export const WORKFLOWS_SERVICE = "~workflows";
const ENGINE = "engine";

/** What the workflows need of their cluster node (a `ClusterNode`). */
export interface WorkflowsClusterNode {
  serve(kind: string, service: OwnedService): void;
  callService(kind: string, name: string, method: string, args: readonly unknown[]): Promise<unknown>;
  keepHeld(kind: string, name: string, options?: { everyMs?: number; ready?: () => boolean }): void;
}

/** Options of {@link clusterWorkflows}. */
export interface ClusterWorkflowsOptions {
  /** The host's state directory: the holder caches the instances' file (`workflows.sqlite`) there. */
  stateDir: string;
  /** This node's host, once made (undefined before): the holder runs the engine in it. */
  host: () => Host | undefined;
  /** How often each node checks that a live node holds the instances; default 1,000 ms. */
  keepEveryMs?: number;
}

/**
 * Workflow instances in a cluster: all of a project's instances run on one node at a time, the holder
 * of `~workflows/engine` — its engine's file a cache of a changeset log in Postgres, like an agent's.
 * Every node's `env.<WORKFLOW>` reaches the holder; every node checks each second that a live node
 * holds the instances and claims them when none does, so instances that sleep, wait or were running
 * on a node that died resume on another without any request (as after kill -9 on one node). An answer
 * leaves the holder only once the commits it may have read are in the log.
 * Returns the API the host's bindings call (`HostPlacement.workflows`).
 * @example
 * const workflows = clusterWorkflows(node, { stateDir: dataDir, host: () => host });
 * const host = new Host({ dataDir, workflows: { Onboarding }, ...withWorkflows(node.hostOptions(() => host), workflows) });
 */
export function clusterWorkflows(node: WorkflowsClusterNode, options: ClusterWorkflowsOptions): WorkflowApi {
  const runner = () => {
    const host = options.host();
    if (host === undefined) throw new Error("this cluster node is still starting: its host is not made yet");
    return host.workflowRunner;
  };
  const engineHere = (replication: () => DatabaseReplication): WorkflowEngine => runner().workflows ?? runner().openWorkflows(replication());

  node.serve(WORKFLOWS_SERVICE, {
    file: () => workflowStorePath(options.stateDir),
    metaTable: "_hearth_meta",
    async invoke(_name, method, args, replication) {
      const engine = engineHere(replication);
      try {
        return await run(engine, method, args);
      } finally {
        // What the answer tells (even an error) may rest on commits still on their way to the log.
        await engine.store.replicated();
      }
    },
    release: () => runner().closeWorkflows(),
  });
  node.keepHeld(WORKFLOWS_SERVICE, ENGINE, { ...(options.keepEveryMs !== undefined ? { everyMs: options.keepEveryMs } : {}), ready: () => options.host() !== undefined });

  const call = <T>(method: string, args: readonly unknown[]): Promise<T> => node.callService(WORKFLOWS_SERVICE, ENGINE, method, args) as Promise<T>;
  return {
    create: (workflow, createOptions, origin) => call("create", [workflow, createOptions ?? {}, origin]),
    createBatch: (workflow, list, origin) => call("createBatch", [workflow, list, origin]),
    exists: (workflow, id) => call("exists", [workflow, id]),
    // Synchronous: known only where the engine runs; agents elsewhere follow the instances' callbacks.
    peek: (workflow, id) => options.host()?.workflowRunner.workflows?.peek(workflow, id),
    status: (workflow, id) => call("status", [workflow, id]),
    pause: (workflow, id) => call("pause", [workflow, id]),
    resume: (workflow, id) => call("resume", [workflow, id]),
    terminate: (workflow, id) => call("terminate", [workflow, id]),
    restart: (workflow, id) => call("restart", [workflow, id]),
    sendEvent: (workflow, id, event) => call("sendEvent", [workflow, id, event]),
  };
}

/** One call on the engine this node runs. */
async function run(engine: WorkflowEngine, method: string, args: readonly unknown[]): Promise<unknown> {
  const [workflow, second, third] = args as [string, unknown, unknown];
  switch (method) {
    case "open":
      return undefined;
    case "create":
      return engine.create(workflow, second as WorkflowInstanceCreateOptions, third as WorkflowOrigin | undefined);
    case "createBatch":
      return engine.createBatch(workflow, second as WorkflowInstanceCreateOptions[], third as WorkflowOrigin | undefined);
    case "exists":
      return engine.exists(workflow, second as string);
    case "status":
      return engine.status(workflow, second as string);
    case "pause":
      return engine.pause(workflow, second as string);
    case "resume":
      return engine.resume(workflow, second as string);
    case "terminate":
      return engine.terminate(workflow, second as string);
    case "restart":
      return engine.restart(workflow, second as string);
    case "sendEvent":
      return engine.sendEvent(workflow, second as string, third as { type: string; payload?: unknown });
    default:
      throw new Error(`Unknown workflow operation ${JSON.stringify(method)}`);
  }
}
