import type { Host } from "../../platform/host.ts";
import type { WorkflowApi } from "../../workflow/api.ts";
import type { WorkflowEngine } from "../../workflow/engine.ts";
import type { WorkflowPlacement } from "../../workflow/hosted-workflows.ts";
import type { InstanceStatus } from "../../workflow/types.ts";
import { heldObjects, remoteCaller, type ServiceShard } from "./held.ts";

/** The service kind of the workflow engine (one per process, on the first thread). */
export const WORKFLOWS_SERVICE = "~workflows";

/** What the engine answers to the other threads (the WorkflowApi, less `peek`: synchronous, so only where the engine runs). */
const METHODS = ["create", "createBatch", "exists", "status", "pause", "resume", "terminate", "restart", "sendEvent"] as const satisfies ReadonlyArray<keyof WorkflowEngine>;

/**
 * Workflow instances shared by the threads of one process: the first thread's host runs the one
 * engine (its file, timers and steps, as on one thread), and `env.<WORKFLOW>` on every other thread
 * reaches it. Steps call agents through `env` like any code, so an instance reaches the agents of
 * every thread. Returns the host's workflow placement: on the first thread none (the host opens its
 * engine itself), elsewhere the API its bindings call.
 * @example
 * const host = new Host({ dataDir, agents, workflows, workflowPlacement: threadWorkflows(shard, () => host) });
 */
export function threadWorkflows(shard: ServiceShard, host: () => Host | undefined): WorkflowPlacement | undefined {
  if (shard.holdsServices) {
    const engines = { get: (name: string): WorkflowEngine | undefined => (name === "" ? host()?.workflows?.engine("") : undefined) };
    shard.serve(WORKFLOWS_SERVICE, heldObjects(engines, [...METHODS], "workflow engine"));
    return undefined;
  }
  const call = remoteCaller(shard, WORKFLOWS_SERVICE, "");
  const workflows: WorkflowApi = {
    create: (workflow, options, origin) => call<string>("create", workflow, options, origin),
    createBatch: (workflow, list, origin) => call<string[]>("createBatch", workflow, list, origin),
    exists: (workflow, id) => call<boolean>("exists", workflow, id),
    // Known only where the engine runs: agents here follow their instances through callbacks.
    peek: () => undefined,
    status: (workflow, id) => call<InstanceStatus>("status", workflow, id),
    pause: (workflow, id) => call<void>("pause", workflow, id),
    resume: (workflow, id) => call<void>("resume", workflow, id),
    terminate: (workflow, id) => call<void>("terminate", workflow, id),
    restart: (workflow, id) => call<void>("restart", workflow, id),
    sendEvent: (workflow, id, event) => call<void>("sendEvent", workflow, id, event),
  };
  return { api: workflows };
}
