import {
  createMcpHandler as createSdkMcpHandler,
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  isJsonContentType,
  isLegacyRequest,
  McpServer,
  Server,
  type AuthInfo,
  type McpRequestContext as SdkRequestContext,
  type McpServerFactory,
  type ServerNotifier,
} from "@modelcontextprotocol/server";
import { withCors } from "../../gateway/cors.ts";
import { bearerGate, resourceMetadataPath, resourceMetadataResponse, type McpAuthOptions } from "./auth.ts";
import { runWithAuthContext, type McpAuthContext } from "./auth-context.ts";
import { checkRequest, listenAddress, normalizePath, requestGuard, resourceUrl } from "./host-guard.ts";
import { readJsonBody } from "./json-body.ts";
import { propsOfExecutionContext } from "./request-context.ts";
import { extendRequestContext } from "./request-extra.ts";
import { isSdkV1Server, isSdkV2Server } from "./server-generation.ts";
import { jsonRpcError } from "./responses.ts";
import { MAX_MCP_SSE_BUFFER_BYTES } from "./sse-transport.ts";
import { statelessLegacyHandler } from "./stateless-legacy.ts";
import { watchProduction, type UnreadLimit } from "./streaming.ts";

/** CORS headers of a `createMcpHandler` endpoint (each replaces its default). */
export interface McpCorsOptions {
  /** Default "*". */
  origin?: string;
  /** Allowed request headers. */
  headers?: string;
  /** Default "GET, POST, DELETE, OPTIONS". */
  methods?: string;
  /** Default "mcp-session-id". */
  exposeHeaders?: string;
  /** Seconds; default 86400. */
  maxAge?: number;
}

/**
 * Options of {@link createMcpHandler}.
 * @example
 * createMcpHandler(createServer, { route: "/mcp", corsOptions: false, legacy: "reject" });
 */
export interface CreateMcpHandlerOptions {
  /** The exact path served; others get 404. Default "/mcp". */
  route?: string;
  /** CORS headers on every response and preflight; `false` sends none. Default: any origin. */
  corsOptions?: McpCorsOptions | false;
  /** Identity for `getMcpAuthContext()`, overriding `ctx.props` and the token's props. */
  authContext?: McpAuthContext;
  /** Protect the endpoint as an OAuth 2.1 protected resource (bearer tokens), as in `McpAgent.serve`. */
  auth?: McpAuthOptions;
  /** Host names accepted in `Host` (DNS-rebinding protection). Default on loopback: local names only. */
  allowedHostnames?: string[];
  /**
   * Host names of the pages (`Origin`) that may call; they replace the default, and `"*"` skips the
   * check. Default: pages of `allowedHostnames` (or local pages on a local endpoint) and the origin
   * `corsOptions.origin` names; on a public name without `allowedHostnames`, any.
   */
  allowedOriginHostnames?: string[] | "*";
  /** 2025-era clients: `"stateless"` (default) answers each request alone; `"reject"` serves 2026-07-28 only. */
  legacy?: "stateless" | "reject";
  /** 2026-07-28 answers: `"auto"` (JSON, SSE once the handler sends something first), `"sse"` or `"json"`. */
  responseMode?: "auto" | "sse" | "json";
  /** Interval of `: keepalive` comments on SSE answers, ms (0: none). Default: the SDK's, 15 s. */
  keepAliveMs?: number;
  /** Largest POST body, bytes. Default 4 MiB. */
  maxRequestBodySize?: number;
  /** Open `subscriptions/listen` streams at most. Default: the SDK's, 1024. */
  maxSubscriptions?: number;
  /**
   * A single `McpServer` instance: bytes of an SSE answer kept for a client that does not read them
   * (the instance moves on to the next request meanwhile); past it the answer is cut, with `onerror`
   * told. Default 8 MiB.
   */
  maxSseBufferBytes?: number;
  /** Told about refused requests and errors outside any response. */
  onerror?: (error: Error) => void;
}

/** A request that passed the endpoint's checks, with who sent it and its body. */
interface Admitted {
  authInfo: AuthInfo | undefined;
  identity: McpAuthContext | undefined;
  parsedBody: unknown;
}

/** Per-request inputs when calling `fetch(request, options)` directly, as on Cloudflare. */
export interface McpHandlerRequestOptions {
  /** A token you verified yourself; handlers see it as `extra.authInfo`. */
  authInfo?: AuthInfo;
  /** The body, already parsed. */
  parsedBody?: unknown;
}

/** What {@link createMcpHandler} returns: a worker fetch, callable as a function too. */
export type StatelessMcpHandler = ((request: Request, env?: unknown, ctx?: unknown) => Promise<Response>) & {
  /** `fetch(request, env, ctx)` as a worker, or `fetch(request, { authInfo, parsedBody })`. */
  fetch(request: Request, envOrOptions?: unknown, ctx?: unknown): Promise<Response>;
  /** Publishes list/resource changes to open 2026-07-28 subscriptions (`notify.toolsChanged()`…). */
  readonly notify: ServerNotifier;
  /** Ends open 2026-07-28 exchanges and subscriptions. */
  close(): Promise<void>;
};

const V1_UNSUPPORTED =
  "createMcpHandler: this McpServer comes from @modelcontextprotocol/sdk v1.x; Hearth's createMcpHandler serves the v2 " +
  'McpServer (import { McpServer } from "hearth/mcp"). Build it with that one, or serve the v1 server from an McpAgent, which accepts both';

const DEFAULT_CORS: Required<McpCorsOptions> = {
  origin: "*",
  headers: "Content-Type, Accept, Authorization, mcp-session-id, MCP-Protocol-Version, Mcp-Method, Mcp-Name",
  methods: "GET, POST, DELETE, OPTIONS",
  exposeHeaders: "mcp-session-id",
  maxAge: 86400,
};

/**
 * A stateless MCP endpoint without an agent: each request is served by a fresh server from `factory`
 * (protocol 2026-07-28, and 2025-era clients statelessly). Passing one `McpServer` instead serves
 * requests one at a time (a server has one connection at a time); pass a factory to serve them in
 * parallel. Handlers read the caller's identity with `getMcpAuthContext()`.
 * @example
 * function createServer() {
 *   const server = new McpServer({ name: "hello", version: "1.0.0" });
 *   server.registerTool("hello", { inputSchema: z.object({ name: z.string() }) },
 *     async ({ name }) => ({ content: [{ type: "text", text: `Hello, ${name}!` }] }));
 *   return server;
 * }
 * export default { fetch: createMcpHandler(createServer) };
 */
export function createMcpHandler(server: McpServerFactory | McpServer | Server, options: CreateMcpHandlerOptions = {}): StatelessMcpHandler {
  if (typeof server !== "function" && !isSdkV2Server(server)) {
    if (isSdkV1Server(server)) throw new TypeError(V1_UNSUPPORTED);
    throw new TypeError("createMcpHandler needs an McpServer (or Server) from hearth/mcp, or a function returning a new one per request");
  }
  const route = normalizePath(options.route ?? "/mcp");
  const cors = options.corsOptions === false ? undefined : corsHeaders(options.corsOptions);
  const gate = options.auth ? bearerGate(options.auth) : undefined;
  const guard = requestGuard(options.allowedHostnames, options.allowedOriginHostnames, cors?.["access-control-allow-origin"], {
    hosts: "allowedHostnames",
    origins: "allowedOriginHostnames",
  });
  const maxRequestBodySize = options.maxRequestBodySize ?? DEFAULT_MAX_REQUEST_BODY_SIZE;
  const produce = typeof server === "function" ? server : oneAtATime(server);
  const sseBufferBytes = options.maxSseBufferBytes ?? MAX_MCP_SSE_BUFFER_BYTES;
  if (!Number.isSafeInteger(sseBufferBytes) || sseBufferBytes < 1) {
    throw new RangeError(`createMcpHandler({ maxSseBufferBytes }): expected a positive integer, got ${String(sseBufferBytes)}`);
  }
  const unread: UnreadLimit = {
    bytes: sseBufferBytes,
    exceeded() {
      const error = new Error(`MCP answer cut: its client left more than ${sseBufferBytes} bytes unread (maxSseBufferBytes)`);
      options.onerror?.(error);
      return error;
    },
  };
  const factory = async (context: SdkRequestContext) => {
    const product: unknown = await produce(context);
    if (!isSdkV2Server(product)) {
      throw new TypeError(isSdkV1Server(product) ? V1_UNSUPPORTED : `createMcpHandler: the factory returned ${typeof product}, not an McpServer (or Server) from hearth/mcp`);
    }
    extendRequestContext(product);
    return product;
  };
  const sdk = createSdkMcpHandler(factory, {
    legacy: "reject",
    ...(options.responseMode ? { responseMode: options.responseMode } : {}),
    ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
    ...(options.maxRequestBodySize !== undefined ? { maxRequestBodySize: options.maxRequestBodySize } : {}),
    ...(options.maxSubscriptions !== undefined ? { maxSubscriptions: options.maxSubscriptions } : {}),
    ...(options.onerror ? { onerror: options.onerror } : {}),
  });
  const legacy = options.legacy === "reject" ? undefined : statelessLegacyHandler(factory, options);

  /**
   * Everything a request is checked for before a server sees it: path, Host and Origin, token, and its
   * body, read and parsed here. With one `McpServer` its turn starts only after this, so a client that
   * uploads slowly, or is refused, holds up nobody.
   */
  const admit = async (request: Request, requestOptions: McpHandlerRequestOptions, ctx: unknown): Promise<Admitted | Response> => {
    const url = new URL(request.url);
    const listen = listenAddress(ctx, url);
    const pathname = normalizePath(url.pathname);
    const isMetadata = options.auth !== undefined && pathname === resourceMetadataPath(route);
    if (pathname !== route && !isMetadata) return withCors(jsonRpcError(404, -32000, `Not found: the MCP endpoint is ${route}`), cors);
    const refused = checkRequest(request, url, guard, listen);
    if (refused) return withCors(refused, cors);
    if (request.method === "OPTIONS" && cors) return new Response(null, { status: 200, headers: cors });
    // Where clients without a token learn which authorization server to ask (RFC 9728).
    if (isMetadata) return resourceMetadataResponse(resourceUrl(request, url, route, options.auth!.resource, guard.hosts, listen), options.auth!, cors ?? {});

    let authInfo = requestOptions.authInfo;
    let props = propsOfExecutionContext(ctx);
    if (gate) {
      const outcome = await gate(request, resourceUrl(request, url, route, options.auth?.resource, guard.hosts, listen));
      if (!outcome.ok) return withCors(outcome.response, cors);
      authInfo = outcome.authInfo;
      props ??= outcome.props;
    }
    let parsedBody = requestOptions.parsedBody;
    // Other content types are the SDK's to refuse (415), without reading them.
    if (parsedBody === undefined && request.method === "POST" && isJsonContentType(request.headers.get("content-type"))) {
      parsedBody = await readJsonBody(request, maxRequestBodySize, "maxRequestBodySize");
      if (parsedBody instanceof Response) return withCors(parsedBody, cors);
    }
    return { authInfo, identity: options.authContext ?? (props ? { props } : undefined), parsedBody };
  };
  const answer = async (request: Request, { authInfo, identity, parsedBody }: Admitted): Promise<Response> => {
    const forwarded = { ...(authInfo ? { authInfo } : {}), ...(parsedBody !== undefined ? { parsedBody } : {}) };
    try {
      const isLegacy = legacy !== undefined && (await isLegacyRequest(request, parsedBody, { maxRequestBodySize }));
      const response = await runWithAuthContext(identity, () => (isLegacy ? legacy(request, authInfo, parsedBody) : sdk.fetch(request, forwarded)));
      return withCors(response, cors);
    } catch (error) {
      options.onerror?.(error instanceof Error ? error : new Error(String(error)));
      return withCors(jsonRpcError(500, -32603, "Internal server error"), cors);
    }
  };
  const single = typeof server === "function" ? undefined : server instanceof McpServer ? server.server : server;
  const lock = single === undefined ? undefined : new Lock();
  const fetch = async (request: Request, envOrOptions?: unknown, ctx?: unknown): Promise<Response> => {
    const requestOptions = ctx === undefined && isRequestOptions(envOrOptions) ? envOrOptions : {};
    const admitted = await admit(request, requestOptions, ctx);
    if (admitted instanceof Response) return admitted;
    if (lock === undefined || single === undefined) return answer(request, admitted);
    const release = once(await lock.acquire());
    try {
      return holdWhileServing(await answer(request, admitted), request.signal, single, release, unread);
    } catch (error) {
      release();
      throw error;
    }
  };
  return Object.assign((request: Request, env?: unknown, ctx?: unknown) => fetch(request, env, ctx), {
    fetch,
    notify: sdk.notify,
    close: () => sdk.close(),
  });
}

/** One instance, one request at a time: the previous exchange has ended, so it may connect again. */
function oneAtATime(server: McpServer | Server): McpServerFactory {
  const low = server instanceof McpServer ? server.server : server;
  return async () => {
    if (low.transport !== undefined) await server.close();
    forgetLastExchange(low);
    return server;
  };
}

/**
 * Makes the instance as a fresh one from a factory: no protocol version, no client. The SDK keeps
 * both per instance (one instance, one connection) and neither `close()` nor `connect()` clears
 * those a 2026-07-28 request set, so each request here negotiates its own: otherwise, once the
 * instance had answered a 2026-07-28 request, a 2025 `initialize` got "Method not found", and a
 * caller's client name and capabilities showed through to the next caller's requests. The fields are
 * the SDK's own (not public): the test of a single instance serving both generations guards them.
 */
function forgetLastExchange(server: Server): void {
  const state = server as unknown as { _negotiatedProtocolVersion?: string; _clientCapabilities?: unknown; _clientVersion?: unknown };
  state._negotiatedProtocolVersion = undefined;
  state._clientCapabilities = undefined;
  state._clientVersion = undefined;
}

/**
 * The single server's turn lasts while it still produces this response: not past a complete answer
 * (JSON, or a stream it finished writing, read or not), not past the client going away, and not at all
 * for a stream it has no part in (`subscriptions/listen` is fed by the notifier), so later requests
 * are served.
 */
function holdWhileServing(response: Response, signal: AbortSignal, server: Server, release: () => void, unread: UnreadLimit): Response {
  const streaming = response.headers.get("content-type")?.includes("text/event-stream") === true;
  if (response.body === null || !streaming || server.transport === undefined || signal.aborted) {
    release();
    return response;
  }
  const gone = () => release();
  signal.addEventListener("abort", gone, { once: true });
  return watchProduction(
    response,
    () => {
      signal.removeEventListener("abort", gone);
      release();
    },
    unread,
  );
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

class Lock {
  #tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#tail;
    this.#tail = previous.then(() => next);
    await previous;
    return release;
  }
}

/** `fetch(request, { authInfo })` (Cloudflare's direct form) rather than `fetch(request, env, ctx)`. */
function isRequestOptions(value: unknown): value is McpHandlerRequestOptions {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key === "authInfo" || key === "parsedBody");
}

function corsHeaders(options: McpCorsOptions = {}): Record<string, string> {
  const merged = { ...DEFAULT_CORS, ...options };
  return {
    "access-control-allow-origin": merged.origin,
    "access-control-allow-headers": merged.headers,
    "access-control-allow-methods": merged.methods,
    "access-control-expose-headers": merged.exposeHeaders,
    "access-control-max-age": String(merged.maxAge),
  };
}
