import { createHash } from "node:crypto";
import type { AuthInfo } from "@modelcontextprotocol/server";
import { carryAcrossNodes } from "../../gateway/carried-context.ts";

/** Which MCP transport a session speaks ("rpc": an agent binding, see RpcClientTransport). */
export type McpTransportKind = "streamable-http" | "sse" | "rpc";

/**
 * What the endpoint (serve.ts) learnt about a request before handing it to the session's agent:
 * the parsed body, the verified identity, the session. It travels with the Request object itself
 * (in-process), so no header a client could forge carries it.
 */
export interface McpRequestContext {
  readonly transport: "streamable-http" | "sse";
  readonly sessionId: string;
  /** The JSON body, already read and size-checked (POST only). */
  readonly parsedBody?: unknown;
  /** The verified bearer token, when the endpoint is protected. */
  readonly authInfo?: AuthInfo;
  /** Who is asking (the token's subject, else the `ctx.props` identity): a session answers only to the identity that opened it. */
  readonly owner?: string;
  /** Identity for `this.props`: the worker's `ctx.props`, else derived from the verified token. */
  readonly props?: Record<string, unknown>;
  /** Idle time after which the session is removed (ms). */
  readonly sessionTtlMs: number;
  /** Interval of `: keepalive` comments on SSE streams (ms; 0: none). */
  readonly keepAliveMs: number;
  /** Unread bytes a legacy SSE stream keeps before it is ended. */
  readonly sseBufferBytes: number;
  /** Path clients POST to on the legacy SSE transport, e.g. "/sse/message". */
  readonly messagePath?: string;
}

const contexts = new WeakMap<Request, McpRequestContext>();
// A cluster node forwarding the request to the node holding the session's agent carries it along.
carryAcrossNodes("mcp", (request) => contexts.get(request), (request, value) => contexts.set(request, value as McpRequestContext));

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

/**
 * The identity a wrapping worker hands to the MCP handler in its `ctx.props` (as an OAuth provider
 * does on Cloudflare). An empty object means none; anything but a plain object is a programming error.
 */
export function propsOfExecutionContext(ctx: unknown): Record<string, unknown> | undefined {
  if (typeof ctx !== "object" || ctx === null || !("props" in ctx)) return undefined;
  const props: unknown = ctx.props;
  if (props === undefined || props === null) return undefined;
  const prototype: unknown = typeof props === "object" ? Object.getPrototypeOf(props) : undefined;
  if (typeof props !== "object" || Array.isArray(props) || (prototype !== Object.prototype && prototype !== null)) {
    throw new TypeError(`ctx.props must be a plain object (the identity for this.props), got ${Array.isArray(props) ? "an array" : typeof props}`);
  }
  return Object.keys(props).length === 0 ? undefined : (props as Record<string, unknown>);
}

/**
 * The owner of a session opened with `ctx.props` and no bearer gate: the props themselves (a SHA-256
 * of their JSON, keys sorted), so only requests handed the same identity reach the session.
 * @example
 * ownerOfProps({ sub: "alice" }) === ownerOfProps({ sub: "alice" }); // true; "props:<64 hex digits>"
 */
export function ownerOfProps(props: Record<string, unknown>): string {
  let json: string;
  try {
    json = JSON.stringify(props, (_key, value: unknown) => (isPlainObject(value) ? sortedKeys(value) : value));
  } catch (error) {
    throw new TypeError(`ctx.props must be JSON (it is stored with the session): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return `props:${createHash("sha256").update(json).digest("hex")}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, value[key]]));
}
