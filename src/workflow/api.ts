import type { WorkflowOrigin } from "./engine.ts";
import type {
  InstanceStatus,
  WorkflowInstanceCreateOptions,
  WorkflowInstanceRestartOptions,
  WorkflowInstanceStatus,
  WorkflowInstanceTerminateOptions,
} from "./types.ts";

/** An instance's status, error and time of its last change, without its output. */
export interface InstancePeek {
  status: WorkflowInstanceStatus;
  error?: { name: string; message: string };
  updatedAt: number;
}

/**
 * What `env.<WORKFLOW>` bindings and their instances call: the host's own engine, or — in a cluster —
 * the engine of the node that holds the workflow instances (src/cluster/workflows.ts).
 */
export interface WorkflowApi {
  create(workflow: string, options?: WorkflowInstanceCreateOptions, origin?: WorkflowOrigin): Promise<string>;
  createBatch(workflow: string, list: readonly WorkflowInstanceCreateOptions[], origin?: WorkflowOrigin): Promise<string[]>;
  exists(workflow: string, id: string): boolean | Promise<boolean>;
  /** Synchronous, so only where the engine runs in this process; undefined elsewhere (agents then follow callbacks). */
  peek(workflow: string, id: string): InstancePeek | undefined;
  status(workflow: string, id: string): InstanceStatus | Promise<InstanceStatus>;
  pause(workflow: string, id: string): Promise<void>;
  resume(workflow: string, id: string): Promise<void>;
  terminate(workflow: string, id: string, options?: WorkflowInstanceTerminateOptions): Promise<void>;
  restart(workflow: string, id: string, options?: WorkflowInstanceRestartOptions): Promise<void>;
  sendEvent(workflow: string, id: string, event: { type: string; payload?: unknown }): Promise<void>;
}
