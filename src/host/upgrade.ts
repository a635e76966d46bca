import type { CellPlace } from "./place.ts";

/** Where an accepted WebSocket upgrade goes. */
export interface UpgradeTarget {
  readonly className: string;
  readonly name: string;
  readonly request: Request;
  /** Set when the socket is for a sub-agent: where it lives below the root `className`/`name`. */
  readonly place?: CellPlace;
}

/** The header an agent's upgrade marker carries (never sent to the client). */
export const UPGRADE_MARKER_HEADER = "x-hearth-upgrade";

const targets = new WeakMap<Response, UpgradeTarget>();
const standIns = new WeakMap<object, UpgradeTarget>();

/**
 * The `webSocket` of an agent's upgrade response: the agent's end is made when the server completes
 * the handshake, so this only stands for it. Returned from fetch, or given to a new 101 response, it
 * takes the upgrade with it; it cannot be used as a socket.
 */
class AgentUpgradeSocket {
  readonly readyState = 0;
  accept(): never {
    throw notASocket("accept");
  }
  send(): never {
    throw notASocket("send");
  }
  close(): never {
    throw notASocket("close");
  }
}

function notASocket(method: string): TypeError {
  return new TypeError(
    `${method}() on the webSocket of an agent's upgrade response: the agent's socket is connected to the client when the worker returns this response (or a copy of it: new Response(res.body, res), or new Response(null, { status: 101, webSocket: res.webSocket, headers }))`,
  );
}

/**
 * A web-standard Response cannot carry a socket (status 101 is not constructible), so an accepted
 * upgrade is a marker Response the server recognises and completes: it reports status 101 (`ok`
 * false) and a `webSocket` that stands for the agent's socket, as a Durable Object's 101 does, so
 * `res.status === 101` holds and a copy (`new Response(res.body, res)`, or `new Response(null, {
 * status: 101, webSocket: res.webSocket, headers })` under the Workers globals) still upgrades.
 */
export function upgradeResponse(target: UpgradeTarget): Response {
  const response = new Response(null, { status: 200, headers: { [UPGRADE_MARKER_HEADER]: "websocket" } });
  const standIn = Object.freeze(new AgentUpgradeSocket());
  standIns.set(standIn, target);
  return markUpgrade(response, standIn);
}

/**
 * Makes `response` (built as a 200 with no body) the upgrade `webSocket` stands for: it reports 101
 * and that `webSocket`. For the Response constructor, given a 101 with a stand-in.
 */
export function markUpgrade(response: Response, webSocket: object): Response {
  const target = standIns.get(webSocket);
  if (target === undefined) throw new TypeError("Not the webSocket of an agent's upgrade response");
  targets.set(response, target);
  Object.defineProperties(response, {
    status: { get: () => 101, configurable: true },
    ok: { get: () => false, configurable: true },
    webSocket: { get: () => webSocket, configurable: true },
  });
  return response;
}

/** True for the `webSocket` of an agent's upgrade response. */
export function isUpgradeStandIn(value: unknown): value is object {
  return typeof value === "object" && value !== null && standIns.has(value);
}

export function upgradeTargetOf(response: Response): UpgradeTarget | undefined {
  return targets.get(response);
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}
