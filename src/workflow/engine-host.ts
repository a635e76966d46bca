/** What the workflow engine needs from its host, and the agent that started an instance. */
import type { Clock } from "../time/clock.ts";
import type { AgentStub } from "../host/namespace.ts";

/** What the engine needs from the host. */
export interface EngineHost {
  readonly env: Record<string, unknown>;
  readonly clock: Clock;
  /** A durable timer: wake the instance at `at`, even after a restart. */
  wakeAt(workflow: string, id: string, at: number): void;
  agentStub(className: string, name: string): AgentStub | undefined;
  /** Calls a method on an agent (callbacks, broadcasts); failures are logged, not thrown. */
  notifyAgent(className: string, name: string, method: string, args: unknown[]): Promise<void>;
}

/** The agent that started an instance. */
export interface WorkflowOrigin {
  className: string;
  name: string;
}
