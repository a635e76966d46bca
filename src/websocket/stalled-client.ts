import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import { closeOutsideEvents } from "./close-outside-events.ts";

/**
 * Bytes waiting for a client, sent and not taken yet, past which the connection is watched: if none
 * of them leave for {@link STALLED_CLIENT_MS}, its next send closes it. A client that stops reading
 * would otherwise make the server keep everything sent to it; one that reads slowly, or is taking a
 * large message (a state may be up to 256 MiB), keeps draining and stays.
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

/** `ws`'s TCP socket (a private field of `ws`), or undefined when it has none. */
export function tcpOf(ws: WebSocket): Socket | undefined {
  return (ws as unknown as { _socket?: Socket })._socket;
}

/**
 * Closes `ws` and returns true when its client stopped reading: over {@link MAX_BUFFERED_BYTES}
 * waiting and nothing taken for {@link STALLED_CLIENT_MS}, or over {@link HARD_MAX_BUFFERED_BYTES}.
 * Called before a send; a send to a closed socket is then skipped.
 * @example if (!closedIfStalled(ws, tcpOf(ws))) ws.send(data);
 */
export function closedIfStalled(ws: WebSocket, tcp: Socket | undefined): boolean {
  // Closed already: what it held is freed only on the next tick, so it would count as stalled again.
  if (stalled.has(ws)) return true;
  const buffered = ws.bufferedAmount;
  if (buffered <= MAX_BUFFERED_BYTES || !stalledOver(ws, tcp, buffered)) return false;
  closeStalled(ws, buffered);
  return true;
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
 * socket's owner hears the code and reason below ({@link stalledClose}), not an unexplained 1006.
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
