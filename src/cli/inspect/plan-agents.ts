/**
 * Commands on agents and what they keep: the overview, classes, instances, state, SQL (query, schema,
 * a table's rows), the chat transcript, MCP servers and sub-agents (docs/inspector/api.md §Agents).
 */
import { withQuery, type Planner } from "./plan-context.ts";

export const agentPlanners: Record<string, Planner> = {
  overview: () => ({ method: "GET", path: "/api/overview" }),
  classes: () => ({ method: "GET", path: "/api/classes" }),
  session: () => ({ method: "GET", path: "/api/session" }),
  agents: (ctx) => {
    const className = ctx.flag("class");
    return { method: "GET", path: withQuery("/api/agents", { class: ctx.optional(0) ?? className, ...ctx.params(["q"]) }) };
  },
  agent: (ctx) => ({ method: "GET", path: ctx.agentPath() }),
  state: (ctx) => ({ method: "GET", path: ctx.agentPath("/state") }),
  "set-state": (ctx) => {
    const state = ctx.json(ctx.arg(1, "<Class>/<name> <json>"), "the state");
    return { method: "PUT", path: ctx.agentPath("/state"), body: { state }, write: true };
  },
  sql: (ctx) => {
    const sql = ctx.arg(1, '<Class>/<name> "<query>"');
    const write = ctx.has("write");
    return { method: "POST", path: ctx.agentPath("/sql/query"), body: { sql, params: ctx.json(ctx.flag("params"), "--params"), write }, write };
  },
  schema: (ctx) => ({ method: "GET", path: ctx.agentPath("/sql/schema") }),
  table: (ctx) => {
    const table = ctx.arg(1, "<Class>/<name> <table>");
    return { method: "GET", path: ctx.agentPath(`/sql/tables/${encodeURIComponent(table)}`, ctx.params()) };
  },
  chat: (ctx) => ({ method: "GET", path: ctx.agentPath("/chat", ctx.params()) }),
  mcp: (ctx) => ({ method: "GET", path: ctx.agentPath("/mcp") }),
  children: (ctx) => ({ method: "GET", path: ctx.agentPath("/children") }),
};
