import { deserializeClone, serializeClone } from "../web/structured-clone.ts";
import { WebSocket } from "ws";
import type { RemoteActors } from "../host/placement.ts";
import { closeReasonWithin } from "../websocket/close-reason.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { attachCarried, carriedValues } from "../gateway/carried-context.ts";
import { CLUSTER_HEADERS, clusterPath, settleInvoke, type InvokeMessage, type InvokeOutcome } from "./wire.ts";
import type { Route } from "./ownership.ts";
import { errorFromWire } from "../shards/error-wire.ts";

/** How a node reaches the owner of an actor, and the key every internal request carries. */
export interface ForwardOptions {
  /** Where `className`/`name` is served now (claiming it for this node when nobody live holds it). */
  route(className: string, name: string): Promise<Route>;
  /** The owner moved, or did not answer: look its lease up again next time. */
  forget(className: string, name: string): void;
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
 * broke after it was sent is not retried (it may have run) and fails with 502.
 */
export function forwardToOwners(options: ForwardOptions): RemoteActors {
  const send = async (className: string, name: string, attempt: (route: Route & { here: false }) => Promise<Response>, onHere: () => Promise<Response>): Promise<Response> => {
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
        response = await attempt(route);
      } catch (error) {
        // Whatever went wrong (refused, cut, a client that gave up on a paused owner), the next
        // request looks the owner up again rather than trusting the remembered one.
        options.forget(className, name);
        const again = refusedBeforeSending(error) || (options.stopping !== undefined && (await options.stopping(route.nodeId).catch(() => false)));
        if (!again || performance.now() > deadline) throw error;
      }
      if (response !== undefined && response.headers.get(CLUSTER_HEADERS.moved) === null) return response;
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
      return send(
        className,
        name,
        (route) => fetch(new URL(clusterPath("agent", className, name), route.address), { method: request.method, headers: forwardedHeaders(request, options.key), body, redirect: "manual", signal: request.signal }),
        () => options.local.request(className, name, sameRequest(request, body)),
      ).then(stripDecodedEncoding);
    },

    async invoke(className, name, method, args, caller) {
      const payload = serializeClone({ method, args, caller } satisfies InvokeMessage);
      const response = await send(
        className,
        name,
        (route) => fetch(new URL(clusterPath("invoke", className, name), route.address), { method: "POST", headers: { [CLUSTER_HEADERS.key]: options.key }, body: payload }),
        () => settleInvoke(options.local.invoke(className, name, method, args, caller)),
      );
      return readInvokeAnswer(response, `${className}/${name}.${method}`);
    },

    async start(className, name, props) {
      const response = await send(
        className,
        name,
        (route) => fetch(new URL(clusterPath("start", className, name), route.address), { method: "POST", headers: { [CLUSTER_HEADERS.key]: options.key }, body: serializeClone(props ?? null) }),
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
          else relaySocket(client, route.address, className, name, request, options.key, () => options.forget(className, name));
          client.resume();
        },
        (error: unknown) => client.close(1011, closeReasonWithin(`no owner reachable: ${(error as Error).message}`)),
      );
    },
  };
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
  if (response.headers.get("content-type") !== "application/x-hearth-v8") {
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

/** Keeps the client's socket here and relays every frame to the owner over a socket of its own. */
function relaySocket(client: WebSocket, address: string, className: string, name: string, request: Request, key: string, ownerGone: () => void): void {
  const target = new URL(clusterPath("agent", className, name), address);
  target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
  const headers: Record<string, string> = { [CLUSTER_HEADERS.key]: key, [CLUSTER_HEADERS.url]: request.url };
  // No subprotocol: the client's handshake here chose none, as an agent's 101 names none.
  for (const [header, value] of request.headers) {
    if (!/^(host|connection|upgrade|sec-websocket-(key|version|extensions|protocol))$/i.test(header)) headers[header] = value;
  }
  const peer = new WebSocket(target, { headers, perMessageDeflate: false });
  const queued: Array<[Buffer | ArrayBuffer | Buffer[], boolean]> = [];
  client.on("message", (data, isBinary) => {
    if (peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
    else queued.push([data, isBinary]);
  });
  peer.on("open", () => {
    for (const [data, isBinary] of queued.splice(0)) peer.send(data, { binary: isBinary });
  });
  peer.on("message", (data, isBinary) => {
    if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
  });
  client.on("close", (code, reason) => {
    if (peer.readyState === WebSocket.OPEN || peer.readyState === WebSocket.CONNECTING) peer.close(sendableCode(code, 1000), reason);
  });
  // The owner went away (crashed, drained): 1012 tells the client to reconnect, and the next
  // connection finds the new owner.
  peer.on("close", (code, reason) => {
    if (code === 1006 || code === 1012 || code === 1001) ownerGone();
    if (client.readyState === WebSocket.OPEN) client.close(sendableCode(code, 1012), reason);
  });
  peer.on("unexpected-response", (_request, response) => {
    ownerGone();
    // 503: the owner is shutting down (or the agent moved): connecting again finds the next one.
    const code = response.statusCode === 503 ? 1012 : 1011;
    if (client.readyState === WebSocket.OPEN) client.close(code, closeReasonWithin(`the owning node refused the socket (${response.statusCode})`));
    peer.terminate();
  });
  peer.on("error", () => {
    ownerGone();
    if (client.readyState === WebSocket.OPEN) client.close(1012, "owner unreachable");
  });
  client.on("error", () => peer.terminate());
}

/** 1005, 1006 and 1015 describe a close; they cannot be sent in one. */
function sendableCode(code: number, fallback: number): number {
  return code === 1005 || code === 1006 || code === 1015 || code < 1000 ? fallback : code;
}

