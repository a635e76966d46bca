import type { CellPlace } from "./place.ts";

/** Where an accepted WebSocket upgrade goes. */
export interface UpgradeTarget {
  readonly className: string;
  readonly name: string;
  readonly request: Request;
  /** Set when the socket is for a sub-agent: where it lives below the root `className`/`name`. */
  readonly place?: CellPlace;
}

const targets = new WeakMap<Response, UpgradeTarget>();

/**
 * A web-standard Response cannot carry a socket (status 101 is not constructible), so an accepted
 * upgrade is a marker Response the server recognises and completes. Return it unchanged from fetch.
 */
export function upgradeResponse(target: UpgradeTarget): Response {
  const response = new Response(null, { status: 200, headers: { "x-hearth-upgrade": "websocket" } });
  targets.set(response, target);
  return response;
}

export function upgradeTargetOf(response: Response): UpgradeTarget | undefined {
  return targets.get(response);
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}
