import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import type { SocketEvents } from "../agent/runtime.ts";
import { LIMITS } from "../limits.ts";
import { closeReasonWithin, DISCONNECTED } from "../websocket/close-reason.ts";
import { chatRequestError, frames, sniffFrame } from "../protocol/frames.ts";
import type { Actor } from "./actor.ts";
import { corkedSocket } from "./corked-socket.ts";
import type { CellPlace } from "./place.ts";
import type { SocketHub } from "./socket-hub.ts";
import { frameBytes } from "../websocket/network.ts";

/** What the socket plumbing needs from the host. */
export interface SocketHostView {
  readonly hub: SocketHub;
  readonly maxMessageBytes: number;
  readonly closed: boolean;
  /** Runs `task` on the actor at `place` (waking it), in its mailbox. */
  deliver<T>(place: CellPlace, task: (actor: Actor) => T | Promise<T>): Promise<T>;
}

/**
 * Adopts an upgraded WebSocket for an agent (the Agents protocol): registers it with the host's hub,
 * runs the agent's onConnect, and turns its frames and its close into the agent's events.
 */
export function acceptAgentSocket(host: SocketHostView, place: CellPlace, key: string, label: string, ws: WebSocket, request: Request): void {
  const requested = new URL(request.url).searchParams.get("_pk");
  if (requested !== null && (requested.length === 0 || requested.length > 256)) {
    ws.close(1008, "Connection id (_pk) must be 1-256 characters");
    return;
  }
  if (host.hub.count(key) >= LIMITS.maxConnectionsPerAgent) {
    ws.close(1013, `Too many connections to this agent (maxConnectionsPerAgent ${LIMITS.maxConnectionsPerAgent})`);
    return;
  }
  const id = requested ?? randomUUID();
  const record: SocketRecord = {
    id,
    socket: corkedSocket(ws),
    url: request.url,
    tags: [id],
    stateJson: undefined,
    readonly: false,
    protocol: true,
    connected: false,
    accepting: true,
  };
  host.hub.add(key, record)?.socket.close(4000, "Replaced by a newer connection with the same id");
  // Frames wait for onConnect to end, in order: before it, the connection has no tags, state or
  // read-only flag yet, and an event that awaits lets the next one in (Cloudflare answers the upgrade
  // only once onConnect ended, so nothing can come sooner there).
  let waiting: Array<() => void> | undefined = [];
  let waitingBytes = 0;
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buffer = frameBytes(data);
    if (waiting === undefined) return onFrame(host, place, record, buffer, isBinary);
    waitingBytes += buffer.length;
    if (waitingBytes > LIMITS.maxBytesWhileConnecting) {
      waiting = [];
      ws.close(1009, closeReasonWithin(`Sent more than ${LIMITS.maxBytesWhileConnecting} bytes before onConnect ended (maxBytesWhileConnecting)`));
      return;
    }
    waiting.push(() => onFrame(host, place, record, buffer, isBinary));
  });
  ws.on("close", (code: number, reason: Buffer) => {
    // A socket that was replaced or whose agent was destroyed has no agent to tell.
    if (!host.hub.remove(key, record) || host.closed) return;
    // Without a close frame (1006): the Workers runtime's reason, as partyserver's webSocketClose gets it there.
    const text = code === 1006 ? DISCONNECTED : reason.toString();
    const deliverClose = () => void host.deliver(place, (actor) => actor[HANDLE.close](record, code, text, code !== 1006)).catch(() => {});
    // After the frames that came before it, still waiting for onConnect to end.
    if (waiting !== undefined) waiting.push(deliverClose);
    else deliverClose();
  });
  ws.on("error", (error: Error) => console.error(`[hearth] socket ${label}#${id}:`, error.message));
  host.deliver(place, (actor) => actor[HANDLE.connect](record, request)).then(
    () => {
      const early = waiting ?? [];
      waiting = undefined;
      for (const deliver of early) deliver();
    },
    (error: unknown) => {
      waiting = undefined; // dropped: the socket closes
      host.hub.remove(key, record);
      ws.close(1011, closeReasonWithin(`Agent failed in onConnect: ${error instanceof Error ? error.message : String(error)}`));
    },
  );
}

/**
 * Adds a socket an actor accepted itself (a Durable Object's `ctx.acceptWebSocket`) to the hub: what
 * arrives on it becomes the actor's events, waking it if it hibernated.
 */
export function adoptActorSocket(host: SocketHostView, place: CellPlace, key: string, label: string, record: SocketRecord): SocketEvents {
  if (host.hub.count(key) >= LIMITS.maxConnectionsPerAgent) {
    throw new RangeError(`Too many WebSockets on ${label}: the limit is ${LIMITS.maxConnectionsPerAgent} (maxConnectionsPerAgent)`);
  }
  host.hub.add(key, record);
  const gone = (): boolean => !host.hub.remove(key, record) || host.closed;
  return {
    message: (data) => void host.deliver(place, (actor) => actor[HANDLE.message](record, data)).catch(() => {}),
    close: (code, reason, wasClean) => {
      if (gone()) return;
      host.deliver(place, (actor) => actor[HANDLE.close](record, code, reason, wasClean)).catch(() => {});
    },
    error: (error) => {
      if (gone()) return;
      host.deliver(place, (actor) => actor[HANDLE.socketError]?.(record, error)).catch(() => {});
    },
  };
}

function onFrame(host: SocketHostView, place: CellPlace, record: SocketRecord, buffer: Buffer, isBinary: boolean): void {
  if (buffer.length > host.maxMessageBytes) {
    const error = `Message of ${buffer.length} bytes exceeds the limit of ${host.maxMessageBytes} bytes (maxMessageBytes)`;
    const sniffed = isBinary ? undefined : sniffFrame(buffer.subarray(0, 512).toString(), buffer.subarray(-512).toString());
    if (sniffed?.kind === "rpc") record.socket.send(frames.rpcError(sniffed.id, error));
    else if (sniffed?.kind === "chat") record.socket.send(chatRequestError(sniffed.id, error));
    else if (sniffed?.kind === "state") record.socket.send(frames.stateError(error));
    else record.socket.send(frames.error(error));
    return;
  }
  const message = isBinary ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) : buffer.toString("utf8");
  host.deliver(place, (actor) => actor[HANDLE.message](record, message as string | ArrayBuffer)).catch(
    () => {}, // already reported through the agent's onError
  );
}

