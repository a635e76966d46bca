/**
 * The Workers runtime's server-side WebSockets: `WebSocketPair`, 101 responses, attachments and
 * auto-responses, on Node.
 * @module
 */
export { WebSocketPair, WorkersWebSocket, isWorkersWebSocket } from "./socket.ts";
export { WebSocketRequestResponsePair } from "./auto-response.ts";
export { installWorkersGlobals } from "./globals.ts";
export { webSocketOfResponse } from "./response.ts";
