import { McpServer, Server, type ElicitResult, type MessageExtraInfo, type Transport } from "@modelcontextprotocol/server";

/**
 * An `McpServer` (or low-level `Server`) from `@modelcontextprotocol/sdk` v1.x, as Cloudflare's Agents
 * SDK projects build them. Hearth drives it through the SDK's public Transport interface only
 * (`connect`, `close`), which v1 and v2 share; v1 is recognised by shape, not by import.
 */
export interface SdkV1Server {
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

/** What `McpAgent.server` may be: the v2 `McpServer`/`Server` of `hearth/mcp`, or a v1 one. */
export type AnyMcpServer = McpServer | Server | SdkV1Server;

/** The low-level server of either generation: the part that asks the client things. */
export interface LowLevelServer {
  readonly transport?: Transport | undefined;
  elicitInput(params: unknown, options?: { relatedRequestId?: string | number; timeout?: number }): Promise<ElicitResult>;
}

type Shape = Record<string, unknown>;

const isObject = (value: unknown): value is Shape => typeof value === "object" && value !== null;
const hasMethods = (value: unknown, ...names: string[]): value is Shape =>
  isObject(value) && names.every((name) => typeof value[name] === "function");

/** The v2 SDK's `McpServer` or `Server` (the one `hearth/mcp` exports). */
export function isSdkV2Server(server: unknown): server is McpServer | Server {
  return server instanceof McpServer || server instanceof Server;
}

/** A v1 `McpServer` (with its `server`) or a v1 low-level `Server` (with `setRequestHandler`). */
export function isSdkV1Server(server: unknown): server is SdkV1Server {
  if (isSdkV2Server(server) || !hasMethods(server, "connect", "close")) return false;
  return hasMethods(server.server, "connect", "setRequestHandler") || hasMethods(server, "setRequestHandler");
}

/**
 * Checks what a class put in `server` before Hearth connects it: a clear error naming the cause
 * instead of a failure deep inside the SDK.
 */
export function assertMcpServer(server: unknown, owner: string): asserts server is AnyMcpServer {
  if (isSdkV2Server(server) || isSdkV1Server(server)) return;
  if (server === undefined || server === null) {
    throw new TypeError(`${owner}.server is ${String(server)}: set it to an McpServer (from "hearth/mcp", or "@modelcontextprotocol/sdk/server/mcp.js" v1.x) before init() runs`);
  }
  throw new TypeError(
    `${owner}.server is not an MCP server Hearth can serve (${describe(server)}): use an McpServer or Server from "hearth/mcp" ` +
      `(@modelcontextprotocol/server v2) or from "@modelcontextprotocol/sdk" v1.x (anything with connect(transport) and close())`,
  );
}

/** The low-level server of `server` (itself, or an `McpServer`'s `server`). */
export function lowLevelServerOf(server: AnyMcpServer): LowLevelServer {
  if (server instanceof Server) return server as unknown as LowLevelServer;
  if (server instanceof McpServer) return server.server as unknown as LowLevelServer;
  const inner = (server as unknown as Shape).server;
  return (hasMethods(inner, "connect") ? inner : server) as unknown as LowLevelServer;
}

/**
 * What v1 handlers read from the message's transport info: v1 takes the HTTP request as
 * `requestInfo` (headers by name, URL) where v2 takes the `Request` itself.
 */
export function withV1RequestInfo(extra: MessageExtraInfo | undefined): MessageExtraInfo | undefined {
  const request = extra?.request;
  if (request === undefined) return extra;
  return { ...extra, requestInfo: { headers: Object.fromEntries(request.headers), url: new URL(request.url) } } as MessageExtraInfo;
}

function describe(value: unknown): string {
  if (!isObject(value)) return typeof value;
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === "string" && name !== "Object" ? `a ${name} without connect(transport) and close()` : "an object without connect(transport) and close()";
}
