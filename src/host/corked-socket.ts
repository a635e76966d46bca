import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { RawSocket } from "../agent/connection.ts";
import { closeOutsideEvents } from "../websocket/network.ts";

/**
 * Bytes waiting for a client, sent in earlier turns of the event loop and not taken yet, past which
 * the connection is watched: if none of them leave for {@link STALLED_CLIENT_MS}, its next send
 * closes it. A client that stops reading would otherwise make the server keep everything sent to
 * it; one that reads slowly, or is taking a large message (a state may be up to 256 MiB), keeps
 * draining and stays.
 */
export const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** How long a connection over {@link MAX_BUFFERED_BYTES} may take nothing before its next send closes it. */
export const STALLED_CLIENT_MS = 10_000;
/** Waiting bytes that close a connection at its next send whatever it drains: a bound on memory per connection. */
export const HARD_MAX_BUFFERED_BYTES = 512 * 1024 * 1024;

/** Since when a connection over the limit has taken nothing, and how much had left by then. */
interface Watch {
  since: number;
  written: number;
}
const watched = new WeakMap<WebSocket, Watch>();

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
 * not per frame): a connection over {@link MAX_BUFFERED_BYTES} whose client took nothing for
 * {@link STALLED_CLIENT_MS} (or over {@link HARD_MAX_BUFFERED_BYTES}) is closed instead.
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
        if (buffered > MAX_BUFFERED_BYTES && stalledOver(ws, tcp, buffered)) return closeStalled(ws, buffered);
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

/** Whether a connection over the limit has stalled: nothing left it for STALLED_CLIENT_MS (or it holds too much anyway). */
function stalledOver(ws: WebSocket, tcp: Socket | undefined, buffered: number): boolean {
  if (buffered > HARD_MAX_BUFFERED_BYTES) return true;
  const now = performance.now();
  // Bytes handed to the kernel: Node's bytesWritten also counts what still waits in the socket's own
  // buffer. With no TCP socket to ask, a smaller backlog counts as progress.
  const written = tcp === undefined ? -buffered : tcp.bytesWritten - tcp.writableLength;
  const watch = watched.get(ws);
  if (watch === undefined || written > watch.written) {
    watched.set(ws, { since: now, written });
    return false;
  }
  return now - watch.since >= STALLED_CLIENT_MS;
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
  console.warn(`[hearth] closing a WebSocket (${code}): ${reason} (nothing taken for ${STALLED_CLIENT_MS} ms over ${MAX_BUFFERED_BYTES}, or over ${HARD_MAX_BUFFERED_BYTES})`);
  try {
    closeOutsideEvents(ws, code, reason);
  } finally {
    ws.terminate();
  }
}
