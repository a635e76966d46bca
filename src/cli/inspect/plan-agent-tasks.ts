/**
 * Commands on what an agent runs and serves: WebSocket connections (send, close), callable methods,
 * schedules and the queue (docs/inspector/api.md §Agents). Changes need the admin token.
 */
import { UsageError } from "./args.ts";
import type { PlanContext, Planner } from "./plan-context.ts";

/** The close codes an application may send, as the API accepts them. */
function closeCode(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const code = Number(text);
  if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) throw new UsageError(`--code must be 1000 or from 3000 to 4999 (the close codes an application may send), got ${JSON.stringify(text)}`);
  return code;
}

/** `…/<collection>/<id><action>` of `<Class>/<name> <id>`. */
function itemPath(ctx: PlanContext, collection: string, what: string, action = ""): string {
  const id = ctx.arg(1, `<Class>/<name> <${what}>`);
  return ctx.agentPath(`/${collection}/${encodeURIComponent(id)}${action}`);
}

export const agentTaskPlanners: Record<string, Planner> = {
  connections: (ctx) => ({ method: "GET", path: ctx.agentPath("/connections", ctx.params()) }),
  "send-connection": (ctx) => {
    const message = ctx.arg(2, "<Class>/<name> <connection id> <message>");
    return { method: "POST", path: itemPath(ctx, "connections", "connection id", "/send"), body: { message }, write: true };
  },
  "close-connection": (ctx) => {
    const code = closeCode(ctx.flag("code"));
    const reason = ctx.flag("reason");
    return { method: "POST", path: itemPath(ctx, "connections", "connection id", "/close"), body: { ...(code === undefined ? {} : { code }), ...(reason === undefined ? {} : { reason }) }, write: true };
  },
  methods: (ctx) => ({ method: "GET", path: ctx.agentPath("/methods") }),
  call: (ctx) => {
    const method = ctx.arg(1, "<Class>/<name> <method> [json args]");
    const args = ctx.json(ctx.optional(2), "the arguments") ?? [];
    return { method: "POST", path: ctx.agentPath(`/methods/${encodeURIComponent(method)}`), body: { args: Array.isArray(args) ? args : [args] }, write: true };
  },
  schedules: (ctx) => ({ method: "GET", path: ctx.agentPath("/schedules", ctx.params()) }),
  "run-schedule": (ctx) => ({ method: "POST", path: itemPath(ctx, "schedules", "schedule id", "/run"), write: true }),
  "cancel-schedule": (ctx) => ({ method: "DELETE", path: itemPath(ctx, "schedules", "schedule id"), write: true }),
  queue: (ctx) => ({ method: "GET", path: ctx.agentPath("/queue", ctx.params()) }),
  "run-queued": (ctx) => ({ method: "POST", path: itemPath(ctx, "queue", "queued id", "/run"), write: true }),
  dequeue: (ctx) => ({ method: "DELETE", path: itemPath(ctx, "queue", "queued id"), write: true }),
};
