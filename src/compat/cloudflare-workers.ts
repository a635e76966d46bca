/**
 * What `import … from "cloudflare:workers"` resolves to while Hearth runs a project.
 * @module
 */
export { workerEnv as env } from "../worker/worker-env.ts";
export { waitUntil } from "../worker/execution-context.ts";
export { WorkerEntrypoint, RpcTarget, RpcStub } from "../worker/entrypoint.ts";
export { DurableObject } from "../durable-object/durable-object.ts";
export { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "../workflow/index.ts";
export type { ExecutionContext } from "../gateway/serve.ts";
