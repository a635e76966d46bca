import { isInitializeRequest, isLegacyRequest, SUPPORTED_PROTOCOL_VERSIONS, type AuthInfo, type JSONRPCMessage } from "@modelcontextprotocol/server";
import { randomUUID } from "node:crypto";
import { withCors, type CorsOption } from "../../gateway/cors.ts";
import { isAgentNamespace, type AgentNamespace } from "../../host/namespace.ts";
import { parseDuration, type Duration } from "../../time/duration.ts";
import { bearerGate, resourceMetadataPath, resourceMetadataResponse, type McpAuthOptions } from "./auth.ts";
import { readBodyWithLimit } from "../bounded-body.ts";
import { attachMcpContext, sessionAgentName, type McpTransportKind } from "./request-context.ts";
import { jsonRpcError, sessionNotFound } from "./responses.ts";

/** Largest JSON-RPC POST body an MCP endpoint reads (option `maxRequestBytes`). */
export const MAX_MCP_REQUEST_BYTES = 4 * 1024 * 1024;
/** Idle time after which a Streamable HTTP session is removed (option `sessionTtl`). */
export const MCP_SESSION_TTL = "30 days";

/**
 * Options of `McpAgent.serve()` / `serveSSE()`.
 * @example
 * export default MyMcp.serve("/mcp", { cors: true, auth: { authorizationServers: [issuer], jwks: { url } } });
 */
export interface McpServeOptions {
  /** The env binding of the agent class. Default: the binding whose class is the one `serve` was called on. */
  binding?: string;
  /** Protect the endpoint as an OAuth 2.1 protected resource. */
  auth?: McpAuthOptions;
  /** `true` allows any origin (browser-based MCP clients); an object sets exactly those headers. */
  cors?: CorsOption;
  /**
   * Host names (no port) the endpoint answers to; other `Host` headers get 403 — protection against DNS
   * rebinding. Default: when the request reaches a loopback address, only localhost names are accepted.
   */
  allowedHosts?: string[];
  /** Largest POST body, in bytes. Default 4 MiB. */
  maxRequestBytes?: number;
  /**
   * A Streamable HTTP session unused this long is removed with its storage (clients start a new one
   * on the 404, as the protocol requires). Milliseconds or a duration string. Default "30 days".
   */
  sessionTtl?: Duration;
}

/** A worker-style fetch handler: `export default MyMcp.serve("/mcp")`. */
export interface McpHandler {
  fetch(request: Request, env: object, ctx?: unknown): Promise<Response>;
  /** Where and how it serves (shown by `hearth dev`). */
  readonly endpoint: { readonly path: string; readonly transport: McpTransportKind };
}

const SESSION_ID = /^[\x21-\x7e]{1,128}$/;
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
/** Listening on every interface includes loopback: such a server is protected as a local one. */
const LOCAL_LISTEN = new Set([...LOOPBACK_HOSTS, "0.0.0.0", "[::]", "::"]);
const EXPOSED = "mcp-session-id, mcp-protocol-version, www-authenticate";
const ALLOWED_HEADERS = "content-type, accept, authorization, mcp-session-id, mcp-protocol-version, last-event-id";

/** @internal Builds the endpoint of `agentClass` for one transport. */
export function createMcpHandler(
  agentClass: abstract new (...args: never[]) => unknown,
  kind: McpTransportKind,
  path: string,
  options: McpServeOptions = {},
): McpHandler {
  const base = normalizePath(path);
  const messagePath = `${base === "/" ? "" : base}/message`;
  const maxBytes = options.maxRequestBytes ?? MAX_MCP_REQUEST_BYTES;
  const gate = options.auth ? bearerGate(options.auth) : undefined;
  const cors = corsFor(options.cors);
  const sessionTtlMs = parseDuration(options.sessionTtl ?? MCP_SESSION_TTL, "sessionTtl");
  const allowedHosts = options.allowedHosts?.map((host) => host.toLowerCase());
  /** The binding never changes for an env: looked up once, not on every request. */
  const namespaces = new WeakMap<object, AgentNamespace>();

  return {
    endpoint: { path: base, transport: kind },
    async fetch(request, env) {
      const url = new URL(request.url);
      const pathname = normalizePath(url.pathname);
      if (options.auth && pathname === resourceMetadataPath(base)) {
        if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors ?? {} });
        const refused = checkHost(request, url, allowedHosts);
        if (refused) return withCors(refused, cors);
        return resourceMetadataResponse(resourceUrl(request, url, base, options.auth.resource, allowedHosts), options.auth, cors ?? {});
      }
      const isMessage = kind === "sse" && pathname === messagePath;
      if (pathname !== base && !isMessage) return withCors(jsonRpcError(404, -32000, `Not found: the MCP endpoint is ${base}`), cors);
      if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: preflight(cors) });

      const rebinding = checkHost(request, url, allowedHosts);
      if (rebinding) return withCors(rebinding, cors);

      let auth: { authInfo?: AuthInfo; props?: Record<string, unknown>; owner?: string } = {};
      if (gate) {
        const outcome = await gate(request, resourceUrl(request, url, base, options.auth?.resource, allowedHosts));
        if (!outcome.ok) return withCors(outcome.response, cors);
        auth = { authInfo: outcome.authInfo, props: outcome.props, owner: ownerOf(outcome.authInfo) };
      }
      let namespace = namespaces.get(env);
      if (namespace === undefined) namespaces.set(env, (namespace = findNamespace(env, agentClass, options.binding)));
      const route = kind === "sse"
        ? await routeSse(request, url, isMessage, maxBytes)
        : await routeStreamable(request, maxBytes);
      if (route instanceof Response) return withCors(route, cors);

      const name = sessionAgentName(kind, route.sessionId);
      if (!route.isNew && !namespace.exists(name)) return withCors(sessionNotFound(), cors);
      attachMcpContext(request, {
        transport: kind,
        sessionId: route.sessionId,
        sessionTtlMs,
        ...(route.body !== undefined ? { parsedBody: route.body } : {}),
        ...auth,
        ...(kind === "sse" ? { messagePath: `${messagePath}?sessionId=${encodeURIComponent(route.sessionId)}` } : {}),
      });
      try {
        return withCors(await namespace.getByName(name).fetch(request), cors);
      } catch (error) {
        // The session ended (DELETE, expiry) while this request waited for it.
        if (!namespace.exists(name)) return withCors(sessionNotFound(), cors);
        throw error;
      }
    },
  };
}

type Route = { sessionId: string; isNew: boolean; body?: unknown };

async function routeStreamable(request: Request, maxBytes: number): Promise<Route | Response> {
  const header = request.headers.get("mcp-session-id");
  if (header !== null && !SESSION_ID.test(header)) return jsonRpcError(400, -32000, "Bad Request: malformed Mcp-Session-Id header");
  if (request.method === "GET" || request.method === "DELETE") {
    if (header === null) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    if (request.method === "GET" && !accepts(request, "text/event-stream")) {
      return jsonRpcError(406, -32000, "Not Acceptable: Client must accept text/event-stream");
    }
    return { sessionId: header, isNew: false };
  }
  if (request.method !== "POST") {
    return jsonRpcError(405, -32000, "Method not allowed: use POST, GET or DELETE", { allow: "GET, POST, DELETE, OPTIONS" });
  }
  if (!accepts(request, "application/json") || !accepts(request, "text/event-stream")) {
    return jsonRpcError(406, -32000, "Not Acceptable: Client must accept both application/json and text/event-stream");
  }
  const body = await readJson(request, maxBytes);
  if (body instanceof Response) return body;
  const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
  const initializing = messages.some((message) => isInitializeRequest(message));
  if (header !== null) {
    if (initializing) return jsonRpcError(400, -32600, "Invalid Request: this session is already initialized");
    return { sessionId: header, isNew: false, body };
  }
  if (!initializing) {
    if (!(await isLegacyRequest(request, body))) return unsupportedRevision(request, messages[0]);
    return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required (or send initialize)");
  }
  return { sessionId: randomUUID(), isNew: true, body };
}

/**
 * A request in the stateless 2026-07-28 revision (no handshake, no session). McpAgent serves MCP
 * sessions; saying so with the version error lets negotiating clients fall back to initialize.
 */
function unsupportedRevision(request: Request, message: JSONRPCMessage | undefined): Response {
  const requested = request.headers.get("mcp-protocol-version") ?? "unknown";
  const supported = SUPPORTED_PROTOCOL_VERSIONS.filter((version) => version < "2026");
  const id = message && "id" in message ? message.id : null;
  return Response.json(
    {
      jsonrpc: "2.0",
      id,
      error: {
        code: -32022,
        message: `Unsupported protocol version ${requested}: this endpoint serves MCP sessions (initialize, then Mcp-Session-Id), revisions ${supported.join(", ")}`,
        data: { supported, requested },
      },
    },
    { status: 400 },
  );
}

async function routeSse(request: Request, url: URL, isMessage: boolean, maxBytes: number): Promise<Route | Response> {
  if (!isMessage) {
    if (request.method !== "GET") return jsonRpcError(405, -32000, "Method not allowed: open the SSE stream with GET", { allow: "GET" });
    return { sessionId: randomUUID(), isNew: true };
  }
  if (request.method !== "POST") return jsonRpcError(405, -32000, "Method not allowed: POST messages here", { allow: "POST" });
  const sessionId = url.searchParams.get("sessionId");
  if (sessionId === null || !SESSION_ID.test(sessionId)) return jsonRpcError(400, -32000, "Bad Request: missing or malformed sessionId");
  const body = await readJson(request, maxBytes);
  if (body instanceof Response) return body;
  return { sessionId, isNew: false, body };
}

async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) return jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
  const text = await readBodyWithLimit(request, maxBytes);
  if (text === undefined) return jsonRpcError(413, -32000, `Payload too large: the limit is ${maxBytes} bytes (maxRequestBytes)`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return jsonRpcError(400, -32700, "Parse error: Invalid JSON");
  }
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || messages.some((message) => typeof message !== "object" || message === null || Array.isArray(message))) {
    return jsonRpcError(400, -32600, "Invalid Request: the body must be a JSON-RPC message or a non-empty array of them");
  }
  return body;
}

/** DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends `Host: evil.example`. */
function checkHost(request: Request, url: URL, allowed: string[] | undefined): Response | undefined {
  const host = request.headers.get("host") ?? url.host;
  const hostname = hostnameOf(host);
  if (allowed) {
    if (!allowed.includes(hostname)) return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not allowed (allowedHosts)`);
    return undefined;
  }
  // The request URL carries the address the server listens on (the gateway builds it), not the Host header.
  const reachedOnLoopback = LOCAL_LISTEN.has(url.hostname);
  if (reachedOnLoopback && !LOOPBACK_HOSTS.has(hostname)) {
    return jsonRpcError(403, -32000, `Forbidden: Host ${JSON.stringify(host)} is not a local name (set allowedHosts to serve it)`);
  }
  const origin = request.headers.get("origin");
  const originHost = origin !== null && URL.canParse(origin) ? new URL(origin).hostname : undefined;
  if (origin !== null && LOOPBACK_HOSTS.has(hostname) && (originHost === undefined || !LOOPBACK_HOSTS.has(originHost))) {
    return jsonRpcError(403, -32000, `Forbidden: Origin ${origin} may not call a local MCP server (set allowedHosts / cors)`);
  }
  return undefined;
}

function accepts(request: Request, type: string): boolean {
  const accept = request.headers.get("accept") ?? "";
  return accept.includes(type) || accept.includes("*/*");
}

/**
 * The public URL of the endpoint, which tokens are issued for: `auth.resource`, else what the client
 * addressed (the Host header, checked against DNS rebinding first) — not the address the server
 * listens on, which a proxy or a host name hides.
 */
function resourceUrl(request: Request, url: URL, base: string, configured: string | undefined, allowedHosts: string[] | undefined): string {
  if (configured !== undefined) return configured;
  if (!allowedHosts && !LOCAL_LISTEN.has(url.hostname)) {
    throw new TypeError("serve({ auth }) on a public interface needs auth.resource (the endpoint's public URL) or allowedHosts: the Host header alone cannot be trusted to name the resource tokens are for");
  }
  const forwarded = request.headers.get("x-forwarded-proto");
  const scheme = forwarded === "https" || forwarded === "http" ? forwarded : url.protocol.slice(0, -1);
  return `${scheme}://${request.headers.get("host") ?? url.host}${base}`;
}

function ownerOf(auth: AuthInfo): string {
  const sub = (auth.extra?.claims as { sub?: unknown } | undefined)?.sub;
  return typeof sub === "string" ? sub : auth.clientId;
}

function hostnameOf(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  return host.split(":")[0]!.toLowerCase();
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

function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed.startsWith("/") ? trimmed : `/${trimmed}`;
}

function corsFor(option: McpServeOptions["cors"]): Record<string, string> | undefined {
  if (!option) return undefined;
  if (option !== true) return option;
  return { "access-control-allow-origin": "*", "access-control-expose-headers": EXPOSED };
}

function preflight(cors: Record<string, string> | undefined): Record<string, string> {
  return {
    ...cors,
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": "86400",
  };
}
