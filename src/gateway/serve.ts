import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { clearInterval, clearTimeout, setInterval, setTimeout } from "node:timers"; // Node's own: never an application's fake one
import type { ActorHost as Host } from "../host/host.ts";
import { hardMaxMessageBytes, LIMITS } from "../limits.ts";
import { bodyLimitPassed, discardBody } from "./incoming-body.ts";
import { declaredBodyLength, invalidHeader, toAbortableRequest, toRequest, unsendable, writeRawResponse, writeResponse } from "./node-adapter.ts";
import { bodyTooLargeResponse, checkedBodyLimit, refuseDeclaredBody } from "./request-body-limit.ts";
import { sendableResponse } from "./sendable-response.ts";
import { routeAgentRequest } from "./route.ts";
import { UPGRADE_MARKER_HEADER, upgradeTargetOf } from "../host/upgrade.ts";
import { routeConnections, type ConnectionRoute } from "./connection-router.ts";
import { socketOfMoved, type MovedConnection } from "./connection-transfer.ts";
import { installWorkersGlobals } from "../websocket/globals.ts";
import { droppingUnreturnedSockets } from "../websocket/handed-out.ts";
import { answerUpgradeWith, handshakeServer } from "../websocket/handshake.ts";
import { refuseUpgradeResponse, upgradeToPair } from "../websocket/network.ts";
import { webSocketOfResponse } from "../websocket/response.ts";
import type { RequestMetrics } from "./request-metrics.ts";
import { pathnameOf } from "../web/url-path.ts";
import { currentRequestId, instrumentHttpRequest, wasErrorLogged } from "../agent/instrumentation.ts";
import { arrive } from "./arrival.ts";
import { ALLOWED_METHODS, continueAfter, isWebSocketUpgrade, refuseConnect, refuseOtherUpgrade } from "./edge-requests.ts";

/** Passed as the third argument of a worker's fetch. */
export interface ExecutionContext {
  /** Lets work finish after the response was sent; rejections are logged. */
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
  /** Values a wrapper (an OAuth provider, say) hands to the handler it wraps: `McpAgent.serve` reads them as the session's `this.props`. */
  props?: Record<string, unknown>;
}

/** A worker's fetch handler: `export default { fetch }`. */
export type WorkerFetch = (
  request: Request,
  env: Record<string, unknown>,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

export interface ServeOptions {
  host: Host;
  /** The worker's fetch. Default: routeAgentRequest, 404 for anything else. */
  fetch?: WorkerFetch;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  hostname?: string;
  /**
   * Metrics to feed with every request and to serve at `GET /metrics` (ahead of the worker's own
   * routes), e.g. a `HearthMetrics`. Default none. (`serve` from `hearth` also takes `true`.)
   */
  metrics?: RequestMetrics | false;
  /**
   * Let other servers of this process listen on the same port (SO_REUSEPORT: the kernel spreads
   * connections over them): the threads of `hearth start --threads N`. Linux and the BSDs only.
   */
  reusePort?: boolean;
  /** What `GET /metrics` answers instead of the metrics' own text (the threads' or the cluster's metrics, merged); given the request's URL. */
  exposeMetrics?: (url: string) => Promise<string>;
  /**
   * Plain HTTP requests another server answers (the threads of `hearth start`, for another thread's
   * agents): asked first, before this server builds anything for the request.
   */
  handOff?: RequestHandOff;
  /**
   * Whether the 500 answered for an exception the worker's fetch throws carries the exception's
   * message, `{"error":"<message>"}`, as `wrangler dev` shows it (`hearth dev` sets this). Default
   * false: the client gets `{"error":"Internal Server Error"}` plus the request's `requestId` when it
   * has one (the id its log lines carry), as on Cloudflare, which never shows a worker's exception to
   * its client. Either way the error is logged in full.
   */
  exposeErrors?: boolean;
  /**
   * Largest request body, in bytes (default `LIMITS.maxRequestBodyBytes`, 100 MiB, as on Cloudflare).
   * A larger declared length gets 413 before anything is read; a chunked body that grows past it fails
   * the handler's read of it, and the client gets 413 unless the response had begun. The connection is
   * closed after either.
   */
  maxRequestBodyBytes?: number;
}

/**
 * Takes requests that another server answers off this one, as Node received them: no web Request,
 * Response, span or metric is made for them here (the server that answers makes its own).
 */
export interface RequestHandOff {
  /**
   * Answers the request on `outgoing` and returns true; false leaves it to this server. `origin` is
   * the origin of the request's URL as this server sees it (its Host, the scheme a local proxy reports).
   */
  take(incoming: IncomingMessage, outgoing: ServerResponse, origin: string): boolean;
  /**
   * Takes an upgrade request's whole connection to the server that answers it (connection-transfer.ts)
   * and returns true; false leaves it to this server.
   */
  takeUpgrade?(incoming: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Routes new connections by their first request's target (connection-router.ts): a sender that
   * moves the connection to the server that answers that target, or undefined to serve it here.
   */
  connectionFor?: ConnectionRoute;
}

/**
 * How long a stopping server lets the requests in progress be answered before it cuts their
 * connections: with the host's own drain after it (5 s), a stop stays within the CLI's 10 s.
 */
export const CLOSE_GRACE_MS = 4_000;
/** The same under `hearth dev`: a reload waits for it, with a stream left open in a browser tab too. */
export const DEV_CLOSE_GRACE_MS = 1_000;
/** How often a stopping server closes the keep-alive connections whose response has just been written. */
const IDLE_SWEEP_MS = 20;

export interface HearthServer {
  /** e.g. "http://127.0.0.1:8787" */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting, closes WebSockets (1001) and idle HTTP connections, and lets the requests in
   * progress be answered for up to `graceMs` before cutting the connections still open (default 0:
   * at once; `hearth start` gives {@link CLOSE_GRACE_MS}). Resolves once every connection is closed, those
   * moved here ({@link adopt}) included.
   * @example await server.close({ graceMs: CLOSE_GRACE_MS }); // then close the host: its drain runs what is left
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /**
   * Answers `request` as this server answers what it receives (metrics, trace, the worker's fetch, a
   * 500 for an exception): for a request another server handed over ({@link RequestHandOff}).
   */
  answer(request: Request): Promise<Response>;
  /** Serves a client connection another server moved here ({@link RequestHandOff.takeUpgrade}) as if the client had connected here. */
  adopt(moved: MovedConnection): void;
}

/** Where an ExecutionContext the gateway made keeps the URL its server listens on (see {@link listenerOf}). */
const LISTENER = Symbol.for("hearth.listener");

const waitUntil = (promise: Promise<unknown>): void => void Promise.resolve(promise).catch((error: unknown) => console.error("[hearth] waitUntil:", error));
const passThroughOnException = (): void => {};

/**
 * A new ExecutionContext for one request (or one email): `waitUntil` work runs on (handed to
 * `track` when given), its failures are logged. One per request, as on Cloudflare: a handler (or a
 * library such as workers-oauth-provider) sets `ctx.props` for its own request only.
 * @example const ctx = newExecutionContext({ props: { user: "ada" } });
 */
export function newExecutionContext(options: { track?: (promise: Promise<unknown>) => void; props?: ExecutionContext["props"]; listener?: string } = {}): ExecutionContext {
  const ctx: ExecutionContext = { waitUntil: options.track ?? waitUntil, passThroughOnException };
  if (options.props !== undefined) ctx.props = options.props;
  if (options.listener !== undefined) (ctx as ExecutionContext & { [LISTENER]?: string })[LISTENER] = options.listener;
  return ctx;
}

/**
 * The URL the server that received a request listens on (`http://127.0.0.1:8787`), read off the
 * request's `ctx`: `request.url` names the host the client asked for, this the address it reached
 * (a DNS-rebinding check needs both). Undefined for a ctx no server made.
 * @example if (listenerOf(ctx)?.startsWith("http://127.")) { … }
 */
export function listenerOf(ctx: unknown): string | undefined {
  if (typeof ctx !== "object" || ctx === null) return undefined;
  const listener = (ctx as { [LISTENER]?: unknown })[LISTENER];
  return typeof listener === "string" ? listener : undefined;
}

/**
 * Serves a host over HTTP and WebSockets on Node's http server.
 * @example
 * const host = new Host({ dataDir: ".hearth", agents: { Counter } });
 * const server = await serve({ host, port: 8787 });
 * console.log(server.url);
 */
export async function serve(options: ServeOptions): Promise<HearthServer> {
  installWorkersGlobals(); // workers accept sockets with WebSocketPair and 101 responses
  const { host } = options;
  const fetch = options.fetch ?? agentsOnlyFetch;
  const hostname = options.hostname ?? "127.0.0.1";
  const maxBodyBytes = checkedBodyLimit(options.maxRequestBodyBytes, LIMITS.maxRequestBodyBytes);
  /** The address the server listens on (`127.0.0.1:8787`): a request's URL has it when its Host header is missing or invalid. */
  const listenHost = { value: "localhost" };
  const listener = { url: "http://localhost" };
  const hardMax = hardMaxMessageBytes(host.maxMessageBytes);
  // A handshake answers as the worker's 101 did: its subprotocol (or none), its headers.
  const sockets = handshakeServer({ maxPayload: hardMax, perMessageDeflate: false });

  const metrics = options.metrics || undefined;
  const exposeErrors = options.exposeErrors === true;
  /** What a response that cannot be written becomes: a 500 with the failure's message under exposeErrors. */
  const failure = { expose: exposeErrors };
  const call = (request: Request): Promise<Response> => instrumentHttpRequest(request, () => callWorker(request));
  const callWorker = async (request: Request): Promise<Response> => {
    try {
      const response: unknown = await droppingUnreturnedSockets(() => fetch(request, host.env, newExecutionContext({ listener: listener.url })));
      if (!(response instanceof Response)) throw new TypeError(NOT_A_RESPONSE);
      return response;
    } catch (error) {
      if (!wasErrorLogged(error)) console.error(`[hearth] ${request.method} ${pathnameOf(request.url)}:`, error);
      return Object.assign(internalError(error, exposeErrors), { [THREW]: true });
    }
  };
  const run = !metrics
    ? call
    : async (request: Request): Promise<Response> => {
        const started = performance.now();
        const response = await call(request);
        const upgraded = upgradeTargetOf(response) !== undefined || webSocketOfResponse(response) !== undefined;
        const status = upgraded ? 101 : response.status; // an accepted upgrade is built as a 200 (Node refuses 101)
        metrics.observeRequest({ method: request.method, pathname: pathnameOf(request.url), status, seconds: (performance.now() - started) / 1000, threw: THREW in response });
        return response;
      };

  /**
   * A plain (not upgrade) request's response: a WebSocket the worker answered it with is refused, and
   * so is an agent's acceptance of a handshake that was not one (`Upgrade: websocket` without
   * `Connection: Upgrade`, which Node serves as a plain request).
   */
  const plain = (response: Response): Response => {
    if (upgradeTargetOf(response) !== undefined) return notAHandshake();
    const webSocket = webSocketOfResponse(response);
    if (!webSocket) return response;
    refuseUpgradeResponse(webSocket, "The request had no Upgrade: websocket header");
    return notAnUpgrade();
  };

  const answer = async (incoming: IncomingMessage, outgoing: ServerResponse, origin: string): Promise<void> => {
    try {
      const request = parseRequest(incoming, origin, maxBodyBytes, outgoing);
      let response = plain(request instanceof Response ? request : await run(request));
      const passed = bodyLimitPassed(incoming);
      if (passed !== undefined) {
        // The body went past the limit while the handler read it: whatever it answered (a 500 for the
        // read's error, most likely), the client is told why. The rest of the body is never read.
        void response.body?.cancel().catch(() => {});
        response = bodyTooLargeResponse(passed);
        outgoing.shouldKeepAlive = false;
      }
      await writeResponse(sendableResponse(response, incoming.method ?? "GET"), outgoing, failure);
      if (bodyLimitPassed(incoming) !== undefined) closeWhenSent(outgoing); // went past it while the response was written
      else discardBody(incoming); // a body the handler never read (a 401 before reading, say)
    } catch (error) {
      outgoing.destroy(asError(error));
    }
  };

  const server = createServer({ maxHeaderSize: LIMITS.maxRequestHeaderBytes, shouldUpgradeCallback: isWebSocketUpgrade }, (incoming, outgoing) => {
    if (metrics && incoming.method === "GET" && (incoming.url === "/metrics" || incoming.url?.startsWith("/metrics?"))) {
      const head = { "content-type": metrics.contentType, "cache-control": "no-store" };
      const unavailable = (error: unknown) => outgoing.writeHead(500, { "content-type": "text/plain" }).end(`Metrics unavailable: ${asError(error).message}`);
      if (options.exposeMetrics) options.exposeMetrics(incoming.url ?? "/metrics").then((text) => outgoing.writeHead(200, head).end(text), unavailable);
      else {
        // A gauge's collect callback is the application's code: its throw is this scrape's 500, not the process's end.
        let text: string;
        try {
          text = metrics.expose();
        } catch (error) {
          unavailable(error);
          return;
        }
        outgoing.writeHead(200, head).end(text);
      }
      return;
    }
    // Before a hand-over: the thread that answers gets the raw headers with the client address set here (only this thread knows the peer).
    const origin = arrive(incoming, listenHost.value);
    if (options.handOff?.take(incoming, outgoing, origin)) return;
    if (refuseDeclaredBody(declaredBodyLength(incoming.rawHeaders), outgoing, maxBodyBytes)) return;
    void answer(incoming, outgoing, origin);
  });
  // Longer than a proxy keeps its idle connections to this server (deploy/nginx.conf, docs/deploy.md):
  // the proxy closes them, and never sends a request on one this server is closing at that moment.
  server.keepAliveTimeout = LIMITS.keepAliveTimeoutMs;
  server.headersTimeout = LIMITS.headersTimeoutMs;

  continueAfter(server, (incoming, outgoing) => refuseDeclaredBody(declaredBodyLength(incoming.rawHeaders), outgoing, maxBodyBytes));
  refuseConnect(server);

  server.on("upgrade", (incoming: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isWebSocketUpgrade(incoming)) return refuseOtherUpgrade(incoming, socket);
    // Before a move: the moved request's headers carry the client address set here (the new thread, with the same peer, finds the same).
    const origin = arrive(incoming, listenHost.value);
    if (options.handOff?.takeUpgrade?.(incoming, socket, head)) return;
    socket.on("error", () => socket.destroy());
    const request = parseRequest(incoming, origin, maxBodyBytes);
    const respond = request instanceof Response ? Promise.resolve(request) : run(request);
    respond
      .then(async (response) => {
        const pairEnd = webSocketOfResponse(response);
        if (pairEnd) {
          answerUpgradeWith(incoming, response.headers);
          upgradeToPair(sockets, incoming, socket, head, pairEnd, host.maxMessageBytes);
          return;
        }
        const target = upgradeTargetOf(response);
        if (!target) {
          const refusal = response.status === 200 ? new Response("Expected a WebSocket upgrade response", { status: 500 }) : response;
          await writeRawResponse(refusal, socket, `${incoming.method ?? "GET"} ${pathnameOf(incoming.url ?? "/")}`);
          return;
        }
        // The worker's headers on the 101 (a copy of the agent's, with one of its own added) reach the client too.
        answerUpgradeWith(incoming, headersOfAgentUpgrade(response.headers));
        sockets.handleUpgrade(incoming, socket, head, (ws) => {
          host.acceptSocket(target.className, target.name, ws, target.request, target.place);
        });
      })
      .catch(() => socket.destroy());
  });

  // Every connection the HTTP server serves, those another thread moved here (adopt) included: its
  // listener's close waits only for those it accepted itself, and a stop must answer the others too.
  const open = new Set<Duplex>();
  const drained: Array<() => void> = [];
  server.on("connection", (socket: Duplex) => {
    open.add(socket);
    socket.once("close", () => {
      open.delete(socket);
      if (open.size === 0) for (const done of drained.splice(0)) done();
    });
  });
  const allClosed = (): Promise<void> => (open.size === 0 ? Promise.resolve() : new Promise((resolve) => drained.push(resolve)));

  // With connections routed, a net server in front accepts them and gives this one those it keeps.
  const connectionFor = options.handOff?.connectionFor;
  const listening = connectionFor ? routeConnections(server, connectionFor) : server;
  await new Promise<void>((resolve, reject) => {
    listening.once("error", reject);
    listening.listen({ port: options.port ?? 8787, host: hostname, ...(options.reusePort ? { reusePort: true } : {}) }, () => {
      listening.off("error", reject);
      resolve();
    });
  });
  // Node's HTTP server tracks its connections (closeAllConnections, headers and request timeouts) from
  // its "listening" event: told so when the server in front of it listens.
  if (listening !== server) server.emit("listening");
  const { port } = listening.address() as AddressInfo;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  listenHost.value = `${shown}:${port}`;
  const url = `http://${listenHost.value}`;
  listener.url = url;

  return {
    url,
    port,
    answer: async (request) => handedBack(sendableResponse(plain(await run(request)), request.method), request, exposeErrors),
    adopt: (moved) => {
      const socket = socketOfMoved(moved);
      if (listening.listening) server.emit("connection", socket);
      else socket.destroy(); // moved here while this server closes: the client reconnects
    },
    close: ({ graceMs = 0 } = {}) =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.close(1001, "Server shutting down");
        sockets.close();
        // A keep-alive connection goes idle once its response is written: closed then, not cut before.
        const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        const listenerClosed = new Promise<void>((closed) => {
          if (listening === server) server.close(() => closed());
          else {
            server.close(() => {}); // stops its connection checks; it never listened itself
            listening.close(() => closed());
          }
        });
        server.closeIdleConnections();
        void listenerClosed.then(allClosed).then(() => {
          clearInterval(sweep);
          clearTimeout(cut);
          resolve();
        });
      }),
  };
}

/** The headers an agent's upgrade response gives the handshake: the worker's, without Hearth's marker. */
function headersOfAgentUpgrade(headers: Headers): Headers {
  if (!headers.has(UPGRADE_MARKER_HEADER)) return headers;
  const answered = new Headers(headers);
  answered.delete(UPGRADE_MARKER_HEADER);
  return answered;
}

/** What aborts a request's signal, kept on its response (no closure per request). */
const ABORT = Symbol("hearth.abort");
type Abortable = ServerResponse & { [ABORT]?: () => void };

/**
 * A response's "close" listener: aborts the request's signal when the client left before the end.
 * Only then: an abort after a finished response costs a DOMException and an event dispatch.
 */
function abortIfCut(this: Abortable): void {
  if (!this.writableFinished) this[ABORT]?.();
}

/** Ends the connection once `outgoing` is sent: what is left of the request's body is never read. */
function closeWhenSent(outgoing: ServerResponse): void {
  const close = () => outgoing.socket?.end();
  if (outgoing.writableFinished) close();
  else outgoing.once("finish", close);
}

/**
 * A response to a request another thread's server received, as that server will write it: one with
 * a header Node refuses (a control character in a value) becomes a logged 500 here, as it would be on
 * the thread that received it (which writes the head as it comes).
 */
function handedBack(response: Response, request: Request, expose: boolean): Response {
  const problem = invalidHeader(response.headers);
  if (problem === undefined) return response;
  void response.body?.cancel().catch(() => {});
  return unsendable(`${request.method} ${pathnameOf(request.url)}`, problem, expose);
}

/** Marks the 500 the gateway made of a worker's exception (told apart from a 500 the worker chose). */
const THREW = Symbol("hearth.threw");

/**
 * A Request, or the 400/405 answer for what fetch cannot represent (TRACE, `OPTIONS *`, bad URLs).
 * With `outgoing`, the request's signal aborts when the client goes away before its response ends.
 */
function parseRequest(incoming: IncomingMessage, origin: string, maxBodyBytes: number, outgoing?: Abortable): Request | Response {
  try {
    if (outgoing === undefined) return toRequest(incoming, origin, undefined, maxBodyBytes);
    const { request, abort } = toAbortableRequest(incoming, origin, maxBodyBytes);
    outgoing[ABORT] = abort;
    outgoing.on("close", abortIfCut);
    return request;
  } catch (error) {
    return unrepresentableRequest(incoming.method, incoming.url, error);
  }
}

/**
 * The 405 (a method fetch refuses: TRACE, CONNECT, TRACK) or 400 (`OPTIONS *`, a bad URL) answer to a
 * request no Request can represent: for one received here, or handed over by another thread.
 */
export function unrepresentableRequest(method: string | undefined, target: string | undefined, error: unknown): Response {
  const body = { error: `Cannot handle ${method} ${target}: ${asError(error).message}` };
  if (/method/i.test(asError(error).message)) return Response.json(body, { status: 405, headers: { allow: ALLOWED_METHODS } });
  return Response.json(body, { status: 400 });
}

/**
 * The 500 for an exception a worker threw: with `expose` (`hearth dev`), `{"error":"<message>"}`;
 * else `{"error":"Internal Server Error"}` and the running request's id when it has one, so that
 * nothing of the exception reaches the client but its log line can be found.
 * @example internalError(new Error("db down"), false) // 500 {"error":"Internal Server Error","requestId":"…"}
 */
function internalError(error: unknown, expose: boolean): Response {
  if (expose) return Response.json({ error: asError(error).message }, { status: 500 });
  const requestId = currentRequestId();
  return Response.json(requestId === undefined ? { error: INTERNAL_ERROR } : { error: INTERNAL_ERROR, requestId }, { status: 500 });
}

/** The error of a worker's fetch that gave something other than a Response: workerd's words. */
export const NOT_A_RESPONSE = "Incorrect type for Promise: the Promise did not resolve to 'Response'.";

/** What a client is told of an exception it may not see. */
export const INTERNAL_ERROR = "Internal Server Error";

/** The answer to an agent route's handshake that lacked `Connection: Upgrade` (RFC 6455 §4.2.1: a 400). */
function notAHandshake(): Response {
  return Response.json({ error: "A WebSocket handshake needs Connection: Upgrade with Upgrade: websocket" }, { status: 400 });
}

/** A 101 response to a request that asked for no upgrade. */
function notAnUpgrade(): Response {
  return Response.json({ error: "The worker answered with a WebSocket (status 101) a request without `Upgrade: websocket`" }, { status: 500 });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The fetch of a worker that has none of its own: the agents (routeAgentRequest), else a 404 that says where they are. */
export async function agentsOnlyFetch(request: Request, env: Record<string, unknown>): Promise<Response> {
  return (
    (await routeAgentRequest(request, env)) ??
    Response.json({ error: `Not found: ${new URL(request.url).pathname}. Agents are served under /agents/<class>/<name>` }, { status: 404 })
  );
}
