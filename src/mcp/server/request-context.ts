import type { AuthInfo } from "@modelcontextprotocol/server";

/** Which MCP transport a session speaks. */
export type McpTransportKind = "streamable-http" | "sse";

/**
 * What the endpoint (serve.ts) learnt about a request before handing it to the session's agent:
 * the parsed body, the verified identity, the session. It travels with the Request object itself
 * (in-process), so no header a client could forge carries it.
 */
export interface McpRequestContext {
  readonly transport: McpTransportKind;
  readonly sessionId: string;
  /** The JSON body, already read and size-checked (POST only). */
  readonly parsedBody?: unknown;
  /** The verified bearer token, when the endpoint is protected. */
  readonly authInfo?: AuthInfo;
  /** The token's subject: a session answers only to the identity that opened it. */
  readonly owner?: string;
  /** Identity for `this.props`, derived from authInfo (or given by `serve({ props })`). */
  readonly props?: Record<string, unknown>;
  /** Idle time after which the session is removed (ms). */
  readonly sessionTtlMs: number;
  /** Path clients POST to on the legacy SSE transport, e.g. "/sse/message". */
  readonly messagePath?: string;
}

const contexts = new WeakMap<Request, McpRequestContext>();

export function attachMcpContext(request: Request, context: McpRequestContext): Request {
  contexts.set(request, context);
  return request;
}

/** The context of a request that came through an MCP endpoint, or undefined for any other request. */
export function mcpContextOf(request: Request): McpRequestContext | undefined {
  return contexts.get(request);
}

/** Instance name of the agent serving a session: one agent per MCP session. */
export function sessionAgentName(transport: McpTransportKind, sessionId: string): string {
  return `${transport}:${sessionId}`;
}
