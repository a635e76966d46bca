/**
 * Classes, instances and an instance's summary and state (docs/inspector/api.md §Agents).
 */
import { AgentNamespace } from "../../host/namespace.ts";
import { hostInternals } from "../../host/introspect.ts";
import { ApiError, notEnabled, pageLimit } from "../http.ts";
import type { Route, RouteContext } from "../router.ts";
import { stateView, storedState } from "../stored-state.ts";
import { hasWorkflowTracking } from "../../workflow/tracking.ts";
import { agentAddress, inAgent, inAgentBase } from "./agent-address.ts";

/** One class as `GET /api/classes` lists it. */
export interface ClassSummary {
  class: string;
  binding: boolean;
  kind: "agent" | "durable-object";
  live: number;
  hibernated: number | null;
  total: number | null;
  sockets: number;
}

/** Every class the host runs, with what is in memory now (and totals when a catalog is wired). */
export function classSummaries(ctx: Pick<RouteContext, "sources">): ClassSummary[] {
  const { host, catalog } = ctx.sources;
  const stats = host.classStats();
  const totals = catalog?.countByClass ? new Map(catalog.countByClass().map((row) => [row.class, row.total])) : undefined;
  return Object.entries(host.exports).map(([className, namespace]) => {
    const counts = stats.get(className) ?? { live: 0, hibernatedWithSockets: 0, sockets: 0 };
    const total = totals ? (totals.get(className) ?? 0) : null;
    return {
      class: className,
      binding: Object.hasOwn(host.env, className),
      kind: namespace instanceof AgentNamespace ? "agent" : "durable-object",
      live: counts.live,
      hibernated: total === null ? null : Math.max(0, total - counts.live),
      total,
      sockets: counts.sockets,
    };
  });
}

async function listAgents(ctx: RouteContext) {
  const catalog = ctx.sources.catalog;
  if (!catalog) throw notEnabled("Agent lists");
  const className = ctx.query.get("class") ?? undefined;
  const q = ctx.query.get("q") ?? undefined;
  const cursor = ctx.query.get("cursor") ?? undefined;
  const page = await catalog.list({ ...(className ? { class: className } : {}), ...(q ? { q } : {}), ...(cursor ? { cursor } : {}), limit: pageLimit(ctx.query) });
  const { host } = ctx.sources;
  const items = page.items.map((item) => {
    const live = hostInternals(host).isLive(item.class, item.name);
    return {
      class: item.class,
      name: item.name,
      live,
      sockets: null,
      lastActiveAt: item.lastActiveAt ?? null,
      sizeBytes: item.sizeBytes ?? null,
      nextAlarmAt: host.nextWake(item.class, item.name)?.getTime() ?? null,
    };
  });
  return { items, next: page.next };
}

async function agentDetail(ctx: RouteContext) {
  const address = agentAddress(ctx);
  const live = address.sub.length === 0 && Object.hasOwn(ctx.sources.host.env, address.className) ? safeLive(ctx, address.className, address.name) : null;
  return inAgent(ctx, ({ agent, db, runtime, className, name }) => {
    const features: string[] = [];
    if (agent) {
      features.push("state", "sql");
      const has = (method: string) => typeof (agent as unknown as Record<string, unknown>)[method] === "function";
      if (db?.hasTable("hearth_chat_messages")) features.push("chat");
      if (has("getMcpServers")) features.push("mcp");
      if (has("getSchedules")) features.push("schedules");
      if (db && hasWorkflowTracking(db)) features.push("workflows");
      if (has("listSubAgents")) features.push("sub-agents");
      if (db?.hasTable("_hearth_team_runs")) features.push("team-runs");
    }
    return {
      class: className,
      name,
      ...(address.sub.length > 0 ? { sub: address.sub } : {}),
      kind: agent ? "agent" : "durable-object",
      live: live ?? true,
      sockets: runtime ? [...runtime.sockets()].length : 0,
      sizeBytes: db?.size ?? null,
      nextAlarmAt: address.sub.length === 0 ? (ctx.sources.host.nextWake(address.className, address.name)?.getTime() ?? null) : null,
      features,
    };
  });
}

function safeLive(ctx: RouteContext, className: string, name: string): boolean | null {
  try {
    return hostInternals(ctx.sources.host).isLive(className, name);
  } catch {
    return null;
  }
}

export const agentRoutes: Route[] = [
  { method: "GET", path: "/api/classes", handler: (ctx) => ({ json: classSummaries(ctx) }) },
  { method: "GET", path: "/api/agents", handler: async (ctx) => ({ json: await listAgents(ctx) }) },
  { method: "GET", path: "/api/agents/:class/:name", handler: async (ctx) => ({ json: await agentDetail(ctx) }) },
  {
    method: "GET",
    path: "/api/agents/:class/:name/state",
    handler: async (ctx) => ({ json: await inAgentBase(ctx, ({ agent, db }) => stateView(db, agent.initialState)) }),
  },
  {
    method: "PUT",
    path: "/api/agents/:class/:name/state",
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      if (!Object.hasOwn(body, "state")) throw new ApiError(400, "bad_request", "The body must be { state }");
      const address = agentAddress(ctx);
      const state = await ctx.audited("state.set", address.label, {}, () =>
        inAgentBase(ctx, ({ agent, db }) => {
          // Not `agent.state`: on an agent with none stored, reading it would store initialState first.
          const before = storedState(db);
          try {
            // setState runs the agent's validateStateChange, stores and broadcasts to connected clients.
            agent.setState(body.state);
          } catch (error) {
            throw new ApiError(400, "invalid_state", `The agent refused the state: ${error instanceof Error ? error.message : String(error)}`);
          }
          const after = agent.state;
          return { result: after, before, after };
        }),
      );
      return { json: { state } };
    },
  },
];
