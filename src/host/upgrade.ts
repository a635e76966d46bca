import { markUpgrade, newUpgradeStandIn, standInTargetOf } from "../websocket/upgrade-stand-in.ts";
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

/**
 * An agent's accepted upgrade: a Response the server recognises and completes (see
 * websocket/upgrade-stand-in.ts): it reports status 101 and a `webSocket` standing for the agent's
 * socket, so return-on-101 and copies of it upgrade as a Durable Object's 101 does.
 */
export function upgradeResponse(target: UpgradeTarget): Response {
  const response = new Response(null, { status: 200, headers: { [UPGRADE_MARKER_HEADER]: "websocket" } });
  return markUpgrade(response, newUpgradeStandIn(target));
}

export function upgradeTargetOf(response: Response): UpgradeTarget | undefined {
  return standInTargetOf(response) as UpgradeTarget | undefined;
}

export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}
