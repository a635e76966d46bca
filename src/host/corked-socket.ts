import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { RawSocket } from "../agent/connection.ts";
import { closeOutsideEvents } from "../websocket/network.ts";

/**
 * A WebSocket whose frames sent in one turn of the event loop leave in one write: the TCP socket is
 * corked at the first send and uncorked on the next tick. An RPC reply plus a state broadcast would
 * otherwise cost one syscall each, which dominates the server's time under load.
 */
export function corkedSocket(ws: WebSocket): RawSocket {
  // `ws` keeps its net.Socket on a private field; without it, sends are simply not batched.
  const tcp = (ws as unknown as { _socket?: Socket })._socket;
  const uncork = () => tcp?.uncork();
  return {
    get readyState() {
      return ws.readyState;
    },
    send(data) {
      if (tcp && tcp.writableCorked === 0 && !tcp.destroyed) {
        tcp.cork();
        process.nextTick(uncork);
      }
      ws.send(data);
    },
    close(code, reason) {
      closeOutsideEvents(ws, code, reason);
    },
  };
}
