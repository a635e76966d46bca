import { callbackOf, type WorkflowCallbackBody } from "./agent-types.ts";
import { WORKFLOW_RUNTIME, type WorkflowContext, type WorkflowRuntime } from "./entrypoint.ts";
import type { EngineHost } from "./engine.ts";
import type { WorkflowRun } from "./run.ts";
import type { InstanceRow } from "./store.ts";

/** The agent method that receives every callback of a workflow it started (the name Cloudflare's SDK uses). */
export const AGENT_CALLBACK = "_workflow_handleCallback";
/** The agent method that broadcasts a workflow's message to the agent's clients. */
export const AGENT_BROADCAST = "_workflow_broadcast";

/** What one execution's workflow object gets: its identity, its agent, and best-effort messages to it. */
export function createRuntime(row: InstanceRow, run: WorkflowRun, host: EngineHost): WorkflowRuntime {
  const origin = row.agent_class && row.agent_name !== null ? { className: row.agent_class, name: row.agent_name } : undefined;
  const notify = async (method: string, arg: unknown) => {
    if (origin) await host.notifyAgent(origin.className, origin.name, method, [arg]);
  };
  const callback = (body: WorkflowCallbackBody) => callbackOf(row.workflow, row.id, host.clock.now(), body);
  return {
    workflow: row.workflow,
    instanceId: row.id,
    agentStub: () => (origin ? host.agentStub(origin.className, origin.name) : undefined),
    agentLabel: origin ? `${origin.className}/${origin.name.replaceAll("\0", "/")}` : undefined,
    get live() {
      return run.live && !run.stopped;
    },
    reported: { complete: false, error: false },
    callback,
    reportProgress: (progress) => notify(AGENT_CALLBACK, callback({ type: "progress", progress })),
    broadcast: (message) => notify(AGENT_BROADCAST, message),
  };
}

/** Tells the agent that started the instance (if one did) how it ended; best effort, logged on failure. */
export async function reportEnd(row: InstanceRow, host: EngineHost, body: WorkflowCallbackBody): Promise<void> {
  if (!row.agent_class || row.agent_name === null) return;
  await host.notifyAgent(row.agent_class, row.agent_name, AGENT_CALLBACK, [callbackOf(row.workflow, row.id, host.clock.now(), body)]);
}

/** The `ctx` of a workflow object: Cloudflare's `ExecutionContext` members, and the runtime for Hearth's own. */
export function workflowContext(row: InstanceRow, runtime: WorkflowRuntime, track: (work: Promise<unknown>) => void): WorkflowContext {
  return {
    workflow: row.workflow,
    instanceId: row.id,
    waitUntil: (promise) => track(Promise.resolve(promise).catch((error: unknown) => console.error(`[hearth] ${row.workflow}/${row.id}: waitUntil:`, error))),
    passThroughOnException: () => {},
    props: Object.freeze({}),
    [WORKFLOW_RUNTIME]: runtime,
  };
}
