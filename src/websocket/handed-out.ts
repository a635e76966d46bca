import { AsyncLocalStorage } from "node:async_hooks";
import type { SocketEnd } from "./end.ts";
import { webSocketOfResponse } from "./response.ts";
import { endOf, type WorkersWebSocket } from "./socket.ts";

/**
 * The code a 101 response of a Durable Object's stub is handed to — a worker's request handler, or an
 * event of another Durable Object — may return it in its own response, accept its WebSocket, or drop
 * it. One it drops is dropped as the Workers runtime drops an unused client end: the end the object
 * kept sees an abnormal closure (1006), so it neither lingers in `getWebSockets()`, counts towards the
 * object's socket limit, nor holds the object in memory.
 */

/** The client ends handed to one running handler, and the event it runs as (undefined: a worker's request). */
interface Scope {
  /** Made at the first hand-out: most events are handed none. */
  handed: Set<WorkersWebSocket> | undefined;
  readonly event: object | undefined;
  ended: boolean;
}

const scopes = new AsyncLocalStorage<Scope>();

/**
 * Client ends handed to no running handler (code outside any request or event, or work a handler left
 * running after it ended): nothing says when such code is done with one, so it is dropped once its
 * object is garbage-collected unused — when nothing can reach it any more, as in the Workers runtime.
 */
const unowned = new FinalizationRegistry<WeakRef<SocketEnd>>((peer) => peer.deref()?.dropUnusedPeer());

/**
 * Runs a request's handler. The WebSockets handed to it in 101 responses of others that it neither
 * returns in its own response nor accepts are dropped when it ends.
 * @example const response = await droppingUnreturnedSockets(() => fetch(request, env, ctx));
 */
export async function droppingUnreturnedSockets(handle: () => Response | Promise<Response>): Promise<Response> {
  return droppingUnusedSockets(handle, (response) => (response instanceof Response ? webSocketOfResponse(response) : undefined));
}

/**
 * Runs `handle` — a request's handler, or an event of a Durable Object (`event`, the host's event it
 * runs as) — as the owner of the 101s handed to it ({@link handOut}): when it settles, the client ends
 * it neither returned (`returnedOf` its result) nor accepted are dropped.
 */
export async function droppingUnusedSockets<T>(
  handle: () => T | Promise<T>,
  returnedOf: (result: T) => WorkersWebSocket | undefined = () => undefined,
  event?: object,
): Promise<T> {
  const scope: Scope = { handed: undefined, event, ended: false };
  let returned: WorkersWebSocket | undefined;
  try {
    const result = await scopes.run(scope, handle);
    returned = returnedOf(result);
    return result;
  } finally {
    scope.ended = true;
    if (scope.handed !== undefined) for (const client of scope.handed) if (client !== returned) endOf(client).peer?.dropUnusedPeer();
  }
}

/**
 * `response` (a 101 from a stub, called from code running as `event`) reaches the handler running
 * now, which may return it or drop it. With no such handler (or one that already ended) it is dropped
 * once nothing references its WebSocket.
 */
export function handOut(response: Response, event?: object): Response {
  const client = webSocketOfResponse(response);
  if (client === undefined) return response;
  const scope = scopes.getStore();
  // A handler's scope reaches code it calls in-process (another object's event); that code owns what it is handed.
  if (scope !== undefined && !scope.ended && scope.event === event) (scope.handed ??= new Set()).add(client);
  else {
    // The held value must not reach the client: an accepted client end points back at its object, and
    // a registry holding that end strongly would keep the object (and its end) for ever. The peer is
    // what must hear of the drop; weakly, since the peer's owner keeps it while it matters.
    const peer = endOf(client).peer;
    if (peer !== undefined) unowned.register(client, new WeakRef(peer));
  }
  return response;
}
