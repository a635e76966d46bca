/**
 * hearth/workflows: durable multi-step processes that survive crashes, sleep for days and wait for
 * people. `run` replays from the top after every restart; completed steps return their recorded
 * results instead of running again.
 * @example
 * import { WorkflowEntrypoint, NonRetryableError, type WorkflowEvent, type WorkflowStep } from "hearth/workflows";
 *
 * export class Signup extends WorkflowEntrypoint<Env, { email: string }> {
 *   async run(event: WorkflowEvent<{ email: string }>, step: WorkflowStep) {
 *     await step.do("welcome", () => sendWelcome(event.payload.email));
 *     await step.sleep("wait a week", "7 days");
 *     await step.do("check in", () => sendCheckIn(event.payload.email));
 *   }
 * }
 *
 * Workflows an agent starts (`this.runWorkflow`) extend `AgentWorkflow`, as in Cloudflare's
 * `agents/workflows`: `this.agent`, `reportProgress`, `waitForApproval` and durable `step` messages to
 * the agent (`step.reportComplete`, `step.mergeAgentState`…).
 * @packageDocumentation
 */
export { WorkflowEntrypoint, type WorkflowContext, type WorkflowClass, type ApprovalPayload } from "./entrypoint.ts";
export { AgentWorkflow } from "./agent-workflow.ts";
export {
  NonRetryableError,
  WorkflowTimeoutError,
  WorkflowNondeterminismError,
  WorkflowStateError,
  WorkflowRejectedError,
} from "./errors.ts";
export { WorkflowBinding, WorkflowInstance, type WorkflowBatchCreateResult } from "./binding.ts";
export { MAX_BATCH_INSTANCES, type WorkflowBatchCreateOptions, type WorkflowBatchCreateError } from "./create-batch.ts";
export type {
  AgentWorkflowEvent,
  AgentWorkflowStep,
  ApprovalEventPayload,
  DefaultProgress,
  RunWorkflowOptions,
  WaitForApprovalOptions,
  WorkflowCallback,
  WorkflowCallbackType,
  WorkflowCompleteCallback,
  WorkflowDeleteCriteria,
  WorkflowErrorCallback,
  WorkflowEventCallback,
  WorkflowEventPayload,
  WorkflowInfo,
  WorkflowPage,
  WorkflowProgressCallback,
  WorkflowQueryCriteria,
  WorkflowStatus,
} from "./agent-types.ts";
export type {
  WorkflowEvent,
  WorkflowStep,
  WorkflowStepConfig,
  WorkflowStepContext,
  WorkflowRetryDelay,
  WorkflowStepEvent,
  WorkflowBackoff,
  WorkflowInstanceStatus,
  InstanceStatus,
  WorkflowInstanceCreateOptions,
  WorkflowInstanceRestartOptions,
  WorkflowInstanceTerminateOptions,
  WorkflowRetention,
} from "./types.ts";
