import type { WorkerEmail } from "../email/types.ts";
import type { ExecutionContext, WorkerFetch } from "../gateway/serve.ts";
import { WorkerEntrypoint } from "./entrypoint.ts";

/** A handler of an event that is not a request: `scheduled(controller, env, ctx)`, `queue(batch, env, ctx)`. */
export type WorkerEventHandler<Event> = (event: Event, env: Record<string, unknown>, ctx: ExecutionContext) => unknown;

/** The handlers a worker module's default export offers. */
export interface WorkerHandlers {
  fetch?: WorkerFetch;
  email?: WorkerEmail;
  /** Cron triggers (`triggers.crons`). The event is a ScheduledController. */
  scheduled?: WorkerEventHandler<never>;
  /** Queue consumers. The event is a MessageBatch. */
  queue?: WorkerEventHandler<never>;
  /** Set when the default export is an MCP endpoint (`MyMcp.serve("/mcp")`): where it is served. */
  mcp?: { path: string; transport: string };
}

const HANDLER_NAMES = ["fetch", "email", "scheduled", "queue"] as const;

/**
 * The handlers of a default export: an object (`export default { fetch, queue }`), a function carrying
 * them (`export default createMcpHandler(server)`), or a class extending WorkerEntrypoint — one
 * instance per event, constructed with `(ctx, env)` as Workers does. Undefined when it has none.
 */
export function workerHandlers(value: unknown): WorkerHandlers | undefined {
  if (typeof value === "function" && value.prototype instanceof WorkerEntrypoint) {
    return classHandlers(value as new (ctx: ExecutionContext, env: Record<string, unknown>) => WorkerEntrypoint);
  }
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return undefined;
  const source = value as Record<string, unknown>;
  const handlers: WorkerHandlers = {};
  for (const name of HANDLER_NAMES) {
    const method = source[name];
    if (typeof method === "function") (handlers as Record<string, unknown>)[name] = method.bind(value);
  }
  if (Object.keys(handlers).length === 0) return undefined;
  const endpoint = source.endpoint as { path?: unknown; transport?: unknown } | undefined;
  if (typeof endpoint?.path === "string" && typeof endpoint.transport === "string") {
    handlers.mcp = { path: endpoint.path, transport: endpoint.transport };
  }
  return handlers;
}

function classHandlers(Worker: new (ctx: ExecutionContext, env: Record<string, unknown>) => WorkerEntrypoint): WorkerHandlers | undefined {
  const handlers: WorkerHandlers = {};
  for (const name of HANDLER_NAMES) {
    if (typeof (Worker.prototype as Record<string, unknown>)[name] !== "function") continue;
    (handlers as Record<string, unknown>)[name] = (event: unknown, env: Record<string, unknown>, ctx: ExecutionContext) => {
      const instance = new Worker(ctx, env) as unknown as Record<string, (event: unknown) => unknown>;
      return instance[name]?.(event);
    };
  }
  return Object.keys(handlers).length > 0 ? handlers : undefined;
}
