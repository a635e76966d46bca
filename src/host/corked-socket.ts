import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { RawSocket } from "../agent/connection.ts";
import { closeOutsideEvents } from "../websocket/network.ts";

/**
 * Most bytes a connection may have waiting for its client, sent in earlier turns of the event loop
 * and not taken yet, before the next send closes it: a client that stops reading would otherwise
 * make the server keep everything sent to it. As large as the largest message a client may send
 * (`maxMessageBytes`), so one such message on its way to a slower client is not a reason to close.
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** The close code and reason of sockets closed for not reading, for their close event (which sees 1006). */
const stalled = new WeakMap<WebSocket, { code: number; reason: string }>();

/** How a socket closed for not reading closed, or undefined for any other close. */
export function stalledClose(ws: WebSocket): { code: number; reason: string } | undefined {
  return stalled.get(ws);
}

/**
 * A WebSocket whose frames sent in one turn of the event loop leave in one write: the TCP socket is
 * corked at the first send and uncorked on the next tick. An RPC reply plus a state broadcast would
 * otherwise cost one syscall each, which dominates the server's time under load.
 *
 * That first send of a turn also checks what earlier turns left unsent (one property read per turn,
 * not per frame): over {@link MAX_BUFFERED_BYTES}, the connection is closed instead.
 */
export function corkedSocket(ws: WebSocket): RawSocket {
  // `ws` keeps its net.Socket on a private field; without it, sends are not batched and each checks.
  const tcp = (ws as unknown as { _socket?: Socket })._socket;
  const uncork = () => tcp?.uncork();
  return {
    get readyState() {
      return ws.readyState;
    },
    send(data) {
      if (tcp === undefined || (tcp.writableCorked === 0 && !tcp.destroyed)) {
        const buffered = ws.bufferedAmount;
        if (buffered > MAX_BUFFERED_BYTES) return closeStalled(ws, buffered);
        if (tcp !== undefined) {
          tcp.cork();
          process.nextTick(uncork);
        }
      }
      ws.send(data);
    },
    close(code, reason) {
      closeOutsideEvents(ws, code, reason);
    },
  };
}

/**
 * Closes a socket whose client stopped reading. The close frame would wait behind what the client
 * does not read, so the connection is dropped at once, which frees what was queued for it; the
 * agent's onClose hears the code and reason below, not an unexplained 1006.
 */
function closeStalled(ws: WebSocket, buffered: number): void {
  const code = 1008;
  const reason = `client is not reading: ${buffered} bytes buffered`;
  stalled.set(ws, { code, reason });
  console.warn(`[hearth] closing a WebSocket (${code}): ${reason} (the limit is ${MAX_BUFFERED_BYTES})`);
  try {
    closeOutsideEvents(ws, code, reason);
  } finally {
    ws.terminate();
  }
}
