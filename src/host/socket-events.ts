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
import { stalledClose } from "../websocket/stalled-client.ts";
import { wasErrorLogged } from "../agent/instrumentation.ts";
import type { ActorCell } from "./cell.ts";
import { currentEvent } from "./event-context.ts";

/** What the socket plumbing needs from the host. */
export interface SocketHostView {
  readonly hub: SocketHub;
  readonly maxMessageBytes: number;
  /** Whether a socket's close reason may carry an exception's message (`hearth dev`); else it is only logged. */
  readonly exposeErrors: boolean;
  readonly closed: boolean;
  /** Runs `task` on the actor at `place` (waking it), in its mailbox. */
  deliver<T>(place: CellPlace, task: (actor: Actor) => T | Promise<T>): Promise<T>;
}

/** The view of `host`, its `hub`, whether it is `closed`, and how it `deliver`s to an actor. */
export function socketHostView(host: { readonly maxMessageBytes: number; readonly exposeErrors: boolean }, hub: SocketHub, closed: () => boolean, deliver: SocketHostView["deliver"]): SocketHostView {
  return {
    hub,
    get maxMessageBytes() {
      return host.maxMessageBytes;
    },
    get exposeErrors() {
      return host.exposeErrors;
    },
    get closed() {
      return closed();
    },
    deliver,
  };
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
  // A socket taken out of the hub (its connect failed, it was replaced, its agent destroyed) has no agent
  // to tell; one that left by its own close still has its frames from before the close delivered.
  let closedByClient = false;
  const registered = () => !host.closed && (closedByClient || host.hub.has(key, record));
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!registered()) return;
    const buffer = frameBytes(data);
    if (waiting === undefined) return onFrame(host, place, record, buffer, isBinary);
    waitingBytes += buffer.length;
    if (waitingBytes > LIMITS.maxBytesWhileConnecting) {
      waiting = [];
      ws.close(1009, closeReasonWithin(`Sent more than ${LIMITS.maxBytesWhileConnecting} bytes before onConnect ended (maxBytesWhileConnecting)`));
      return;
    }
    waiting.push(() => registered() && onFrame(host, place, record, buffer, isBinary));
  });
  ws.on("close", (code: number, reason: Buffer) => {
    // A socket that was replaced or whose agent was destroyed has no agent to tell.
    if (!host.hub.remove(key, record) || host.closed) return;
    closedByClient = true;
    // Without a close frame (1006): the Workers runtime's reason, as partyserver's webSocketClose gets
    // it there; one dropped for not reading says so.
    const stalled = stalledClose(ws);
    const closeCode = stalled?.code ?? code;
    const text = stalled?.reason ?? (code === 1006 ? DISCONNECTED : reason.toString());
    const deliverClose = () => void host.deliver(place, (actor) => actor[HANDLE.close](record, closeCode, text, stalled === undefined && code !== 1006)).catch(() => {});
    // After the frames that came before it, still waiting for onConnect to end.
    if (waiting !== undefined) waiting.push(deliverClose);
    else deliverClose();
  });
  // A protocol error (invalid UTF-8, a bad frame): the agent's onError(connection, error), as the SDK's webSocketError; the close follows.
  ws.on("error", (error: Error) => {
    if (!registered()) return void console.error(`[hearth] socket ${label}#${id}:`, error.message);
    const deliverError = () => {
      if (!registered()) return;
      void host.deliver(place, (actor) => actor[HANDLE.socketError]?.(record, error)).catch((failure: unknown) => console.error(`[hearth] ${label}: onError failed:`, failure));
    };
    if (waiting !== undefined) waiting.push(deliverError);
    else deliverError();
  });
  host.deliver(place, (actor) => actor[HANDLE.connect](record, request)).then(
    () => {
      const early = waiting ?? [];
      waiting = undefined;
      for (const deliver of early) deliver();
    },
    (error: unknown) => {
      waiting = undefined; // dropped: the socket closes
      host.hub.remove(key, record);
      // The exception's text is the server's (it may name tables, hosts, secrets): in the reason only under exposeErrors.
      const message = error instanceof Error ? error.message : String(error);
      if (!wasErrorLogged(error)) console.error(`[hearth] socket ${label}#${id}: onConnect failed:`, error);
      ws.close(1011, host.exposeErrors ? closeReasonWithin(`Agent failed in onConnect: ${message}`) : "Agent failed in onConnect");
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

/**
 * Closes a destroyed agent's sockets (1000 "Agent destroyed"), taken from the hub already: when its
 * own running event destroyed it, once that event ended and its output was sent (the reply of the
 * call that destroyed it, the state it set before), as Cloudflare aborts the object only after
 * `destroy()` returned; at once otherwise.
 */
export function closeDestroyedSockets(cell: ActorCell, records: readonly SocketRecord[]): void {
  if (records.length === 0) return;
  const close = () => {
    for (const record of records) record.socket.close(1000, "Agent destroyed");
  };
  const event = currentEvent();
  if (event !== undefined && event.owner === cell && event.done !== true) (event.afterOutput ??= []).push(close);
  else close();
}
