/**
 * Public types of the MCP client (`this.mcp`, `addMcpServer`, the `cf_agent_mcp_servers` frame),
 * shaped like Cloudflare's Agents SDK so its front ends read them unchanged.
 */
import type { Prompt, Resource, ServerCapabilities, Tool } from "@modelcontextprotocol/client";
import type { McpClientLimits } from "./limits.ts";

export type { CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ServerCapabilities, Tool } from "@modelcontextprotocol/client";

/**
 * Where a mounted server stands: `authenticating` (waiting for the user to authorize, see `auth_url`)
 * → `connecting` → `connected` → `discovering` (listing tools, prompts, resources) → `ready`;
 * `failed` with the reason in `error`.
 */
export type McpConnectionState = "authenticating" | "connecting" | "connected" | "discovering" | "ready" | "failed";

/** `auto` tries Streamable HTTP and falls back to the legacy HTTP+SSE transport when the server answers 4xx. */
export type McpTransportType = "auto" | "streamable-http" | "sse";

/** One mounted server, as clients see it in the `cf_agent_mcp_servers` frame. */
export interface McpServerInfo {
  name: string;
  server_url: string;
  /** Where the user authorizes this agent, while the state is `authenticating`. Untrusted text from the server's authorization server. */
  auth_url: string | null;
  state: McpConnectionState;
  /** Why the server failed or lost its connection. May contain text sent by the server: escape it for display. */
  error: string | null;
  capabilities: ServerCapabilities | null;
  instructions: string | null;
}

/** The content of the `cf_agent_mcp_servers` frame, and of `getMcpServers()`. */
export interface McpServersState {
  servers: Record<string, McpServerInfo>;
  tools: Array<Tool & { serverId: string }>;
  prompts: Array<Prompt & { serverId: string }>;
  resources: Array<Resource & { serverId: string }>;
}

/** Options of `addMcpServer`. */
export interface AddMcpServerOptions {
  /** `"auto"` (default), `"streamable-http"` or `"sse"`; or Cloudflare's form `{ type, headers }`. */
  transport?: McpTransportType | { type?: McpTransportType; headers?: Record<string, string> };
  /** Sent with every request to the server (an API key, for instance). Stored in the agent's database. */
  headers?: Record<string, string>;
  /**
   * Public origin (or base URL) under which this agent is reachable, for the OAuth redirect back to
   * `/agents/<class>/<name>/callback`. Default: the `HEARTH_PUBLIC_URL` variable, else the origin of
   * the request or WebSocket the agent is handling.
   */
  callbackHost?: string;
  /** Routing prefix used with `callbackHost` / `HEARTH_PUBLIC_URL`. Default "agents". */
  agentsPrefix?: string;
  /**
   * A stable id (1–32 characters of `a-z 0-9 -`, starting with a letter or digit) instead of a
   * generated one; it appears in tool names (`tool_<id>_<name>`).
   */
  id?: string;
  /** Changes some of this server's limits (docs/limits.md, "MCP client"). */
  limits?: Partial<McpClientLimits>;
}

/** What `addMcpServer` resolves to: ready, or waiting for the user to open `authUrl`. */
export type AddMcpServerResult = { id: string; state: "ready" } | { id: string; state: "authenticating"; authUrl: string };

/** Options of one call to a server. */
export interface McpCallOptions {
  /** Milliseconds before the call fails; default the server's `callTimeoutMs` (30 s). */
  timeout?: number;
  /** Aborts the call (the server is told with a cancellation). */
  signal?: AbortSignal;
}

/** Where the browser goes after the OAuth callback, instead of the small page the agent answers with. */
export interface McpOAuthCallbackConfig {
  /** Redirect here (302) after a successful authorization. */
  successRedirect?: string;
  /** Redirect here (302) after a failed one; `?error=` carries the reason. */
  errorRedirect?: string;
}

/** Picks which servers a listing or `getAITools` covers. */
export interface McpServerFilter {
  serverId?: string | string[];
  serverName?: string | string[];
}
