/**
 * Task callbacks that belong to a feature rather than to the agent's class: a feature (outbound
 * webhooks, team runs, …) registers a handler under a name starting with `hearth:`, and schedules or
 * queues tasks by that name on any agent. The handler runs as the agent's task would: in its own
 * event, its writes committed with the task's advance, retried by the task's policy.
 */
import type { QueueItem, Schedule } from "./types.ts";

/** What a registered task handler is called with. */
export type TaskHandler = (agent: object, payload: unknown, task: Schedule | QueueItem) => unknown;

/** The prefix every feature task name carries; no method of an agent class can be called this way. */
export const FEATURE_TASK_PREFIX = "hearth:";

const handlers = new Map<string, TaskHandler>();

/**
 * Registers the handler of the feature task `name` (which must start with `hearth:`). Registering
 * the same name twice keeps the last handler (a module loaded again in tests).
 * @example
 * registerTaskHandler("hearth:webhook.deliver", (agent, payload) => deliver(agent, payload));
 * tasks.queue("hearth:webhook.deliver", { url, body });
 */
export function registerTaskHandler(name: string, handler: TaskHandler): void {
  if (!name.startsWith(FEATURE_TASK_PREFIX)) throw new TypeError(`A feature task name must start with "${FEATURE_TASK_PREFIX}" (got ${JSON.stringify(name)})`);
  handlers.set(name, handler);
}

/** The callable a task's callback name resolves to on `agent`: a feature's handler or the agent's own method. */
export function resolveTaskCallback(agent: object, callback: string): ((payload: unknown, task: Schedule | QueueItem) => unknown) | undefined {
  if (callback.startsWith(FEATURE_TASK_PREFIX)) {
    const handler = handlers.get(callback);
    return handler && ((payload, task) => handler(agent, payload, task));
  }
  if (callback === "constructor") return undefined;
  const method = (agent as Record<string, unknown>)[callback];
  return typeof method === "function" ? (payload, task) => method.call(agent, payload, task) : undefined;
}
