import type { WebSocket } from "ws";
import type { RawSocket } from "../agent/connection.ts";
import { closeOutsideEvents } from "../websocket/close-outside-events.ts";
import { closedIfStalled, tcpOf } from "../websocket/stalled-client.ts";

/**
 * A WebSocket whose frames sent in one turn of the event loop leave in one write: the TCP socket is
 * corked at the first send and uncorked on the next tick. An RPC reply plus a state broadcast would
 * otherwise cost one syscall each, which dominates the server's time under load.
 *
 * That first send of a turn also checks what earlier turns left unsent (one property read per turn,
 * not per frame): a client that stopped reading is closed instead (websocket/stalled-client.ts).
 */
export function corkedSocket(ws: WebSocket): RawSocket {
  // Without its TCP socket, sends are not batched and each checks.
  const tcp = tcpOf(ws);
  const uncork = () => tcp?.uncork();
  return {
    get readyState() {
      return ws.readyState;
    },
    send(data) {
      if (tcp === undefined || (tcp.writableCorked === 0 && !tcp.destroyed)) {
        if (closedIfStalled(ws, tcp)) return;
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
