import { timingSafeEqual } from "node:crypto";
import { deserializeClone } from "../web/structured-clone.ts";
import { attachCarried } from "../gateway/carried-context.ts";
import type { WorkerFetch } from "../gateway/serve.ts";
import type { RemoteActors } from "../host/placement.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { CLUSTER_HEADERS, CLUSTER_PATH_PREFIX, failedAnswer, settleInvoke, type InvokeMessage, type Operation } from "./wire.ts";
import { METRICS_PATH } from "./metrics.ts";
import { isTransientRouteError, NotServedHereError, type Route } from "./ownership.ts";

export interface InternalRouteOptions {
  key: string;
  /** The host's own (local) side: reached only for actors this node holds. */
  local: RemoteActors;
  /** Where the actor is served, claiming it here when nobody live holds it. */
  route(className: string, name: string): Promise<Route>;
  /** Whether this node holds the actor at this instant (checked again right before it is served). */
  holds(className: string, name: string): boolean;
  /** This node's own metrics (Prometheus text), for a node gathering the cluster's; undefined when not served. */
  metrics?: () => string | undefined;
}

/**
 * The owner's side of forwarding: wraps the worker's fetch so requests between nodes (under
 * {@link CLUSTER_PATH_PREFIX}, with the cluster key) reach this node's actors directly — never the
 * user's worker again, and never forwarded a second time: if the actor is not here, the answer is
 * 503 "moved" and the sending node looks it up again (as after a transient error of its route: a lost
 * Postgres connection, a statement or lock timeout); if its route failed here otherwise (its file
 * could not be rebuilt), 500 "failed" carrying the error, which the sending node does not retry.
 */
export function withInternalRoutes(fetch: WorkerFetch, options: InternalRouteOptions): WorkerFetch {
  const key = Buffer.from(options.key);
  return (request, env, ctx) => {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(CLUSTER_PATH_PREFIX)) return fetch(request, env, ctx);
    const given = Buffer.from(request.headers.get(CLUSTER_HEADERS.key) ?? "");
    if (given.length !== key.length || !timingSafeEqual(given, key)) return new Response("Forbidden: requests between cluster nodes need the cluster key", { status: 403 });
    if (url.pathname === METRICS_PATH) {
      const text = options.metrics?.();
      return text === undefined ? new Response("This node serves no metrics (--no-metrics)", { status: 404 }) : new Response(text, { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    }
    const parts = decodedParts(url.pathname.slice(CLUSTER_PATH_PREFIX.length));
    if (parts === undefined) return new Response(`Bad cluster route ${url.pathname}: a part of its path is not valid percent-encoded UTF-8`, { status: 400 });
    const [operation, className, name] = parts;
    if (!className || !name || !["agent", "invoke", "start"].includes(operation!)) return new Response(`Unknown cluster route ${url.pathname}`, { status: 404 });
    return answer(operation as Operation, className, name, request, options);
  };
}

async function answer(operation: Operation, className: string, name: string, request: Request, options: InternalRouteOptions): Promise<Response> {
  let route: Route;
  try {
    route = await options.route(className, name);
  } catch (error) {
    // Not served here now, but maybe by another node, or a transient error (a lost connection, a
    // statement or lock timeout): the sender looks again, for as long as it retries. Anything else (the
    // rebuild of the agent's file failed) is the answer, not retried — a retry would claim the agent
    // again (a new epoch) and fail the same way.
    if (error instanceof NotServedHereError) return moved(`${className}/${name}: ${error.message}`);
    if (isTransientRouteError(error)) {
      const message = error instanceof Error ? error.message : String(error);
      console.warn(`[hearth] cluster: ${className}/${name}: a request from another node is answered "moved" after a transient error: ${message}`);
      return moved(`${className}/${name}: ${message}`);
    }
    console.error(`[hearth] cluster: ${className}/${name}: a request from another node could not be served here:`, error);
    return failedAnswer(error);
  }
  if (!route.here) return moved(`${className}/${name} is held by node ${route.nodeId}`);
  // What follows the last await reaches the host in the same turn: a lease handed over meanwhile
  // (a node stopping) is "moved", not the host's refusal of an actor it does not hold.
  const payload = operation === "agent" ? undefined : new Uint8Array(await request.arrayBuffer());
  if (!options.holds(className, name)) return moved(`${className}/${name} was handed to another node`);
  if (operation === "agent") {
    // A relayed socket (forward.ts relaySocket): the server completes the upgrade and hands the socket
    // to the host, which finds the agent here; onRequest is not a socket's way in.
    if (isWebSocketUpgrade(request)) return upgradeResponse({ className, name, request: originalRequest(request) });
    return options.local.request(className, name, originalRequest(request));
  }
  if (operation === "start") {
    const props = deserializeClone(payload!) as Record<string, unknown> | null;
    return settleInvoke(options.local.start(className, name, props ?? undefined).then(() => undefined));
  }
  const { method, args, caller } = deserializeClone(payload!) as InvokeMessage;
  return settleInvoke(options.local.invoke(className, name, method, args, caller));
}

/** Where a node runs an inspector request another node forwards (src/cluster/inspector-view.ts). */
export const INSPECTOR_PATH = `${CLUSTER_PATH_PREFIX}inspector`;

/**
 * The worker's fetch (already wrapped by {@link withInternalRoutes}) with the route other nodes' inspectors
 * use to run a request on this node's inspector: `POST` {@link INSPECTOR_PATH} under the cluster key.
 * @example
 * const fetch = withInspectorRoute(node.wrapFetch(worker.fetch), { key, answer: (request) => view.answer(request) });
 */
export function withInspectorRoute(fetch: WorkerFetch, options: { key: string; answer(request: Request): Promise<Response> }): WorkerFetch {
  const key = Buffer.from(options.key);
  return (request, env, ctx) => {
    if (new URL(request.url).pathname !== INSPECTOR_PATH) return fetch(request, env, ctx);
    const given = Buffer.from(request.headers.get(CLUSTER_HEADERS.key) ?? "");
    if (given.length !== key.length || !timingSafeEqual(given, key)) return new Response("Forbidden: requests between cluster nodes need the cluster key", { status: 403 });
    if (request.method !== "POST") return new Response(`${INSPECTOR_PATH} takes POST`, { status: 405, headers: { allow: "POST" } });
    return options.answer(request);
  };
}

/** The path's parts, each percent-decoded; undefined when one is not valid percent-encoded UTF-8 (`%E0%A4%A`). */
function decodedParts(path: string): string[] | undefined {
  try {
    return path.split("/").map((part) => decodeURIComponent(part));
  } catch (error) {
    if (error instanceof URIError) return undefined;
    throw error;
  }
}

function moved(reason: string): Response {
  return new Response(reason, { status: 503, headers: { [CLUSTER_HEADERS.moved]: "1", "retry-after": "0" } });
}

/** The request as the client sent it to the first node (its URL, without the cluster's headers, with what it carried in-process). */
function originalRequest(request: Request): Request {
  const headers = new Headers(request.headers);
  const url = headers.get(CLUSTER_HEADERS.url) ?? request.url;
  const carried = headers.get(CLUSTER_HEADERS.carried);
  headers.delete(CLUSTER_HEADERS.key);
  headers.delete(CLUSTER_HEADERS.url);
  headers.delete(CLUSTER_HEADERS.carried);
  const original = new Request(url, { method: request.method, headers, body: request.body, signal: request.signal, ...(request.body ? { duplex: "half" } : {}) } as RequestInit);
  if (carried !== null) attachCarried(original, deserializeClone(Buffer.from(carried, "base64")) as Record<string, unknown>);
  return original;
}
