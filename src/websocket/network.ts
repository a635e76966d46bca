import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket as NetworkSocket, WebSocketServer } from "ws";
import { closeOutsideEvents } from "./close-outside-events.ts";
import { DISCONNECTED } from "./close-reason.ts";
import type { SocketEnd } from "./end.ts";
import { endOf, type WorkersWebSocket } from "./socket.ts";
import { closedIfStalled, stalledClose, tcpOf } from "./stalled-client.ts";

/**
 * Connects the pair behind `client` (the WebSocket a worker returned in its 101 response) to the real
 * socket of the HTTP upgrade: from now on the server end talks to the network. What the server end
 * sent before (queued on the client end, which nobody accepted) goes out first.
 */
export function spliceToNetwork(client: WorkersWebSocket, ws: NetworkSocket, maxMessageBytes: number): void {
  const clientEnd = endOf(client);
  const server = clientEnd.peer;
  if (!server || clientEnd.accepted) {
    ws.close(1011, "The WebSocket of the 101 response was accepted by the worker itself");
    return;
  }
  clientEnd.spliced = true;
  const tcp = tcpOf(ws);
  server.link({
    // A client that stopped reading is closed rather than sent to without bound (stalled-client.ts).
    send: (data) => {
      if (!closedIfStalled(ws, tcp)) ws.send(data);
    },
    close: (code, reason) => closeNetwork(ws, code, reason),
  });
  for (const item of clientEnd.takeQueued()) {
    if (item.kind === "message") ws.send(item.data);
    else if (item.kind === "close") closeNetwork(ws, item.code === 1005 ? undefined : item.code, item.code === 1005 ? undefined : item.reason);
  }
  listen(server, ws, maxMessageBytes);
}

/**
 * Sends a close frame. One `ws` refuses (a code outside 1000–1014 and 3000–4999) drops the
 * connection instead: `ws` is CLOSING by then and would wait for a close that never comes.
 */
export function closeNetwork(ws: NetworkSocket, code: number | undefined, reason: string | undefined): void {
  try {
    closeOutsideEvents(ws, code, reason);
  } catch (error) {
    console.error(`[hearth] a WebSocket close frame (code ${code}) could not be sent; the connection is dropped:`, error);
    ws.terminate();
  }
}

function listen(server: SocketEnd, ws: NetworkSocket, maxMessageBytes: number): void {
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buffer = frameBytes(data);
    if (buffer.length > maxMessageBytes) {
      ws.close(1009, `Message of ${buffer.length} bytes exceeds the limit of ${maxMessageBytes} bytes (maxMessageBytes)`);
      return;
    }
    server.receive(isBinary ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer : buffer.toString("utf8"));
  });
  // A connection that ended without a close frame (1006) has the Workers runtime's reason; one dropped
  // for not reading says so.
  ws.on("close", (code: number, reason: Buffer) => {
    const stalled = stalledClose(ws);
    if (stalled !== undefined) server.receiveClose(stalled.code, stalled.reason, false);
    else server.receiveClose(code, code === 1006 ? DISCONNECTED : reason.toString(), code !== 1006);
  });
  ws.on("error", (error: Error) => server.receiveError(error));
}

/**
 * Completes the HTTP upgrade for a 101 response that carries `client`, then splices the pair to the
 * new socket. If the client goes away before the upgrade completes, the end its worker or Durable
 * Object kept sees an abnormal closure (1006), so it is not left open.
 */
export function upgradeToPair(
  server: WebSocketServer,
  incoming: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  client: WorkersWebSocket,
  maxMessageBytes: number,
): void {
  let settled = false;
  const gone = (): void => {
    if (settled) return;
    settled = true;
    closePair(client, 1006, DISCONNECTED, false);
  };
  if (socket.destroyed) return gone();
  socket.once("close", gone);
  server.handleUpgrade(incoming, socket, head, (ws) => {
    socket.off("close", gone);
    if (settled) {
      ws.terminate();
      return;
    }
    settled = true;
    spliceToNetwork(client, ws, maxMessageBytes);
  });
}

/**
 * Closes the pair behind `client` when its 101 response cannot be honoured (the request asked for no
 * upgrade): the end its worker or Durable Object kept sees a close (1011), so it is not left open.
 */
export function refuseUpgradeResponse(client: WorkersWebSocket, reason: string): void {
  closePair(client, 1011, reason, true);
}

/** Marks `client` as used and tells its peer (the end that was kept) that the connection closed. */
function closePair(client: WorkersWebSocket, code: number, reason: string, wasClean: boolean): void {
  const clientEnd = endOf(client);
  if (clientEnd.spliced || clientEnd.accepted) return;
  clientEnd.spliced = true;
  clientEnd.peer?.receiveClose(code, reason, wasClean);
  clientEnd.close(); // closed on this side too: nothing more goes anywhere
}

/** A frame's payload as `ws` hands it over (one Buffer, fragments, or an ArrayBuffer), as one Buffer. */
export function frameBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
}
