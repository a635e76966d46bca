/**
 * The frames of the agent wire protocol that clients act on, and a parser
 * that recognises them. Anything else (chat frames, an agent's own messages)
 * is left to the application.
 */
import type { McpConnectionState } from "../protocol/frames.ts";

/** `{"type":"cf_agent_identity"}`: which instance the socket reached. */
export interface IdentityFrame {
  type: "cf_agent_identity";
  name: string;
  agent: string;
  /** When true, a `cf_agent_state` frame follows before the connection is ready. */
  stateFollows?: boolean;
}

/** `{"type":"cf_agent_state"}`: the agent's current state. */
export interface StateFrame {
  type: "cf_agent_state";
  state: unknown;
}

/** `{"type":"cf_agent_state_error"}`: a state update from this client was refused. */
export interface StateErrorFrame {
  type: "cf_agent_state_error";
  error: string;
}

/** One remote MCP server an agent has mounted, as `cf_agent_mcp_servers` describes it. */
export interface McpServerInfo {
  name: string;
  server_url: string;
  auth_url: string | null;
  state: McpConnectionState;
  error?: string | null;
  capabilities: Record<string, unknown> | null;
  instructions: string | null;
}

/** What an agent's remote MCP servers offer (`getMcpServers()` on the agent). */
export interface McpServersState {
  servers: Record<string, McpServerInfo>;
  tools: Array<{ name: string; serverId: string; description?: string; inputSchema?: unknown }>;
  prompts: Array<{ name: string; serverId: string; description?: string }>;
  resources: Array<{ uri: string; name: string; serverId: string }>;
}

/** `{"type":"cf_agent_mcp_servers"}`: the agent's MCP servers changed (also sent on connect). */
export interface McpServersFrame {
  type: "cf_agent_mcp_servers";
  mcp: McpServersState;
}

/** A reply to an `rpc` request: a result, a stream chunk (`done: false`) or an error. */
export type RpcResponseFrame =
  | { type: "rpc"; id: string; success: true; result?: unknown; done?: boolean }
  | { type: "rpc"; id: string; success: false; error?: string };

/** Every frame the clients handle themselves. */
export type ClientFrame = IdentityFrame | StateFrame | StateErrorFrame | McpServersFrame | RpcResponseFrame;

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A text WebSocket message parsed as a JSON object, or undefined for anything else. */
export function readJsonObject(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== "string" || !data.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads a WebSocket message and returns it when it is a frame the clients
 * handle, or `undefined` for binary data, non-JSON text and other frame types.
 *
 * @example
 * ```ts
 * const frame = readClientFrame(event.data);
 * if (frame?.type === "cf_agent_state") render(frame.state);
 * ```
 */
export function readClientFrame(data: unknown): ClientFrame | undefined {
  const value = readJsonObject(data);
  if (value === undefined) return undefined;
  switch (value.type) {
    case "cf_agent_identity":
      return typeof value.name === "string" && typeof value.agent === "string"
        ? (value as unknown as IdentityFrame)
        : undefined;
    case "cf_agent_state":
      return value as unknown as StateFrame;
    case "cf_agent_state_error":
      return { type: "cf_agent_state_error", error: String(value.error ?? "State update rejected") };
    case "cf_agent_mcp_servers":
      return isRecord(value.mcp) && isRecord(value.mcp.servers) ? (value as unknown as McpServersFrame) : undefined;
    case "rpc":
      return typeof value.id === "string" && typeof value.success === "boolean"
        ? (value as unknown as RpcResponseFrame)
        : undefined;
    default:
      return undefined;
  }
}

/**
 * Serialises a state update sent by a client.
 *
 * @example
 * ```ts
 * socket.send(stateFrame({ count: 1 })); // {"type":"cf_agent_state","state":{"count":1}}
 * ```
 */
export function stateFrame(state: unknown): string {
  return JSON.stringify({ type: "cf_agent_state", state });
}
