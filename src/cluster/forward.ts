import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { deserializeClone, serializeClone } from "../web/structured-clone.ts";
import { LIMITS } from "../limits.ts";
import { WebSocket } from "ws";
import type { RemoteActors } from "../host/placement.ts";
import { closeReasonWithin } from "../websocket/close-reason.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { attachCarried, carriedValues } from "../gateway/carried-context.ts";
import { CLUSTER_HEADERS, clusterPath, errorOfFailedAnswer, INVOKE_CONTENT_TYPE, isFailedAnswer, settleInvoke, type InvokeMessage, type InvokeOutcome } from "./wire.ts";
import type { Route } from "./ownership.ts";
import { errorFromWire } from "../shards/error-wire.ts";

/** A lease that could not be read (Postgres out of reach): nothing is concluded from it. */
const UNREADABLE = Symbol("unreadable");

/** How a node reaches the owner of an actor, and the key every internal request carries. */
export interface ForwardOptions {
  /** Where `className`/`name` is served now (claiming it for this node when nobody live holds it). */
  route(className: string, name: string): Promise<Route>;
  /** The owner moved, or did not answer: look its lease up again next time. */
  forget(className: string, name: string): void;
  /**
   * The node that holds the actor now (this node's id when it does), by a fresh look at its lease;
   * undefined when no live node does. Read-only: checking on an owner that went silent must never
   * claim the actor here as a side effect.
   */
  holder(className: string, name: string): Promise<string | undefined>;
  /**
   * Whether this node holds the actor at this instant. Checked again right before a route found "here"
   * is served: the lease may have been handed over while the route was awaited, and the host refuses
   * an actor it does not hold.
   */
  holds(className: string, name: string): boolean;
  /** This node's own host, for actors the route finds here after all (just claimed). */
  local: RemoteActors;
  /** The cluster's shared key for requests between nodes. */
  key: string;
  /** How long a request keeps looking for a live owner (the old one dead, its lease not yet taken over). */
  retryForMs: number;
  /**
   * How long an attempt waits for the owner's answer to begin (its connection and response headers)
   * before the actor's lease is looked up again: while the owner still holds it, the attempt waits
   * on; once another node does (or none live), the owner is forgotten and the attempt given up with
   * 504 — it may have run there, so it is not sent again. About the lease TTL plus a margin (a frozen
   * owner has lost its lease by then); default `retryForMs`.
   */
  answerWithinMs?: number;
  /**
   * How often a relayed client socket pings the owner's side: one that answers nothing for
   * `answerWithinMs` is checked against the lease as a request is. Default `answerWithinMs` / 4.
   */
  pingEveryMs?: number;
  /**
   * Whether `nodeId` is shutting down (draining or left). A draining node turns every request away
   * unapplied, so a request whose connection it cut (closing its server) did not run there and can
   * go again to the next owner.
   */
  stopping?(nodeId: string): Promise<boolean>;
  /** Whether an actor was ever created anywhere in the cluster. */
  exists?(className: string, name: string): Promise<boolean>;
}

/**
 * The events of actors this node does not hold, sent to the node that does: requests and RPC over
 * HTTP, client sockets relayed over a WebSocket of their own. An owner that refuses the connection
 * (dead) or answers "moved" is looked up again until `retryForMs` runs out; a request whose connection
 * broke after it was sent is not retried (it may have run) and fails with 502. An owner that does not
 * begin answering within `answerWithinMs` is checked against the lease: waited for while it holds it,
 * else forgotten and the request answered 504 (it may have run there: not sent again).
 */
export function forwardToOwners(options: ForwardOptions): RemoteActors {
  const answerWithinMs = options.answerWithinMs ?? options.retryForMs;
  if (!(answerWithinMs > 0)) throw new RangeError(`answerWithinMs must be a number of milliseconds > 0, got ${answerWithinMs}`);
  const pingEveryMs = options.pingEveryMs ?? answerWithinMs / 4;
  if (!(pingEveryMs > 0)) throw new RangeError(`pingEveryMs must be a number of milliseconds > 0, got ${pingEveryMs}`);

  /** Who holds the actor, by a fresh look at its lease that never claims; `UNREADABLE` while Postgres cannot be read. */
  const holderNow = async (className: string, name: string): Promise<string | undefined | typeof UNREADABLE> => {
    try {
      return await options.holder(className, name);
    } catch {
      return UNREADABLE;
    }
  };
  /** Whether node `nodeId` still holds the actor (true while the lease cannot be read: wait on). */
  const stillHeldBy = async (className: string, name: string, nodeId: string): Promise<boolean> => {
    const holder = await holderNow(className, name);
    return holder === UNREADABLE || holder === nodeId;
  };

  /**
   * Runs `attempt` with a signal that aborts it once the owner has not begun answering within
   * `answerWithinMs` and the lease, looked up afresh, is no longer its (a frozen owner: it accepts
   * connections and answers nothing, until another node takes its agents over).
   */
  const watched = async (className: string, name: string, route: Route & { here: false }, attempt: (signal: AbortSignal) => Promise<Response>): Promise<Response> => {
    const stalled = new AbortController();
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const check = async (): Promise<void> => {
      // Never a claim: the request may still be running on the owner. Unreadable: keep waiting for it.
      const holder = await holderNow(className, name);
      if (done) return;
      if (holder === UNREADABLE || holder === route.nodeId) {
        timer = setTimeout(() => void check(), answerWithinMs);
        return;
      }
      options.forget(className, name);
      stalled.abort(new OwnerStalledError(className, name, route.nodeId, answerWithinMs, holder === undefined ? "no live node" : `node ${holder}`));
    };
    timer = setTimeout(() => void check(), answerWithinMs);
    try {
      return await attempt(stalled.signal);
    } finally {
      done = true;
      clearTimeout(timer);
    }
  };

  const send = async (className: string, name: string, attempt: (route: Route & { here: false }, signal: AbortSignal) => Promise<Response>, onHere: () => Promise<Response>): Promise<Response> => {
    const deadline = performance.now() + options.retryForMs;
    for (let wait = 25; ; wait = Math.min(wait * 2, 500)) {
      const route = await options.route(className, name);
      if (route.here && options.holds(className, name)) return onHere();
      if (route.here) {
        // Handed over since the route was found: look again (nothing ran here).
        if (performance.now() > deadline) return new Response(`${className}/${name}: no live node holds it after ${options.retryForMs} ms`, { status: 503 });
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      let response: Response | undefined;
      try {
        response = await watched(className, name, route, (signal) => attempt(route, signal));
      } catch (error) {
        // The owner never answered and holds the actor no more: the request may have run there.
        if (error instanceof OwnerStalledError) return new Response(error.message, { status: 504 });
        // Whatever went wrong (refused, cut, a client that gave up on a paused owner), the next
        // request looks the owner up again rather than trusting the remembered one.
        options.forget(className, name);
        const again = refusedBeforeSending(error) || (options.stopping !== undefined && (await options.stopping(route.nodeId).catch(() => false)));
        if (!again || performance.now() > deadline) throw error;
      }
      // Served, or failed there for good (`failed`: never sent again): the answer.
      if (response !== undefined && (isFailedAnswer(response) || !response.headers.has(CLUSTER_HEADERS.moved))) return response;
      await response?.body?.cancel();
      options.forget(className, name);
      if (performance.now() > deadline) return new Response(`${className}/${name}: no live node holds it after ${options.retryForMs} ms`, { status: 503 });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  };

  return {
    ...(options.exists ? { exists: options.exists } : {}),
    async request(className, name, request) {
      if (isWebSocketUpgrade(request)) return upgradeResponse({ className, name, request });
      // A body already read on this node (an MCP endpoint parses it) travels in the carried context instead.
      const body = request.body === null || request.bodyUsed ? null : new Uint8Array(await request.arrayBuffer());
      const response = await send(
        className,
        name,
        (route, stalled) => fetchWatched(new URL(clusterPath("agent", className, name), route.address), { method: request.method, headers: forwardedHeaders(request, options.key), body, redirect: "manual", signal: request.signal }, stalled),
        () => options.local.request(className, name, sameRequest(request, body)),
      );
      // The owner's route of the agent failed: its error, as if the agent had been reached here.
      if (isFailedAnswer(response)) throw await errorOfFailedAnswer(response);
      return stripDecodedEncoding(response);
    },

    async invoke(className, name, method, args, caller) {
      const payload = serializeClone({ method, args, caller } satisfies InvokeMessage);
      const response = await send(
        className,
        name,
        (route, stalled) => fetchWatched(new URL(clusterPath("invoke", className, name), route.address), { method: "POST", headers: { [CLUSTER_HEADERS.key]: options.key }, body: payload }, stalled),
        () => settleInvoke(options.local.invoke(className, name, method, args, caller)),
      );
      return readInvokeAnswer(response, `${className}/${name}.${method}`);
    },

    async start(className, name, props) {
      const response = await send(
        className,
        name,
        (route, stalled) => fetchWatched(new URL(clusterPath("start", className, name), route.address), { method: "POST", headers: { [CLUSTER_HEADERS.key]: options.key }, body: serializeClone(props ?? null) }, stalled),
        () => settleInvoke(options.local.start(className, name, props).then(() => undefined)),
      );
      await readInvokeAnswer(response, `${className}/${name} start`);
    },

    acceptSocket(className, name, client, request) {
      // Frames the client sends while the owner is looked up wait in the socket (nothing listens yet).
      client.pause();
      void options.route(className, name).then(
        (route) => {
          if (route.here) options.local.acceptSocket(className, name, client, request);
          else {
            relaySocket(client, route.address, className, name, request, {
              key: options.key,
              handshakeTimeoutMs: answerWithinMs,
              answerWithinMs,
              pingEveryMs,
              ownerGone: () => options.forget(className, name),
              ownerHolds: () => stillHeldBy(className, name, route.nodeId),
            });
          }
          client.resume();
        },
        (error: unknown) => client.close(1011, closeReasonWithin(`no owner reachable: ${(error as Error).message}`)),
      );
    },
  };
}

/** The owner of an actor did not begin answering in time and holds it no more. */
class OwnerStalledError extends Error {
  constructor(className: string, name: string, nodeId: string, ms: number, holder: string) {
    super(`${className}/${name}: node ${nodeId} did not answer within ${ms} ms and no longer holds it (${holder} does now); the request may have run there, so it is not sent again`);
    this.name = "OwnerStalledError";
  }
}

/** `fetch` aborted by `stalled` too (with the caller's signal, if any), failing with its reason then. */
function fetchWatched(url: URL, init: RequestInit, stalled: AbortSignal): Promise<Response> {
  return fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, stalled]) : stalled }).catch((error: unknown) => {
    throw stalled.aborted ? stalled.reason : error;
  });
}

/** The request to hand to this node's host after its body was read here for forwarding (what was attached in-process kept). */
function sameRequest(request: Request, body: Uint8Array<ArrayBuffer> | null): Request {
  if (request.bodyUsed && body === null) return request; // read before forwarding began: nothing was taken from it here
  const copy = new Request(request, { body });
  const carried = carriedValues(request);
  if (carried !== undefined) attachCarried(copy, carried);
  return copy;
}

async function readInvokeAnswer(response: Response, what: string): Promise<unknown> {
  if (response.headers.get("content-type") !== INVOKE_CONTENT_TYPE) {
    throw new Error(`${what}: the owning node answered ${response.status}: ${(await response.text()).slice(0, 500)}`);
  }
  const outcome = deserializeClone(new Uint8Array(await response.arrayBuffer())) as InvokeOutcome;
  if ("value" in outcome) return outcome.value;
  throw errorFromWire(outcome.error);
}

function forwardedHeaders(request: Request, key: string): Headers {
  const headers = new Headers(request.headers);
  for (const name of ["host", "connection", "keep-alive", "transfer-encoding", "content-length", CLUSTER_HEADERS.carried]) headers.delete(name);
  headers.set(CLUSTER_HEADERS.key, key);
  headers.set(CLUSTER_HEADERS.url, request.url);
  const carried = carriedValues(request);
  if (carried !== undefined) headers.set(CLUSTER_HEADERS.carried, Buffer.from(serializeClone(carried)).toString("base64"));
  return headers;
}

/** fetch decodes gzip/br bodies but keeps the header: the client must not decode them again. */
function stripDecodedEncoding(response: Response): Response {
  if (!response.headers.has("content-encoding")) return response;
  const headers = new Headers(response.headers);
  headers.delete("content-encoding");
  headers.delete("content-length");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The connection was refused or never made: the request did not reach the owner, so it can go again. */
function refusedBeforeSending(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string; syscall?: string } })?.cause;
  const code = cause?.code;
  // Reset while connecting (a server closing as the connection arrived): no request bytes went out.
  if (code === "ECONNRESET" && cause?.syscall === "connect") return true;
  return code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENOTFOUND" || code === "UND_ERR_CONNECT_TIMEOUT";
}

/**
 * The limits of a client socket relayed to the node that holds its agent (docs/cluster/README.md,
 * "Requests between nodes").
 */
export const RELAY_LIMITS = {
  /**
   * Bytes of frames a client may send while the relay's own socket to the owner is being opened (they
   * wait here, in order); past it the client's socket is closed with 1009. As an agent's own
   * `maxBytesWhileConnecting`.
   */
  maxQueuedBytes: LIMITS.maxBytesWhileConnecting,
  /**
   * Bytes waiting to be sent on one side of a relay (its `bufferedAmount`, or the frames queued while
   * connecting) above which the relay stops reading the other side, until they are sent.
   */
  pauseAboveBytes: 1024 * 1024,
} as const;

interface RelayOptions {
  key: string;
  /** How long the owner may take to answer the relay's upgrade; then the client's socket is closed with 1012. */
  handshakeTimeoutMs: number;
  /** The owner is gone or did not answer: look its lease up again next time. */
  ownerGone: () => void;
  /** How often the owner's side is pinged once open. */
  pingEveryMs: number;
  /** How long the owner's side may answer nothing (no pong, no frame) before its lease is looked at. */
  answerWithinMs: number;
  /** Whether the owner still holds the agent, looked up afresh (never rejects). */
  ownerHolds: () => Promise<boolean>;
}

/** Keeps the client's socket here and relays every frame to the owner over a socket of its own. */
function relaySocket(client: WebSocket, address: string, className: string, name: string, request: Request, options: RelayOptions): void {
  const target = new URL(clusterPath("agent", className, name), address);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  const headers: Record<string, string> = { [CLUSTER_HEADERS.key]: options.key, [CLUSTER_HEADERS.url]: request.url };
  // No subprotocol: the client's handshake here chose none, as an agent's 101 names none.
  for (const [header, value] of request.headers) {
    if (!/^(host|connection|upgrade|sec-websocket-(key|version|extensions|protocol))$/i.test(header)) headers[header] = value;
  }
  // An owner that accepts the connection and never answers (frozen) closes the client with 1012 (the
  // "error" below) once the timeout passes, rather than leaving it connecting for ever.
  const peer = new WebSocket(target, { headers, perMessageDeflate: false, handshakeTimeout: options.handshakeTimeoutMs });
  const ownerGone = options.ownerGone;
  const queued: Array<[Buffer | ArrayBuffer | Buffer[], boolean]> = [];
  let queuedBytes = 0;
  /** The client sent too much: the relay is ended for its sake, not the owner's. */
  let refused = false;
  // Reading of each side stopped here because the other had too much waiting to be sent.
  const stopped = new Set<WebSocket>();
  const stop = (from: WebSocket): void => {
    if (stopped.has(from)) return;
    stopped.add(from);
    from.pause();
  };
  const restart = (from: WebSocket): void => {
    if (stopped.delete(from)) from.resume();
  };
  /** Closes the client's socket, reading it again: its answer to the close comes after what it sent meanwhile (dropped). */
  const closeClient = (code: number, reason: string | Buffer): void => {
    restart(client);
    if (client.readyState === WebSocket.OPEN) client.close(code, reason);
  };
  /** Sends a frame on `to`; reading `from` stops while `to` has more than the threshold waiting. */
  const relay = (from: WebSocket, to: WebSocket, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void => {
    to.send(data, { binary: isBinary }, () => {
      if (to.bufferedAmount <= RELAY_LIMITS.pauseAboveBytes) restart(from);
    });
    if (to.bufferedAmount > RELAY_LIMITS.pauseAboveBytes) stop(from);
  };
  // An owner that vanishes without its connection being reset (off the network, frozen) never closes
  // this socket, and the client's frames would go nowhere: pinged, it answers nothing, and once its
  // lease is no longer its the client is closed with 1012 and reconnects to the new owner. While the
  // owner still holds the agent (slow, or its side not read here for back-pressure) the relay waits on.
  let answeredAt = performance.now();
  let checking = false;
  const watch = setInterval(() => {
    if (peer.readyState !== WebSocket.OPEN || checking) return;
    if (performance.now() - answeredAt < options.answerWithinMs) {
      peer.ping();
      return;
    }
    checking = true;
    void options.ownerHolds().then((holds) => {
      checking = false;
      if (peer.readyState !== WebSocket.OPEN) return;
      if (holds) {
        answeredAt = performance.now();
        peer.ping();
        return;
      }
      options.ownerGone();
      closeClient(1012, closeReasonWithin(`the owning node answered nothing for ${options.answerWithinMs} ms and no longer holds the agent`));
      peer.terminate();
    });
  }, options.pingEveryMs);
  watch.unref();
  const answered = (): void => {
    answeredAt = performance.now();
  };
  peer.on("pong", answered);
  client.on("message", (data, isBinary) => {
    if (peer.readyState === WebSocket.OPEN) relay(client, peer, data, isBinary);
    else if (peer.readyState === WebSocket.CONNECTING) {
      queuedBytes += byteLength(data);
      if (queuedBytes > RELAY_LIMITS.maxQueuedBytes) {
        queued.length = 0;
        refused = true;
        closeClient(1009, closeReasonWithin(`Sent more than ${RELAY_LIMITS.maxQueuedBytes} bytes while the relay to the agent's node was being opened (RELAY_LIMITS.maxQueuedBytes)`));
        peer.terminate();
        return;
      }
      queued.push([data, isBinary]);
      if (queuedBytes > RELAY_LIMITS.pauseAboveBytes) stop(client);
    }
  });
  peer.on("open", () => {
    answered();
    for (const [data, isBinary] of queued.splice(0)) relay(client, peer, data, isBinary);
    queuedBytes = 0;
    if (peer.bufferedAmount <= RELAY_LIMITS.pauseAboveBytes) restart(client);
  });
  peer.on("message", (data, isBinary) => {
    answered();
    if (client.readyState === WebSocket.OPEN) relay(peer, client, data, isBinary);
  });
  client.on("close", (code, reason) => {
    // Reading the owner's side again (stopped while the client had too much waiting): else the owner's
    // answer to the close is never read and the close waits for ws's own timeout (30 s).
    restart(peer);
    clearInterval(watch);
    if (peer.readyState === WebSocket.OPEN || peer.readyState === WebSocket.CONNECTING) peer.close(sendableCode(code, 1000), reason);
  });
  // The owner went away (crashed, drained): 1012 tells the client to reconnect, and the next
  // connection finds the new owner.
  peer.on("close", (code, reason) => {
    clearInterval(watch);
    if (!refused && (code === 1006 || code === 1012 || code === 1001)) ownerGone();
    closeClient(sendableCode(code, 1012), reason);
  });
  peer.on("unexpected-response", (_request, response) => {
    ownerGone();
    // 503: the owner is shutting down (or the agent moved): connecting again finds the next one.
    const code = response.statusCode === 503 ? 1012 : 1011;
    closeClient(code, closeReasonWithin(`the owning node refused the socket (${response.statusCode})`));
    peer.terminate();
  });
  peer.on("error", (error) => {
    if (refused) return;
    ownerGone();
    closeClient(1012, closeReasonWithin(`owner unreachable: ${error.message}`));
  });
  client.on("error", () => peer.terminate());
}

function byteLength(data: Buffer | ArrayBuffer | Buffer[]): number {
  return Array.isArray(data) ? data.reduce((bytes, chunk) => bytes + chunk.byteLength, 0) : data.byteLength;
}

/** 1005, 1006 and 1015 describe a close; they cannot be sent in one. */
function sendableCode(code: number, fallback: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 ? fallback : code;
}

