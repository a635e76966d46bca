/**
 * What an agent's features keep: its chat transcript, MCP servers, sub-agents and facets
 * (docs/inspector/api.md §Agents; team runs are in team-runs.ts). Read from the agent's own database, inside the agent.
 */
import type { AgentDatabase } from "../../storage/database.ts";
import { listFacets } from "../facets.ts";
import type { Route } from "../router.ts";
import { offsetCursor, pageRange, storedJson, type PageRange } from "../http.ts";
import { redactedUri } from "../../web/redacted-uri.ts";
import { viewerText } from "../viewer-event.ts";
import { inAgentBase } from "./agent-address.ts";

/** One page of the chat transcript, oldest first, with whether a reply streams and the usage totals. */
function chatOf(db: AgentDatabase, { offset, limit }: PageRange) {
  if (!db.hasTable("hearth_chat_messages")) return { messages: [], next: null, streaming: false };
  const found = db.statement("SELECT id, role, message, created_at FROM hearth_chat_messages ORDER BY position LIMIT ? OFFSET ?").all(limit + 1, offset) as Array<Record<string, unknown>>;
  const messages = found.slice(0, limit).map((row) => {
    const message = storedJson(row.message) as { parts?: unknown; metadata?: { usage?: unknown } } | null;
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
    next: found.length > limit ? offsetCursor(offset + limit) : null,
    streaming,
    ...(totals ? { usage: { calls: Number(totals.calls), inputTokens: Number(totals.input_tokens), outputTokens: Number(totals.output_tokens), totalTokens: Number(totals.total_tokens) } } : {}),
  };
}

export const agentDataRoutes: Route[] = [
  {
    method: "GET",
    path: "/api/agents/:class/:name/chat",
    handler: async (ctx) => {
      const range = pageRange(ctx.query);
      return { json: await inAgentBase(ctx, ({ db }) => chatOf(db, range)) };
    },
  },
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
            // A viewer sees no credentials of the server's URL (its query's values, as in the live stream).
            url: redactedUri(server.server_url),
            state: server.state,
            error: server.error === null ? null : viewerText(server.error),
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
      json: await inAgentBase(ctx, ({ agent, db }) => {
        const list = (agent as unknown as { listSubAgents?: () => Array<{ className: string; name: string; createdAt: number }> }).listSubAgents;
        const subAgents = typeof list === "function" ? list.call(agent).map((child) => ({ class: child.className, name: child.name, createdAt: child.createdAt })) : [];
        return { subAgents, facets: listFacets(db.path, subAgents) };
      }),
    }),
  },
];
