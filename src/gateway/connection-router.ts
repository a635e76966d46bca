/**
 * A server's connections routed by their first request: each new connection is read up to its request
 * line, and one whose target another thread's server answers moves there whole (connection-transfer.ts)
 * before any of it is parsed here; the rest go to this thread's HTTP server as if it had accepted them.
 * A client that keeps asking the same agent (a browser, an SDK client, a load balancer's pooled
 * connection) is then served by the agent's thread alone, with no hand-over per request
 * (docs/decisions/0025-connection-transfer.md).
 */
import type { Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { moveSocket, requestTarget, type MovedConnection } from "./connection-transfer.ts";

/** Where a connection goes by its first request's target: a sender that moves it, or undefined to keep it here. */
export type ConnectionRoute = (target: string) => ((moved: MovedConnection) => void) | undefined;

/**
 * The listening side of `http` when connections are routed: a net server that accepts, reads each
 * connection's first bytes, and moves it (`route`) or hands it to `http`. Listen on what it returns,
 * not on `http`.
 * @example
 * const front = routeConnections(httpServer, (target) => (target.startsWith("/agents/room/") ? moveToRoomThread : undefined));
 * front.listen(8787);
 */
export function routeConnections(http: HttpServer, route: ConnectionRoute): Server {
  return createServer({ pauseOnConnect: true }, (socket) => {
    // Nothing sent within the time the HTTP server allows for headers: closed, as it would close it.
    socket.setTimeout(http.headersTimeout || 60_000, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    // Decided within this event: a move stops the handle's reading at once, and a kept socket's first
    // bytes wait in its buffer until the HTTP server's own listener reads them.
    socket.once("data", (first: Buffer) => {
      socket.setTimeout(0);
      socket.removeAllListeners("error");
      const target = requestTarget(first);
      const send = target === undefined ? undefined : route(target);
      if (send !== undefined && moveSocket(socket, first, send)) return;
      socket.unshift(first);
      http.emit("connection", socket);
    });
    socket.resume();
  });
}
