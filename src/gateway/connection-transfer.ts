/**
 * Moving an accepted client connection to another thread's server: the socket's handle goes in a
 * postMessage transfer list, with the bytes this thread already read from it, and the receiving server
 * takes the connection as if the client had connected there (docs/decisions/0025-connection-transfer.md).
 * A WebSocket whose upgrade arrived at the thread that does not hold its agent then lives on the agent's
 * thread, instead of every frame crossing between the two threads.
 *
 * Node documents neither half: `socket._handle` (the libuv TCP handle under a net.Socket) and
 * `new net.Socket({ handle })` are what its own cluster module uses. Where they are missing the
 * connection is not moved and the caller serves it as before.
 */
import type { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** The libuv handle of a TCP socket, as far as moving it needs. */
interface TcpHandle {
  readStart(): number;
  readStop(): number;
}

/** An accepted connection taken off this thread: what the receiving server needs to take it up. */
export interface MovedConnection {
  /** The socket's handle: put it in the transfer list of the postMessage that carries this. */
  readonly handle: unknown;
  /** What this thread read from the connection, to be read again there first (the request line, headers and anything after). */
  readonly received: Uint8Array;
}

/**
 * Takes the connection of an upgrade request off this thread's server: its reading stops, and `send`
 * moves the handle (it must transfer it, or throw). On success this thread's socket lets go of the
 * connection without closing it and `true` is returned; when the socket has no handle to move or
 * `send` throws, nothing changed and the caller answers the upgrade itself.
 * @example
 * if (moveUpgrade(incoming, socket, head, (moved) => port.postMessage(moved, [moved.handle]))) return;
 */
export function moveUpgrade(incoming: IncomingMessage, socket: Duplex, head: Buffer, send: (moved: MovedConnection) => void): boolean {
  return socket instanceof Socket && moveSocket(socket, Buffer.concat([requestHead(incoming), head]), send);
}

/**
 * Takes a connection off this thread, `received` being what was read from it so far (the socket's own
 * unread buffer is added): as {@link moveUpgrade}, for a socket no server has parsed anything of.
 * @example
 * if (!moveSocket(socket, firstChunk, send)) { socket.unshift(firstChunk); server.emit("connection", socket); }
 */
export function moveSocket(socket: Socket, received: Buffer, send: (moved: MovedConnection) => void): boolean {
  const handle = (socket as Partial<{ _handle: TcpHandle | null }>)._handle;
  if (handle == null || typeof handle.readStop !== "function" || typeof handle.readStart !== "function") return false;
  handle.readStop();
  const unread = socket.readableLength > 0 ? (socket.read() as Buffer | null) : null;
  const all = unread ? Buffer.concat([received, unread]) : received;
  try {
    send({ handle, received: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) });
  } catch {
    if (unread) socket.unshift(unread);
    handle.readStart(); // as it was: the socket reads on for whoever answers it here
    return false;
  }
  // The handle lives on in the other thread: this socket only drops it (no close of the connection).
  (socket as unknown as { _handle: TcpHandle | null })._handle = null;
  socket.destroy();
  return true;
}

/**
 * The request target in the first bytes a client sent (`/agents/room/a?x=1` of `GET /agents/room/a?x=1
 * HTTP/1.1`); undefined until the request line is complete in them, or when it is not an origin-form
 * target. Only for routing: the server that answers parses the request itself.
 */
export function requestTarget(first: Buffer): string | undefined {
  const end = first.indexOf("\r\n");
  if (end === -1) return undefined;
  const line = first.toString("latin1", 0, end);
  const start = line.indexOf(" ") + 1;
  const stop = line.indexOf(" ", start);
  if (start === 0 || stop === -1 || line.charCodeAt(start) !== 0x2f) return undefined;
  return line.slice(start, stop);
}

/**
 * A connection another thread moved here, as a socket this thread's server can take up with
 * `server.emit("connection", socket)`: what was read there comes first.
 */
export function socketOfMoved(moved: MovedConnection): Socket {
  const socket = new Socket({ handle: moved.handle, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
  if (moved.received.byteLength > 0) socket.unshift(Buffer.from(moved.received.buffer, moved.received.byteOffset, moved.received.byteLength));
  return socket;
}

/** The request line and headers as the client sent them (Node keeps the raw header list). */
function requestHead(incoming: IncomingMessage): Buffer {
  let text = `${incoming.method ?? "GET"} ${incoming.url ?? "/"} HTTP/${incoming.httpVersion}\r\n`;
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(`${text}\r\n`, "latin1");
}
