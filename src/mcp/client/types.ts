/**
 * Public types of the MCP client (`this.mcp`, `addMcpServer`, the `cf_agent_mcp_servers` frame),
 * shaped like Cloudflare's Agents SDK so its front ends read them unchanged.
 */
import type {
  Client,
  ClientCapabilities,
  ElicitRequest,
  ElicitResult,
  Prompt,
  Resource,
  ResourceTemplateType as ResourceTemplate,
  ServerCapabilities,
  Tool,
} from "@modelcontextprotocol/client";
import type { McpConnectionState } from "../../protocol/frames.ts";
import type { RetryOptions } from "../../time/backoff.ts";
import type { McpClientLimits } from "./limits.ts";

export type {
  CallToolResult,
  ClientCapabilities,
  ElicitRequest,
  ElicitResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  ServerCapabilities,
  Tool,
} from "@modelcontextprotocol/client";
/** A resource template a server lists (`resources/templates/list`): a URI template such as `file:///{path}`. */
export type { ResourceTemplateType as ResourceTemplate } from "@modelcontextprotocol/client";

/** Answers a server's request for user input; `serverId` tells which server asks. */
export type McpElicitationHandler = (request: ElicitRequest, serverId: string) => ElicitResult | Promise<ElicitResult>;

/** Handlers of `this.mcp.configureElicitationHandlers`, one per elicitation mode. */
export interface McpElicitationHandlers {
  /** Collects values matching `request.params.requestedSchema`. */
  form?: McpElicitationHandler;
  /** Delivers `request.params.url` to the user out of band (sensitive flows). */
  url?: McpElicitationHandler;
}

/** What the MCP client announces to a server; `capabilities` win over the modes of the configured handlers. Stored with the server. */
export interface McpClientOptions {
  capabilities?: ClientCapabilities;
}

/** Where a mounted server stands (defined with the wire protocol, which clients share). */
export type { McpConnectionState };

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
   * the request or WebSocket whose event calls `addMcpServer` (never another client's). With
   * `static options = { sendIdentityOnConnect: false }`, `callbackHost` needs a `callbackPath`.
   */
  callbackHost?: string;
  /** Routing prefix used with `callbackHost` / `HEARTH_PUBLIC_URL`. Default "agents". */
  agentsPrefix?: string;
  /**
   * Path of the OAuth callback instead of `/<agentsPrefix>/<class>/<name>/callback` (joined to
   * `callbackHost`, `HEARTH_PUBLIC_URL` or the origin of the caller's request). Route requests to it to this agent
   * (`getAgentByName(env.MyAgent, name).fetch(request)`); the agent answers them.
   */
  callbackPath?: string;
  /**
   * A stable id instead of a generated one, normalised as the Agents SDK does (`"GitHub MCP!"` →
   * `"github-mcp"`, see `normalizeServerId`). It appears in AI tool names (`tool_<id without "-">_<name>`).
   * Mounting the same name and URL with a new id renames the server (its tokens go with it).
   */
  id?: string;
  /** Changes some of this server's limits (docs/limits.md, "MCP client"). */
  limits?: Partial<McpClientLimits>;
  /**
   * Reconnecting after a failure (a wake, a dropped connection, after OAuth): stop after
   * `maxAttempts` failed attempts in a row, waiting from `baseDelayMs` doubling up to `maxDelayMs`.
   * Stored with the server. Default, as the Agents SDK: 3 attempts, from 500 ms doubling up to 5 s.
   */
  retry?: RetryOptions;
  /** `{ capabilities }` announced at the handshake, e.g. `{ elicitation: { form: {} } }`. */
  client?: McpClientOptions;
}

/** Options of `addMcpServer(name, env.MY_MCP, options)`: an McpAgent mounted through its binding. */
export interface AddRpcMcpServerOptions {
  /** Passed to the McpAgent's `onStart(props)`; stored with the server as JSON. */
  props?: Record<string, unknown>;
  /** As {@link AddMcpServerOptions.id}. */
  id?: string;
  /** As {@link AddMcpServerOptions.limits}. */
  limits?: Partial<McpClientLimits>;
  /** As {@link AddMcpServerOptions.retry}. */
  retry?: RetryOptions;
  /** As {@link AddMcpServerOptions.client}. */
  client?: McpClientOptions;
}

/** Options of `this.mcp.registerServer(id, options)`: what `addMcpServer` stores, given directly. */
export interface RegisterServerOptions {
  url: string;
  name: string;
  /** The exact OAuth callback URL; default as `addMcpServer` builds it. */
  callbackUrl?: string;
  /** `"auto"` (default), `"streamable-http"` or `"sse"`, or `{ type, headers }`. */
  transport?: AddMcpServerOptions["transport"];
  headers?: Record<string, string>;
  limits?: Partial<McpClientLimits>;
  retry?: RetryOptions;
  client?: McpClientOptions;
}

/** What `this.mcp.connectToServer(id)` resolves to. */
export type McpConnectionResult =
  | { state: "connected" }
  | { state: "authenticating"; authUrl: string }
  | { state: "failed"; error: string };

/** What `this.mcp.discoverIfConnected(id)` resolves to: `state` is the server's state afterwards. */
export interface McpDiscoverResult {
  success: boolean;
  state: McpConnectionState;
  error?: string;
}

/** One server's state changed (`state: "removed"` once, when it was removed). */
export interface McpServerStateChange {
  serverId: string;
  url: string;
  state: McpConnectionState | "removed";
  /** Why it failed. Untrusted text: escape it for display. */
  error?: string;
}

/** The outcome of an OAuth callback, as `customHandler` receives it. */
export type McpOAuthResult =
  | { serverId: string; authSuccess: true; authError?: undefined }
  | {
      /** Absent when the callback names no known server (unknown or replayed state). */
      serverId?: string;
      authSuccess: false;
      /** May contain text from the authorization server: escape it for your output. */
      authError: string;
    };

/** What `addMcpServer` resolves to: ready, or waiting for the user to open `authUrl`. */
export type AddMcpServerResult = { id: string; state: "ready" } | { id: string; state: "authenticating"; authUrl: string };

/** Options of one call to a server. */
export interface McpCallOptions {
  /** Milliseconds before the call fails; default the server's `callTimeoutMs` (30 s). */
  timeout?: number;
  /** Aborts the call (the server is told with a cancellation). */
  signal?: AbortSignal;
}

/**
 * What the browser gets after the OAuth callback. Without it the agent redirects (302) to the
 * callback's origin, success or not, as the Agents SDK does.
 */
export interface McpOAuthCallbackConfig {
  /** Redirect here (302) after a successful authorization: an absolute URL, or a path on the callback's origin. */
  successRedirect?: string;
  /** Redirect here (302) after a failed one; `?error=` carries the reason. Absolute URL or path. */
  errorRedirect?: string;
  /**
   * Answers the callback itself (wins over the redirects), e.g. with a page that closes the popup.
   * When a handler throws, the browser gets the redirect it would have got without one, and the
   * error goes to `onError`.
   */
  customHandler?: (result: McpOAuthResult) => Response | Promise<Response>;
}

/** Picks which servers a listing or `getAITools` covers. */
export interface McpServerFilter {
  serverId?: string | string[];
  serverName?: string | string[];
  /** Only servers in this state (or states). */
  state?: McpConnectionState | McpConnectionState[];
}

/**
 * One mounted server as `this.mcp.mcpConnections[id]` shows it, read live: the fields of the Agents
 * SDK's `MCPClientConnection` that code reads. Use `this.mcp` to act on it.
 */
export interface McpClientConnection {
  /** The server's URL (`rpc:<name>` for an McpAgent mounted through its binding). */
  readonly url: URL;
  /**
   * The official SDK client of the current session; undefined while none is open. Requests sent on
   * it directly skip Hearth's timeouts and reconnection: prefer `this.mcp.callTool` and the like.
   */
  readonly client: Client | undefined;
  readonly connectionState: McpConnectionState;
  /** Why it failed or lost its connection. Untrusted text: escape it for display. */
  readonly connectionError: string | null;
  readonly instructions: string | undefined;
  readonly tools: Tool[];
  readonly prompts: Prompt[];
  readonly resources: Resource[];
  readonly resourceTemplates: ResourceTemplate[];
  readonly serverCapabilities: ServerCapabilities | undefined;
}
