/**
 * WebSocket frames that belong to a feature rather than to the agent's class: a feature (team-run
 * streams, …) registers a frame type starting with `hearth_`, and a JSON frame of that type sent by a
 * client reaches the feature's handler, inside the agent's event, instead of `onMessage`.
 */
import type { Connection } from "./connection.ts";

/** Handles one frame of a registered type. */
export type FrameHandler = (agent: object, connection: Connection, frame: Record<string, unknown>) => void | Promise<void>;

/** The prefix of every feature frame type; no Agents SDK frame starts with it. */
export const FEATURE_FRAME_PREFIX = "hearth_";

const handlers = new Map<string, FrameHandler>();

/**
 * Registers the handler of frames of `type` (which must start with `hearth_`).
 * @example
 * registerFrameHandler("hearth_team_watch", (agent, connection, frame) => watch(agent, connection, frame));
 */
export function registerFrameHandler(type: string, handler: FrameHandler): void {
  if (!type.startsWith(FEATURE_FRAME_PREFIX)) throw new TypeError(`A feature frame type must start with "${FEATURE_FRAME_PREFIX}" (got ${JSON.stringify(type)})`);
  handlers.set(type, handler);
}

/** The handler of a parsed frame, if a feature registered its type. */
export function featureFrameHandler(frame: Record<string, unknown> | undefined): FrameHandler | undefined {
  const type = frame?.type;
  return typeof type === "string" && type.startsWith(FEATURE_FRAME_PREFIX) ? handlers.get(type) : undefined;
}
