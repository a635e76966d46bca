/**
 * Requests Node's HTTP server does not hand to its request listener as it hands the others: an
 * `Upgrade` other than WebSocket, `Expect: 100-continue`, and `CONNECT`. Without a word from the
 * server each goes wrong in its own way (a 500 for `curl --http2`, a `100 Continue` before a 413, a
 * socket closed without an answer).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { writeRawResponse } from "./node-adapter.ts";

/** The methods an answer of 405 lists in `Allow` (any other a Request can carry reaches the worker too). */
export const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/**
 * Whether Node should give `incoming` to the upgrade listener: a WebSocket handshake only. Any other
 * `Upgrade` (curl sends `h2c` on every http:// request with `--http2`) is served as a plain request,
 * which a server may do by ignoring the header (RFC 9110 §7.8). Node 24.9 and later read this from the
 * server's `shouldUpgradeCallback`; earlier ones give every upgrade to the listener, which then
 * refuses the others with {@link refuseOtherUpgrade}.
 */
export function isWebSocketUpgrade(incoming: IncomingMessage): boolean {
  return incoming.headers.upgrade?.trim().toLowerCase() === "websocket";
}

/** The answer, on a Node older than 24.9, to an upgrade other than WebSocket (see {@link isWebSocketUpgrade}). */
export function refuseOtherUpgrade(incoming: IncomingMessage, socket: Duplex): void {
  const refusal = Response.json({ error: `Upgrade: ${incoming.headers.upgrade ?? ""} is not served here; send the request without it` }, { status: 501 });
  void writeRawResponse(refusal, socket, `${incoming.method ?? "GET"} upgrade`).catch(() => socket.destroy());
}

/**
 * Answers `Expect: 100-continue` itself: `refuse` runs first (a body refused by its declared length is
 * refused before the client sends it, as RFC 9110 §10.1.1 asks), then `100 Continue` and the request
 * goes to the server's request listener as any other.
 */
export function continueAfter(server: Server, refuse: (incoming: IncomingMessage, outgoing: ServerResponse) => boolean): void {
  server.on("checkContinue", (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (refuse(incoming, outgoing)) return;
    outgoing.writeContinue();
    server.emit("request", incoming, outgoing);
  });
}

/** Answers `CONNECT` with a 405 (Node closes the socket without a word when nothing listens for it). */
export function refuseConnect(server: Server): void {
  server.on("connect", (_incoming: IncomingMessage, socket: Duplex) => {
    socket.on("error", () => socket.destroy());
    const refusal = Response.json({ error: "CONNECT is not served here" }, { status: 405, headers: { allow: ALLOWED_METHODS } });
    void writeRawResponse(refusal, socket, "CONNECT").catch(() => socket.destroy());
  });
}
