import type { Agent } from "../platform/agent.ts";
import type { AgentWorkflowEvent, AgentWorkflowStep, DefaultProgress, WaitForApprovalOptions, WorkflowCallbackBody } from "./agent-types.ts";
import { EXTEND_STEP, WORKFLOW_RUNTIME, waitForDecision, WorkflowEntrypoint, type WorkflowRuntime } from "./entrypoint.ts";
import { NonRetryableError, WorkflowRejectedError } from "./errors.ts";
import type { WorkflowStep } from "./types.ts";

/** The agent methods a workflow calls back into (defined on `Agent`). */
interface WorkflowFacingAgent {
  _workflow_handleCallback(callback: unknown): Promise<void>;
  _workflow_updateState(action: "set" | "merge" | "reset", state?: unknown): Promise<void>;
}

/**
 * Base class of workflows started by an agent (`this.runWorkflow(...)`), as in Cloudflare's Agents
 * SDK (`agents/workflows`): `this.agent` is a typed stub of that agent, `reportProgress` and
 * `broadcastToClients` reach it and its clients, and `step` gains durable messages to it —
 * `reportComplete`, `reportError`, `sendEvent`, `updateAgentState`, `mergeAgentState`,
 * `resetAgentState` — each recorded like a `step.do`, so it is delivered once per instance. Returning
 * from `run` reports completion (unless `step.reportComplete` did); throwing reports the error
 * (unless `step.reportError` did).
 * @example
 * import { AgentWorkflow, type AgentWorkflowEvent, type AgentWorkflowStep } from "hearth/workflows";
 *
 * export class Processing extends AgentWorkflow<MyAgent, { taskId: string }> {
 *   async run(event: AgentWorkflowEvent<{ taskId: string }>, step: AgentWorkflowStep) {
 *     const result = await step.do("process", () => processTask(event.payload.taskId));
 *     await this.reportProgress({ step: "process", status: "complete", percent: 0.5 });
 *     await step.mergeAgentState({ lastTask: event.payload.taskId });
 *     const approval = await this.waitForApproval<{ approvedBy: string }>(step, { timeout: "7 days" });
 *     await step.do("publish", () => this.agent.publish(result, approval?.approvedBy));
 *     return result;
 *   }
 * }
 */
export abstract class AgentWorkflow<
  AgentType extends Agent = Agent,
  Params = unknown,
  ProgressType = DefaultProgress,
  Env = unknown,
> extends WorkflowEntrypoint<Env, Params, AgentType> {
  abstract override run(event: AgentWorkflowEvent<Params>, step: AgentWorkflowStep): Promise<unknown>;

  /** This instance's id. */
  get instanceId(): string {
    return this.#runtime.instanceId;
  }

  /** This instance's id (the name Cloudflare's SDK uses in its implementation). */
  get workflowId(): string {
    return this.#runtime.instanceId;
  }

  /** The workflow's binding name. */
  get workflowName(): string {
    return this.#runtime.workflow;
  }

  /**
   * Progress for the agent's `onWorkflowProgress` (not durable: skipped while recorded steps replay).
   * @example
   * await this.reportProgress({ step: "fetch", status: "running", percent: 0.25 });
   */
  override async reportProgress(progress: ProgressType): Promise<void> {
    await super.reportProgress(progress);
  }

  /**
   * Sends `message` (JSON) to every client connected to the agent. Not durable: skipped while
   * recorded steps replay; failures are logged, not thrown.
   * @example
   * await this.broadcastToClients({ type: "task-complete", taskId });
   */
  async broadcastToClients(message: unknown): Promise<void> {
    if (this.#runtime.live) await this.#runtime.broadcast(message);
  }

  /**
   * Waits for `approveWorkflow` / `rejectWorkflow` from the agent and returns the approval's
   * `metadata`. On rejection it reports the reason to the agent (`onWorkflowError`) and throws a
   * `WorkflowRejectedError`; after `timeout` (default 24 hours) it throws a `WorkflowTimeoutError`.
   * @example
   * const approval = await this.waitForApproval<{ approvedBy: string }>(step, { timeout: "7 days" });
   * console.log(approval?.approvedBy);
   */
  override async waitForApproval<T = Record<string, unknown> | undefined>(step: WorkflowStep, options: WaitForApprovalOptions = {}): Promise<T> {
    const payload = await waitForDecision(step, options);
    if (!payload?.approved) {
      const reason = payload?.reason;
      await (step as AgentWorkflowStep).reportError?.(reason ?? "Workflow rejected");
      throw new WorkflowRejectedError(reason, this.instanceId);
    }
    return payload.metadata as T;
  }

  /** @internal Adds the durable agent messages to `step`. */
  override [EXTEND_STEP](step: WorkflowStep): AgentWorkflowStep {
    const runtime = this.#runtime;
    const agent = (): WorkflowFacingAgent => {
      const stub = runtime.agentStub();
      // A setup mistake, not a passing failure: no retries.
      if (!stub) throw new NonRetryableError(`${runtime.workflow} instance ${runtime.instanceId} was not started by an agent (runWorkflow): there is no agent state to change`);
      return stub as unknown as WorkflowFacingAgent;
    };
    // Recorded steps: delivered once (retried on failure), returned from the record on replay. Each
    // failed attempt is logged: the step is Hearth's, so the user's code never sees its errors.
    const toAgent = (name: string, send: () => Promise<void>) =>
      step.do(name, async ({ attempt }) => {
        try {
          await send();
        } catch (error) {
          console.error(reportStepFailure(runtime, name, attempt, error));
          throw error;
        }
      });
    const tell = (name: string, body: WorkflowCallbackBody) =>
      toAgent(name, async () => {
        if (runtime.agentStub()) await agent()._workflow_handleCallback(runtime.callback(body));
      });
    return {
      ...step,
      reportComplete: async (result?: unknown) => {
        runtime.reported.complete = true;
        await tell("__agent_reportComplete", { type: "complete", result });
      },
      reportError: async (error: Error | string) => {
        runtime.reported.error = true;
        await tell("__agent_reportError", { type: "error", error: error instanceof Error ? error.message : String(error) });
      },
      sendEvent: async (event: unknown) => {
        await tell("__agent_sendEvent", { type: "event", event });
      },
      updateAgentState: async (state: unknown) => {
        await toAgent("__agent_updateState", () => agent()._workflow_updateState("set", state));
      },
      mergeAgentState: async (partialState: Record<string, unknown>) => {
        await toAgent("__agent_mergeState", () => agent()._workflow_updateState("merge", partialState));
      },
      resetAgentState: async () => {
        await toAgent("__agent_resetState", () => agent()._workflow_updateState("reset"));
      },
    };
  }

  get #runtime(): WorkflowRuntime {
    return this.ctx[WORKFLOW_RUNTIME];
  }
}

/** One line for a failed attempt of a step that messages the agent: which instance, which agent, which attempt, why. */
function reportStepFailure(runtime: WorkflowRuntime, step: string, attempt: number, error: unknown): string {
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const agent = runtime.agentLabel ?? "(no agent)";
  return `[hearth] ${runtime.workflow}/${runtime.instanceId}: ${step} to ${agent} failed (attempt ${attempt}): ${reason.replace(/\s+/g, " ").trim()}`;
}
