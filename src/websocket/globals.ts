import { WebSocketRequestResponsePair } from "./auto-response.ts";
import { workersResponseClass } from "./response.ts";
import { CompleteBodyResponse } from "../web/complete-body-response.ts";
import { fetchWithWebSockets } from "./outbound.ts";
import { endOf, WebSocketPair, WorkersWebSocket } from "./socket.ts";

const INSTALLED: unique symbol = Symbol.for("hearth.workersGlobals");

/**
 * Installs the Workers runtime's WebSocket globals that Durable Object code uses to accept sockets:
 * `WebSocketPair`, `WebSocketRequestResponsePair`, `new Response(null, { status: 101, webSocket })`,
 * `fetch` with `Upgrade: websocket` as a WebSocket client (outbound.ts), the
 * `WebSocket.READY_STATE_*` constants, and `WebSocket.prototype.serializeAttachment` /
 * `deserializeAttachment` (libraries such as partyserver call them through the prototype). Node's own
 * WebSocket client keeps working. The global Response is also one whose string bodies stay strings
 * until read (web/complete-body-response.ts). Idempotent.
 */
export function installWorkersGlobals(): void {
  const global = globalThis as unknown as Record<string | symbol, unknown>;
  if (global[INSTALLED]) return;
  global[INSTALLED] = true;
  global.WebSocketPair = WebSocketPair;
  // `fetch(url, { headers: { Upgrade: "websocket" } })` opens a WebSocket, as a Worker's fetch does.
  if (typeof global.fetch === "function") global.fetch = fetchWithWebSockets(global.fetch as typeof fetch);
  global.WebSocketRequestResponsePair = WebSocketRequestResponsePair;
  // Node's Response, with string bodies kept as strings until read (web/complete-body-response.ts),
  // unless something replaced the global before: then that one.
  const base = Object.getPrototypeOf(CompleteBodyResponse) === globalThis.Response ? CompleteBodyResponse : globalThis.Response;
  global.Response = workersResponseClass(base);
  const NodeWebSocket = global.WebSocket as (abstract new (...args: never[]) => object) | undefined;
  if (NodeWebSocket) {
    for (const [name, value] of Object.entries({
      READY_STATE_CONNECTING: WorkersWebSocket.READY_STATE_CONNECTING,
      READY_STATE_OPEN: WorkersWebSocket.READY_STATE_OPEN,
      READY_STATE_CLOSING: WorkersWebSocket.READY_STATE_CLOSING,
      READY_STATE_CLOSED: WorkersWebSocket.READY_STATE_CLOSED,
    })) {
      if (!(name in NodeWebSocket)) Object.defineProperty(NodeWebSocket, name, { value, enumerable: true });
    }
    const proto = NodeWebSocket.prototype as Record<string, unknown>;
    const methods: Record<string, (this: unknown, ...args: unknown[]) => unknown> = {
      serializeAttachment(value) {
        endOf(this).serializeAttachment(value);
      },
      deserializeAttachment() {
        return endOf(this).deserializeAttachment();
      },
      accept() {
        endOf(this).acceptWithEvents(this as EventTarget);
      },
    };
    for (const [name, fn] of Object.entries(methods)) {
      if (!(name in proto)) Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true });
    }
  }
}
