import type { Host } from "../platform/host.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import type { WorkflowApi } from "../workflow/api.ts";
import type { WorkflowEngine, WorkflowOrigin } from "../workflow/engine.ts";
import { workflowStorePath, type WorkflowPlacement } from "../workflow/hosted-workflows.ts";
import { prepareInstances } from "../workflow/create-options.ts";
import { WorkflowStateError } from "../workflow/errors.ts";
import type { WorkflowInstanceCreateOptions, WorkflowInstanceRestartOptions, WorkflowInstanceTerminateOptions } from "../workflow/types.ts";
import type { OwnedService } from "./services.ts";

/** The service kind of a project's workflow instances; each partition's log and lease key is `~workflows/p<n>`. */
export const WORKFLOWS_SERVICE = "~workflows";

/**
 * How many partitions a cluster splits its workflow instances into: each is held by one node, so the
 * instances spread over up to this many nodes. Fixed: an instance's partition comes from its id
 * alone, and changing the count would lose track of existing ones.
 */
export const WORKFLOW_PARTITIONS = 16;

/** The partitions' names, `p0` … `p15`. */
export const WORKFLOW_PARTITION_NAMES: readonly string[] = Array.from({ length: WORKFLOW_PARTITIONS }, (_, index) => `p${index}`);

/**
 * The partition that holds instance `id` of `workflow`: FNV-1a of the UTF-16 code units of
 * `workflow NUL id`, modulo {@link WORKFLOW_PARTITIONS} (the same on every node and every version).
 * @example
 * workflowPartitionOf("Onboarding", "user-42"); // e.g. "p7"
 */
export function workflowPartitionOf(workflow: string, id: string): string {
  let hash = 0x811c9dc5;
  const key = `${workflow}\0${id}`;
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `p${hash % WORKFLOW_PARTITIONS}`;
}

/** What the workflows need of their cluster node (a `ClusterNode`). */
export interface WorkflowsClusterNode {
  serve(kind: string, service: OwnedService): void;
  callService(kind: string, name: string, method: string, args: readonly unknown[]): Promise<unknown>;
  keepHeld(kind: string, names: readonly string[], ready?: () => boolean): void;
}

/** Options of {@link clusterWorkflows}. */
export interface ClusterWorkflowsOptions {
  /** The host's state directory: a holder caches each partition's instances there (`workflows-p<n>.sqlite`). */
  stateDir: string;
  /** This node's host, once made (undefined before): a holder runs the partition's engine in it. */
  host: () => Host | undefined;
}

/**
 * Workflow instances in a cluster, spread over the nodes: each instance belongs to one of
 * {@link WORKFLOW_PARTITIONS} partitions (by its id), and each partition is held by one node at a
 * time — its engine's file a cache of a changeset log in Postgres, like an agent's. Every node's
 * `env.<WORKFLOW>` reaches the holder of the instance's partition. The nodes keep every partition
 * held without any request, each by its preferred live node (`ClusterNode.keepHeld`), so instances
 * that sleep, wait or were running on a node that died resume on another (as after kill -9 on one
 * node), and a node that joins takes its share once nothing is under way in it. An answer leaves the
 * holder only once the commits it may have read are in the log.
 * Returns the host's workflow placement: the API its bindings call and the partition of an instance.
 * @example
 * const { placement, replication } = node.hostOptions(() => host);
 * const workflowPlacement = clusterWorkflows(node, { stateDir: dataDir, host: () => host });
 * const host = new Host({ dataDir, workflows: { Onboarding }, placement, workflowPlacement, replication });
 */
export function clusterWorkflows(node: WorkflowsClusterNode, options: ClusterWorkflowsOptions): Required<WorkflowPlacement> {
  const runner = () => {
    const workflows = options.host()?.workflows;
    if (workflows === undefined) throw new Error("this cluster node is still starting: its host is not made yet");
    return workflows;
  };
  const engineHere = (partition: string, replication: () => DatabaseReplication): WorkflowEngine => runner().engine(partition) ?? runner().open(replication(), partition);
  /** Calls under way on each partition held here: it moves only when none is. */
  const calls = new Map<string, number>();

  node.serve(WORKFLOWS_SERVICE, {
    file: (partition) => workflowStorePath(options.stateDir, partition),
    metaTable: "_hearth_meta",
    async invoke(partition, method, args, replication) {
      calls.set(partition, (calls.get(partition) ?? 0) + 1);
      try {
        const engine = engineHere(partition, replication);
        try {
          return await run(engine, method, args);
        } finally {
          // What the answer tells (even an error) may rest on commits still on their way to the log.
          await engine.store.replicated();
        }
      } finally {
        calls.set(partition, calls.get(partition)! - 1);
      }
    },
    release: (partition) => runner().closePartition(partition),
    movable: (partition) => (calls.get(partition) ?? 0) === 0 && (options.host()?.workflows?.engine(partition)?.runningCount ?? 0) === 0,
  });
  node.keepHeld(WORKFLOWS_SERVICE, WORKFLOW_PARTITION_NAMES, () => options.host() !== undefined);

  const call = <T>(workflow: string, id: string, method: string, args: readonly unknown[]): Promise<T> =>
    node.callService(WORKFLOWS_SERVICE, workflowPartitionOf(workflow, id), method, [workflow, ...args]) as Promise<T>;
  const createBatch = async (workflow: string, list: readonly WorkflowInstanceCreateOptions[], origin?: WorkflowOrigin): Promise<string[]> => {
    // Ids are chosen here (the partition comes from the id); the options are checked before anything is written.
    const prepared = prepareInstances(workflow, list).map(({ id }, index) => ({ ...list[index], id }));
    const byPartition = Map.groupBy(prepared, (one) => workflowPartitionOf(workflow, one.id));
    if (byPartition.size > 1) {
      // Each partition's part is written in a transaction of its own: check every id first, so a
      // batch naming an instance that exists creates none (as on one node).
      const taken = await Promise.all(prepared.map(async (one) => ((await call<boolean>(workflow, one.id, "exists", [one.id])) ? one.id : undefined)));
      const existing = taken.find((id) => id !== undefined);
      if (existing !== undefined) throw new WorkflowStateError(`${workflow} instance ${existing} already exists`);
    }
    await Promise.all([...byPartition.values()].map((part) => call(workflow, part[0]!.id, "createBatch", [part, origin])));
    return prepared.map((one) => one.id);
  };
  const workflows: WorkflowApi = {
    create: async (workflow, createOptions, origin) => (await createBatch(workflow, [createOptions ?? {}], origin))[0]!,
    createBatch,
    exists: (workflow, id) => call(workflow, id, "exists", [id]),
    // Synchronous: known only where the partition is held; agents elsewhere follow the instances' callbacks.
    peek: (workflow, id) => options.host()?.workflows?.engine(workflowPartitionOf(workflow, id))?.peek(workflow, id),
    status: (workflow, id) => call(workflow, id, "status", [id]),
    pause: (workflow, id) => call(workflow, id, "pause", [id]),
    resume: (workflow, id) => call(workflow, id, "resume", [id]),
    terminate: (workflow, id, terminateOptions) => call(workflow, id, "terminate", [id, terminateOptions]),
    restart: (workflow, id, restartOptions) => call(workflow, id, "restart", [id, restartOptions]),
    sendEvent: (workflow, id, event) => call(workflow, id, "sendEvent", [id, event]),
  };
  return { api: workflows, partition: workflowPartitionOf };
}

/** One call on the engine this node runs. */
async function run(engine: WorkflowEngine, method: string, args: readonly unknown[]): Promise<unknown> {
  const [workflow, second, third] = args as [string, unknown, unknown];
  switch (method) {
    case "open":
      return undefined; // opening the engine (done by the caller) is the whole point
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
      return engine.terminate(workflow, second as string, third as WorkflowInstanceTerminateOptions | undefined);
    case "restart":
      return engine.restart(workflow, second as string, third as WorkflowInstanceRestartOptions | undefined);
    case "sendEvent":
      return engine.sendEvent(workflow, second as string, third as { type: string; payload?: unknown });
    default:
      throw new Error(`Unknown workflow operation ${JSON.stringify(method)}`);
  }
}
