import type { AuthInfo } from "@modelcontextprotocol/server";
import { withCors, type CorsOption } from "../../gateway/cors.ts";
import { isAgentNamespace, type AgentNamespace } from "../../host/namespace.ts";
import { parseDuration, type Duration } from "../../time/duration.ts";
import { bearerGate, resourceMetadataPath, resourceMetadataResponse, type McpAuthOptions } from "./auth.ts";
import { checkRequest, listenAddress, normalizePath, requestGuard, resourceUrl } from "./host-guard.ts";
import { attachMcpContext, ownerOfProps, propsOfExecutionContext, sessionAgentName } from "./request-context.ts";
import { jsonRpcError, sessionNotFound } from "./responses.ts";
import { routeSse, routeStreamable } from "./routes.ts";
import { MAX_MCP_SESSIONS, SessionSlots } from "./session-limit.ts";
import { MAX_MCP_SSE_BUFFER_BYTES } from "./sse-transport.ts";

/** Largest JSON-RPC POST body an MCP endpoint reads (option `maxRequestBytes`). */
export const MAX_MCP_REQUEST_BYTES = 4 * 1024 * 1024;
/** Idle time after which a Streamable HTTP session is removed (option `sessionTtl`). */
export const MCP_SESSION_TTL = "30 days";
/** Interval of `: keepalive` comments on open SSE streams (option `keepAliveInterval`), as on Cloudflare. */
export const MCP_SSE_KEEPALIVE_MS = 25_000;

/** How an endpoint speaks MCP: Streamable HTTP, the legacy HTTP+SSE transport, or both on one path. */
export type McpServeTransport = "streamable-http" | "sse" | "auto";

/**
 * Options of `McpAgent.serve()` / `serveSSE()`.
 * @example
 * export default MyMcp.serve("/mcp", { cors: true, auth: { authorizationServers: [issuer], jwks: { url } } });
 */
export interface McpServeOptions {
  /**
   * `"streamable-http"` (default); `"sse"` the legacy transport (GET `path`, POST `path/message`);
   * `"auto"` both on one path: POST `path/message` and a GET without `Mcp-Session-Id` are legacy SSE,
   * everything else Streamable HTTP.
   */
  transport?: McpServeTransport;
  /** The env binding of the agent class. Default: the binding whose class is the one `serve` was called on. */
  binding?: string;
  /** Protect the endpoint as an OAuth 2.1 protected resource. */
  auth?: McpAuthOptions;
  /**
   * CORS headers for browser-based MCP clients: `true` sends `Access-Control-Allow-Origin: *`; an object
   * sets exactly those headers. Which pages may call is `allowedOriginHostnames`.
   */
  cors?: CorsOption;
  /**
   * Host names (no port) the endpoint answers to; other `Host` headers get 403 — protection against DNS
   * rebinding. Default: when the request reaches a loopback address, only localhost names are accepted.
   */
  allowedHosts?: string[];
  /**
   * Host names of the pages (their `Origin`) that may call the endpoint; other origins get 403.
   * `"*"` accepts any. Default: pages of the names the endpoint answers to (`allowedHosts`, or local
   * names on a local endpoint) and the origin `cors` names; on a public name without `allowedHosts`, any.
   * Requests without `Origin` (clients outside a browser) are not concerned.
   * @example Notes.serve("/mcp", { cors: true, allowedOriginHostnames: ["inspector.example.com"] })
   */
  allowedOriginHostnames?: string[] | "*";
  /** Largest POST body, in bytes. Default 4 MiB. */
  maxRequestBytes?: number;
  /**
   * A Streamable HTTP session unused this long is removed with its storage (clients start a new one
   * on the 404, as the protocol requires). Milliseconds or a duration string. Default "30 days".
   */
  sessionTtl?: Duration;
  /**
   * Interval of `: keepalive` comments on open SSE streams, so proxies do not drop a stream that waits
   * on a slow tool. Milliseconds or a duration string; 0 turns them off. Default 25 s.
   */
  keepAliveInterval?: Duration;
  /**
   * Live sessions (Streamable HTTP and legacy SSE) this endpoint holds at most; an `initialize` past
   * it gets HTTP 503 until a session ends (DELETE, expiry, closed stream). Default 10,000.
   */
  maxSessions?: number;
  /**
   * Bytes of events a legacy SSE stream keeps for a client that does not read them; past it the stream
   * and its session end (logged). Default 8 MiB.
   */
  maxSseBufferBytes?: number;
}

/** A worker-style fetch handler: `export default MyMcp.serve("/mcp")`. */
export interface McpHandler {
  /**
   * Serves one request. `ctx.props` (a wrapping worker's verified identity, as an OAuth provider
   * hands it on Cloudflare) becomes the session's `this.props`.
   */
  fetch(request: Request, env: object, ctx?: unknown): Promise<Response>;
  /** Where and how it serves (shown by `hearth dev`). */
  readonly endpoint: { readonly path: string; readonly transport: McpServeTransport };
}

const EXPOSED = "mcp-session-id, mcp-protocol-version, www-authenticate";
const ALLOWED_HEADERS = "content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id";

/** @internal Builds the HTTP endpoint of an McpAgent class (`serve` / `serveSSE`). */
export function createAgentMcpEndpoint(
  agentClass: abstract new (...args: never[]) => unknown,
  kind: McpServeTransport,
  path: string,
  options: McpServeOptions = {},
): McpHandler {
  if (kind !== "streamable-http" && kind !== "sse" && kind !== "auto") {
    throw new TypeError(`serve({ transport }): expected "streamable-http", "sse" or "auto", got ${JSON.stringify(kind)}`);
  }
  const base = normalizePath(path);
  const messagePath = `${base === "/" ? "" : base}/message`;
  const maxBytes = options.maxRequestBytes ?? MAX_MCP_REQUEST_BYTES;
  const gate = options.auth ? bearerGate(options.auth) : undefined;
  const cors = corsFor(options.cors);
  const sessionTtlMs = parseDuration(options.sessionTtl ?? MCP_SESSION_TTL, "sessionTtl");
  const keepAliveMs = parseDuration(options.keepAliveInterval ?? MCP_SSE_KEEPALIVE_MS, "keepAliveInterval");
  const guard = requestGuard(options.allowedHosts, options.allowedOriginHostnames, allowOriginOf(cors), {
    hosts: "allowedHosts",
    origins: "allowedOriginHostnames",
  });
  const sessions = new SessionSlots(options.maxSessions ?? MAX_MCP_SESSIONS);
  const sseBufferBytes = options.maxSseBufferBytes ?? MAX_MCP_SSE_BUFFER_BYTES;
  if (!Number.isSafeInteger(sseBufferBytes) || sseBufferBytes < 1) {
    throw new RangeError(`serve({ maxSseBufferBytes }): expected a positive integer, got ${String(sseBufferBytes)}`);
  }
  /** The binding never changes for an env: looked up once, not on every request. */
  const namespaces = new WeakMap<object, AgentNamespace>();

  return {
    endpoint: { path: base, transport: kind },
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      const listen = listenAddress(ctx, url);
      const pathname = normalizePath(url.pathname);
      if (options.auth && pathname === resourceMetadataPath(base)) {
        if (request.method === "OPTIONS") return new Response(null, { status: 200, headers: cors ?? {} });
        const refused = checkRequest(request, url, guard, listen);
        if (refused) return withCors(refused, cors);
        return resourceMetadataResponse(resourceUrl(request, url, base, options.auth.resource, guard.hosts, listen), options.auth, cors ?? {});
      }
      const isMessage = kind !== "streamable-http" && pathname === messagePath;
      if (pathname !== base && !isMessage) return withCors(jsonRpcError(404, -32000, `Not found: the MCP endpoint is ${base}`), cors);
      // Preflights answer 200, as on Cloudflare.
      if (request.method === "OPTIONS") return new Response(null, { status: 200, headers: preflight(cors) });

      const refused = checkRequest(request, url, guard, listen);
      if (refused) return withCors(refused, cors);

      let auth: { authInfo?: AuthInfo; props?: Record<string, unknown>; owner?: string } = {};
      if (gate) {
        const outcome = await gate(request, resourceUrl(request, url, base, options.auth?.resource, guard.hosts, listen));
        if (!outcome.ok) return withCors(outcome.response, cors);
        auth = { authInfo: outcome.authInfo, props: outcome.props, owner: ownerOf(outcome.authInfo) };
      }
      // A wrapping worker's verified identity (ctx.props) is what the session sees as this.props;
      // without a bearer gate it is also who owns the session.
      const handedProps = propsOfExecutionContext(ctx);
      if (handedProps !== undefined) auth = { ...auth, props: handedProps, ...(gate ? {} : { owner: ownerOfProps(handedProps) }) };
      let namespace = namespaces.get(env);
      if (namespace === undefined) namespaces.set(env, (namespace = findNamespace(env, agentClass, options.binding)));
      const transport = kind === "auto" ? autoTransport(request, isMessage) : kind;
      const route = transport === "sse"
        ? await routeSse(request, url, isMessage, maxBytes)
        : await routeStreamable(request, maxBytes);
      if (route instanceof Response) return withCors(route, cors);

      const name = sessionAgentName(transport, route.sessionId);
      if (!route.isNew && !(await namespace.known(name))) return withCors(sessionNotFound(), cors);
      if (!route.isNew) sessions.note(name);
      else if (!(await sessions.take(name, (session) => namespace.known(session)))) return withCors(tooManySessions(sessions.max), cors);
      attachMcpContext(request, {
        transport,
        sessionId: route.sessionId,
        sessionTtlMs,
        keepAliveMs,
        sseBufferBytes,
        ...(route.body !== undefined ? { parsedBody: route.body } : {}),
        ...auth,
        ...(transport === "sse" ? { messagePath: `${messagePath}?sessionId=${encodeURIComponent(route.sessionId)}` } : {}),
      });
      try {
        const response = await namespace.getByName(name).fetch(request);
        // A refused or failed initialize opened no session: its place is free again.
        if (route.isNew && !response.ok) sessions.release(name);
        return withCors(response, cors);
      } catch (error) {
        if (route.isNew) sessions.release(name);
        // The session ended (DELETE, expiry) while this request waited for it.
        if (!(await namespace.known(name))) return withCors(sessionNotFound(), cors);
        throw error;
      }
    },
  };
}

/** Every session is an agent with its own file, so their number is bounded (`maxSessions`). */
function tooManySessions(max: number): Response {
  return jsonRpcError(503, -32000, `Service unavailable: this MCP endpoint holds its limit of ${max} live sessions (maxSessions); retry once one ends`, {
    "retry-after": "60",
  });
}

/**
 * One path for both transports, told apart as Cloudflare does: POST to `…/message` and a GET that
 * names no session are the legacy transport; POST, DELETE and a GET with `Mcp-Session-Id` (the
 * standalone stream) are Streamable HTTP.
 */
function autoTransport(request: Request, isMessage: boolean): "streamable-http" | "sse" {
  if (isMessage) return "sse";
  return request.method === "GET" && !request.headers.has("mcp-session-id") ? "sse" : "streamable-http";
}

function ownerOf(auth: AuthInfo): string {
  const sub = (auth.extra?.claims as { sub?: unknown } | undefined)?.sub;
  return typeof sub === "string" ? sub : auth.clientId;
}

function findNamespace(env: object, agentClass: abstract new (...args: never[]) => unknown, binding: string | undefined): AgentNamespace {
  if (binding !== undefined) {
    const value = (env as Record<string, unknown>)[binding];
    if (!isAgentNamespace(value)) throw new TypeError(`serve({ binding: "${binding}" }): env.${binding} is not an agent binding`);
    return value;
  }
  for (const value of Object.values(env)) if (isAgentNamespace(value) && value.agentClass === agentClass) return value;
  throw new TypeError(
    `${agentClass.name} is not among the served agent classes: export it from the entry file (or pass { binding })`,
  );
}

function corsFor(option: McpServeOptions["cors"]): Record<string, string> | undefined {
  if (!option) return undefined;
  if (option !== true) return option;
  return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED };
}

/** The `Access-Control-Allow-Origin` the endpoint sends (header names in any case). */
function allowOriginOf(cors: Record<string, string> | undefined): string | undefined {
  return Object.entries(cors ?? {}).find(([name]) => name.toLowerCase() === "access-control-allow-origin")?.[1];
}

function preflight(cors: Record<string, string> | undefined): Record<string, string> {
  return {
    ...cors,
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": "86400",
  };
}
