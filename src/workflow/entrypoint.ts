import type { Agent } from "../platform/agent.ts";
import type { AgentStub } from "../host/namespace.ts";
import type { ApprovalEventPayload, WaitForApprovalOptions, WorkflowCallback, WorkflowCallbackBody } from "./agent-types.ts";
import { WorkflowRejectedError } from "./errors.ts";
import type { WorkflowEvent, WorkflowStep } from "./types.ts";

/** @internal What the engine hands each workflow object (one per execution of `run`). */
export interface WorkflowRuntime {
  readonly workflow: string;
  readonly instanceId: string;
  /** The agent that started the instance with `runWorkflow`, if one did. */
  agentStub(): AgentStub | undefined;
  /** That agent as `Class/name`, for log lines; undefined without one. */
  readonly agentLabel: string | undefined;
  /** False while recorded steps are being replayed: side effects outside steps are skipped then. */
  readonly live: boolean;
  /** Set by `step.reportComplete` / `step.reportError`: the engine then does not report the end itself. */
  readonly reported: { complete: boolean; error: boolean };
  callback(body: WorkflowCallbackBody): WorkflowCallback<unknown>;
  /** Best effort (failures are logged): progress to the starting agent. */
  reportProgress(progress: unknown): Promise<void>;
  /** Best effort: a message for the starting agent's clients. */
  broadcast(message: unknown): Promise<void>;
}

export const WORKFLOW_RUNTIME: unique symbol = Symbol("hearth.workflowRuntime");
/** @internal The step object `run` receives; `AgentWorkflow` adds its durable agent messages. */
export const EXTEND_STEP: unique symbol = Symbol("hearth.extendStep");

/** The first constructor argument of a workflow (`this.ctx`): an `ExecutionContext`, as on Cloudflare. */
export interface WorkflowContext {
  readonly workflow: string;
  readonly instanceId: string;
  /**
   * Keeps work going after the step or `run` that started it returned: the engine counts it as work
   * in progress (its `idle()` waits for it), and a failure is logged. Not durable: after a crash it is not done again.
   */
  waitUntil(promise: Promise<unknown>): void;
  /** Nothing to pass through to: a workflow serves no request. Does nothing. */
  passThroughOnException(): void;
  /** What a service binding passed; a workflow gets none: `{}`. */
  readonly props: Readonly<Record<string, unknown>>;
  readonly [WORKFLOW_RUNTIME]: WorkflowRuntime;
}

/** The payload of `approveWorkflow` / `rejectWorkflow`. */
export type ApprovalPayload = ApprovalEventPayload;

/**
 * Base class of durable workflows: `run` executes from the top after every restart, and each completed
 * step returns its recorded result instead of running again. Every exported subclass is bound in `env`
 * under its class name.
 * @example
 * export class Onboarding extends WorkflowEntrypoint<Env, { email: string }> {
 *   async run(event: WorkflowEvent<{ email: string }>, step: WorkflowStep) {
 *     const draft = await step.do("draft", () => draftEmail(event.payload.email));
 *     await step.sleep("cool off", "1 day");
 *     await this.waitForApproval(step, { timeout: "7 days" });
 *     await step.do("send", { retries: { limit: 3, delay: "30 seconds" } }, () => send(draft));
 *     return { sent: true };
 *   }
 * }
 */
export abstract class WorkflowEntrypoint<Env = unknown, Params = unknown, AgentType extends Agent = Agent> {
  readonly ctx: WorkflowContext;
  readonly env: Env;
  readonly #runtime: WorkflowRuntime;

  constructor(ctx: WorkflowContext, env: Env) {
    const runtime = (ctx as Partial<WorkflowContext>)[WORKFLOW_RUNTIME];
    if (!runtime) throw new TypeError("Workflows are created by the Hearth host; use env.MyWorkflow.create() to start one");
    this.ctx = ctx;
    this.env = env;
    this.#runtime = runtime;
  }

  abstract run(event: WorkflowEvent<Params>, step: WorkflowStep): Promise<unknown>;

  /** @internal The step `run` receives. */
  [EXTEND_STEP](step: WorkflowStep): WorkflowStep {
    return step;
  }

  /**
   * A stub of the agent that started this instance with `this.runWorkflow(…)`.
   * @example
   * await this.agent.recordDraft(event.instanceId, draft);
   */
  get agent(): AgentStub<AgentType> {
    const stub = this.#runtime.agentStub();
    if (!stub) throw new Error(`${this.#runtime.workflow} instance ${this.#runtime.instanceId} was not started by an agent (runWorkflow), so it has no this.agent`);
    return stub as AgentStub<AgentType>;
  }

  /**
   * Tells the agent that started this instance how far it got; the agent's `onWorkflowProgress` hook
   * broadcasts it to its clients by default. Skipped while recorded steps are replayed.
   * @example
   * await this.reportProgress({ step: "draft", percent: 0.5 });
   */
  async reportProgress(progress: unknown): Promise<void> {
    if (!this.#runtime.live) return;
    await this.#runtime.reportProgress(progress);
  }

  /**
   * Waits for `approveWorkflow` / `rejectWorkflow` from the agent (an "approval" event); returns the
   * approval, throws a `WorkflowRejectedError` on rejection and a `WorkflowTimeoutError` after `timeout`.
   * @example
   * const { reason } = await this.waitForApproval(step, { timeout: "7 days" });
   */
  async waitForApproval(step: WorkflowStep, options: WaitForApprovalOptions = {}): Promise<{ reason?: string; metadata?: Record<string, unknown> }> {
    const payload = await waitForDecision(step, options);
    if (!payload?.approved) throw new WorkflowRejectedError(payload?.reason, this.#runtime.instanceId);
    return { ...(payload.reason === undefined ? {} : { reason: payload.reason }), ...(payload.metadata ? { metadata: payload.metadata } : {}) };
  }
}

/** @internal Waits for the "approval" event that `approveWorkflow` / `rejectWorkflow` send. */
export async function waitForDecision(step: WorkflowStep, options: WaitForApprovalOptions): Promise<ApprovalEventPayload | undefined> {
  const event = await step.waitForEvent<ApprovalEventPayload>(options.stepName ?? "wait-for-approval", {
    type: options.eventType ?? "approval",
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
  });
  return event.payload;
}

/**
 * A WorkflowEntrypoint subclass (whatever its agent type: `this.agent` is left out so that workflows
 * of agents with a typed state fit too).
 */
export type WorkflowClass = abstract new (ctx: WorkflowContext, env: never) => Pick<WorkflowEntrypoint, "ctx" | "run">;
