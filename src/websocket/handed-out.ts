import { AsyncLocalStorage } from "node:async_hooks";
import { webSocketOfResponse } from "./response.ts";
import { endOf, type WorkersWebSocket } from "./socket.ts";

/** The client ends handed to the running request's handler in 101 responses it did not make. */
const handedToRequest = new AsyncLocalStorage<Set<WorkersWebSocket>>();

/**
 * Runs a request's handler. The WebSockets handed to it in 101 responses of others (a Durable
 * Object's, through its stub: {@link handOut}) that it neither returns in its own response nor accepts
 * are dropped when it ends, as the Workers runtime drops an unused client end: the end their object
 * kept sees an abnormal closure (1006), so it does not linger in `getWebSockets()` or hold the object.
 * @example const response = await droppingUnreturnedSockets(() => fetch(request, env, ctx));
 */
export async function droppingUnreturnedSockets(handle: () => Response | Promise<Response>): Promise<Response> {
  const handed = new Set<WorkersWebSocket>();
  let returned: WorkersWebSocket | undefined;
  try {
    const response = await handedToRequest.run(handed, handle);
    if (response instanceof Response) returned = webSocketOfResponse(response);
    return response;
  } finally {
    for (const client of handed) if (client !== returned) endOf(client).peer?.dropUnusedPeer();
  }
}

/** `response` (a 101 from a stub) reaches the running request's handler, which may return it or drop it. */
export function handOut(response: Response): Response {
  const client = webSocketOfResponse(response);
  if (client !== undefined) handedToRequest.getStore()?.add(client);
  return response;
}
