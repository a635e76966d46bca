/**
 * What an agent's features keep: its chat transcript, MCP servers, sub-agents and team runs
 * (docs/inspector/api.md §Agents). Read from the agent's own database, inside the agent.
 */
import type { AgentDatabase } from "../../storage/database.ts";
import { notFound, pageLimit, cursorOffset, offsetCursor } from "../http.ts";
import type { Route } from "../router.ts";
import { inAgentBase } from "./agent-address.ts";

function parse(text: unknown): unknown {
  if (typeof text !== "string") return text ?? null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function chatOf(db: AgentDatabase) {
  if (!db.hasTable("hearth_chat_messages")) return { messages: [], streaming: false };
  const rows = db.statement("SELECT id, role, message, created_at FROM hearth_chat_messages ORDER BY position").all() as Array<Record<string, unknown>>;
  const messages = rows.map((row) => {
    const message = parse(row.message) as { parts?: unknown; metadata?: { usage?: unknown } } | null;
    return {
      id: String(row.id),
      role: String(row.role),
      parts: message?.parts ?? [],
      createdAt: Number(row.created_at),
      ...(message?.metadata?.usage ? { usage: message.metadata.usage } : {}),
    };
  });
  const streaming = db.statement("SELECT 1 FROM hearth_chat_streams WHERE status = 'streaming' LIMIT 1").get() !== undefined;
  const totals = db.statement("SELECT calls, input_tokens, output_tokens, total_tokens FROM hearth_chat_usage_totals WHERE id = 1").get() as Record<string, unknown> | undefined;
  return {
    messages,
    streaming,
    ...(totals ? { usage: { calls: Number(totals.calls), inputTokens: Number(totals.input_tokens), outputTokens: Number(totals.output_tokens), totalTokens: Number(totals.total_tokens) } } : {}),
  };
}

interface UsageTotals {
  tokens: number;
  costUsd: number;
}

function stepUsage(usage: unknown): UsageTotals {
  const u = (parse(usage) ?? {}) as { inputTokens?: number; outputTokens?: number; costUsd?: number };
  return { tokens: (u.inputTokens ?? 0) + (u.outputTokens ?? 0), costUsd: u.costUsd ?? 0 };
}

/** Team runs this agent owns, newest first. */
export function teamRunsOf(db: AgentDatabase, className: string, name: string, offset: number, limit: number) {
  if (!db.hasTable("_hearth_team_runs")) return { items: [], nextOffset: null };
  const rows = db.statement("SELECT id, team, status, created_at, updated_at FROM _hearth_team_runs ORDER BY created_at DESC, id LIMIT ? OFFSET ?").all(limit + 1, offset) as Array<Record<string, unknown>>;
  const usage = db.statement("SELECT usage FROM _hearth_team_steps WHERE run_id = ? AND usage IS NOT NULL");
  const items = rows.slice(0, limit).map((row) => {
    const totals = (usage.all(String(row.id)) as Array<{ usage: string }>).map((step) => stepUsage(step.usage)).reduce((a, b) => ({ tokens: a.tokens + b.tokens, costUsd: a.costUsd + b.costUsd }), { tokens: 0, costUsd: 0 });
    const status = String(row.status);
    const ended = ["completed", "failed", "cancelled"].includes(status);
    return { class: className, name, runId: String(row.id), team: String(row.team), status, startedAt: Number(row.created_at), endedAt: ended ? Number(row.updated_at) : null, ...totals };
  });
  return { items, nextOffset: rows.length > limit ? offset + limit : null };
}

function teamRunDetail(db: AgentDatabase, className: string, name: string, runId: string) {
  const row = db.hasTable("_hearth_team_runs") ? (db.statement("SELECT * FROM _hearth_team_runs WHERE id = ?").get(runId) as Record<string, unknown> | undefined) : undefined;
  if (!row) throw notFound(`${className}/${name} has no team run ${JSON.stringify(runId)}`);
  const steps = (db.statement("SELECT path, kind, member, status, output, error, usage, at FROM _hearth_team_steps WHERE run_id = ? ORDER BY at, path").all(runId) as Array<Record<string, unknown>>).map((step) => ({
    id: String(step.path),
    node: String(step.kind),
    member: step.member ?? null,
    status: String(step.status),
    startedAt: null,
    endedAt: Number(step.at),
    input: null,
    output: parse(step.output),
    error: parse(step.error),
    tokens: stepUsage(step.usage).tokens,
  }));
  const status = String(row.status);
  return {
    class: className,
    name,
    runId,
    team: String(row.team),
    status,
    input: parse(row.input),
    output: parse(row.output),
    error: parse(row.error),
    startedAt: Number(row.created_at),
    endedAt: ["completed", "failed", "cancelled"].includes(status) ? Number(row.updated_at) : null,
    steps,
  };
}

export const agentDataRoutes: Route[] = [
  { method: "GET", path: "/api/agents/:class/:name/chat", handler: async (ctx) => ({ json: await inAgentBase(ctx, ({ db }) => chatOf(db)) }) },
  {
    method: "GET",
    path: "/api/agents/:class/:name/mcp",
    handler: async (ctx) => ({
      json: await inAgentBase(ctx, ({ agent }) => {
        const get = (agent as unknown as { getMcpServers?: () => { servers: Record<string, { name: string; server_url: string; state: string; error: string | null }>; tools: Array<{ serverId: string; name: string }> } }).getMcpServers;
        if (typeof get !== "function") return { servers: [] };
        const state = get.call(agent);
        return {
          servers: Object.entries(state.servers).map(([id, server]) => ({
            id,
            name: server.name,
            url: server.server_url,
            state: server.state,
            error: server.error,
            tools: state.tools.filter((tool) => tool.serverId === id),
          })),
        };
      }),
    }),
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/children",
    handler: async (ctx) => ({
      json: await inAgentBase(ctx, ({ agent }) => {
        const list = (agent as unknown as { listSubAgents?: () => Array<{ className: string; name: string; createdAt: number }> }).listSubAgents;
        const subAgents = typeof list === "function" ? list.call(agent).map((child) => ({ class: child.className, name: child.name, createdAt: child.createdAt })) : [];
        return { subAgents, facets: [] };
      }),
    }),
  },
  {
    method: "GET",
    path: "/api/agents/:class/:name/team-runs",
    handler: async (ctx) => {
      const offset = cursorOffset(ctx.query);
      const limit = pageLimit(ctx.query);
      const page = await inAgentBase(ctx, ({ db }, address) => teamRunsOf(db, address.className, address.name, offset, limit));
      return { json: { items: page.items, next: page.nextOffset === null ? null : offsetCursor(page.nextOffset) } };
    },
  },
  {
    method: "GET",
    path: "/api/team-runs/:class/:name/:runId",
    handler: async (ctx) => ({ json: await inAgentBase(ctx, ({ db }, address) => teamRunDetail(db, address.className, address.name, ctx.params.runId!)) }),
  },
];
