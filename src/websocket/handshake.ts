import type { IncomingMessage } from "node:http";
import { WebSocketServer, type ServerOptions } from "ws";

/** What each upgrade's 101 response said, until the handshake is written. */
const answers = new WeakMap<IncomingMessage, Headers>();

/** Headers of a 101 response that the handshake itself writes (or that a 101 cannot carry). */
const HANDSHAKE_HEADERS = new Set(["upgrade", "connection", "sec-websocket-accept", "sec-websocket-extensions", "sec-websocket-protocol", "content-length", "transfer-encoding", "keep-alive"]);

/**
 * A `ws` server (noServer) whose handshakes answer as the worker's 101 response did, as on
 * Cloudflare: the subprotocol is the one its `Sec-WebSocket-Protocol` names — none without that header,
 * whatever the client offered — and its other headers (`Set-Cookie`, say) reach the client too. An
 * upgrade nobody gave a response for ({@link answerUpgradeWith}) gets no subprotocol and no headers.
 * @example const sockets = handshakeServer({ maxPayload }); answerUpgradeWith(incoming, response.headers); sockets.handleUpgrade(…)
 */
export function handshakeServer(options: Omit<ServerOptions, "noServer" | "handleProtocols">): WebSocketServer {
  const server = new WebSocketServer({
    ...options,
    noServer: true,
    handleProtocols: (_offered, request) => answers.get(request)?.get("sec-websocket-protocol")?.trim() || false,
  });
  server.on("headers", (lines: string[], request: IncomingMessage) => {
    const headers = answers.get(request);
    if (headers === undefined) return;
    answers.delete(request);
    for (const [name, value] of headers) if (!HANDSHAKE_HEADERS.has(name)) lines.push(`${name}: ${value}`);
  });
  return server;
}

/** The headers of the 101 response that accepted this upgrade request: what its handshake answers with. */
export function answerUpgradeWith(request: IncomingMessage, headers: Headers): void {
  answers.set(request, headers);
}
