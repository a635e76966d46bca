import type { IncomingMessage } from "node:http";
import { WebSocket as NetworkSocket } from "ws";
import { hardMaxMessageBytes, LIMITS } from "../limits.ts";
import { DISCONNECTED } from "./close-reason.ts";
import type { SocketEnd } from "./end.ts";
import { closeNetwork, frameBytes } from "./network.ts";
import { appendRawHeaders } from "../web/raw-headers.ts";
import type { WorkersResponseInit } from "./response.ts";
import { endOf, WebSocketPair } from "./socket.ts";

/** Request headers the WebSocket client writes itself. */
const HANDSHAKE_HEADERS = /^(host|connection|upgrade|content-length|transfer-encoding|sec-websocket-(key|version|extensions|protocol))$/i;

/**
 * `fetch` with the Workers runtime's WebSocket client: a request with `Upgrade: websocket` (to an http:
 * or https: URL) opens a WebSocket to it and resolves to a 101 response whose `webSocket` the caller
 * `accept()`s; a server that refuses the upgrade gives its own response, without a `webSocket`. Every
 * other request goes to `original` unchanged (Node's fetch refuses an Upgrade header).
 * @example const response = await fetch("https://chat.example/ws", { headers: { Upgrade: "websocket" } }); response.webSocket.accept();
 */
export function fetchWithWebSockets(original: typeof fetch): typeof fetch {
  return function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    if (!asksForWebSocket(input, init)) return original(input, init);
    try {
      return openWebSocket(new Request(input, init));
    } catch (error) {
      return Promise.reject(error);
    }
  } as typeof fetch;
}

/** Whether the request's headers say `Upgrade: websocket` (read without building a Request for every fetch). */
function asksForWebSocket(input: RequestInfo | URL, init: RequestInit | undefined): boolean {
  const headers = init?.headers ?? (input instanceof Request ? input.headers : undefined);
  if (headers === undefined) return false;
  let value: string | null | undefined;
  if (headers instanceof Headers) value = headers.get("upgrade");
  else if (Array.isArray(headers)) value = headers.find(([name]) => name.toLowerCase() === "upgrade")?.[1];
  else value = Object.entries(headers as Record<string, string>).find(([name]) => name.toLowerCase() === "upgrade")?.[1];
  return value?.trim().toLowerCase() === "websocket";
}

/** Opens the WebSocket `request` asks for: a 101 whose `webSocket` is one end of a pair, the other end relaying the connection. */
function openWebSocket(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Promise.reject(new TypeError(`Fetch API cannot load: ${request.url}. A WebSocket is opened with an http: or https: URL`));
  }
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const headers: Record<string, string> = {};
  for (const [name, value] of request.headers) if (!HANDSHAKE_HEADERS.test(name)) headers[name] = value;
  const protocols = request.headers.get("sec-websocket-protocol")?.split(",").map((protocol) => protocol.trim()).filter(Boolean) ?? [];
  return new Promise<Response>((resolve, reject) => {
    const signal = request.signal;
    if (signal.aborted) return reject(signal.reason);
    const ws = new NetworkSocket(url, protocols, { headers, perMessageDeflate: false, maxPayload: hardMaxMessageBytes(LIMITS.maxMessageBytes) });
    let head: IncomingMessage | undefined;
    const abort = (): void => {
      ws.terminate();
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    const settled = (): void => signal.removeEventListener("abort", abort);
    ws.once("upgrade", (response) => void (head = response));
    ws.once("open", () => {
      settled();
      const { 0: returned, 1: bridge } = new WebSocketPair();
      relay(endOf(bridge), ws);
      resolve(new Response(null, { status: 101, webSocket: returned, headers: headersOf(head) } as WorkersResponseInit));
    });
    // The server answered without upgrading: its response, whole, then the connection goes.
    ws.once("unexpected-response", (_request, response) => {
      settled();
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const status = response.statusCode ?? 502;
        const bodiless = status === 204 || status === 304 || request.method === "HEAD";
        resolve(new Response(bodiless ? null : Buffer.concat(chunks), { status, statusText: response.statusMessage ?? "", headers: headersOf(response) }));
        ws.terminate();
      });
      response.on("error", reject);
    });
    // Before the open: the fetch fails, as Node's does for a connection that cannot be made (after it, the close that follows ends the relay).
    ws.on("error", (error) => {
      settled();
      reject(new TypeError("fetch failed", { cause: error }));
    });
  });
}

/**
 * Relays the connection through `bridge`, the other end of the one handed out: what the handed-out end
 * sends goes to the server, what the server sends arrives on it — whether the caller accepts it or
 * returns it in its own 101 (a proxy: the server then splices `bridge` to its client's connection).
 */
function relay(bridge: SocketEnd, ws: NetworkSocket): void {
  bridge.acceptForRuntime({
    message: (data) => ws.send(data),
    close: (code, reason) => closeNetwork(ws, code === 1005 || code === 1006 ? undefined : code, reason),
    error: () => ws.terminate(),
  });
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buffer = frameBytes(data);
    bridge.send(isBinary ? buffer : buffer.toString("utf8"));
  });
  ws.on("close", (code: number, reason: Buffer) => {
    const handedOut = bridge.peer;
    // Dropped without a close frame: the handed-out end sees it so, unless it was passed on to a client (then a close without a code).
    if (code === 1006 && handedOut !== undefined && !handedOut.spliced) handedOut.receiveClose(1006, DISCONNECTED, false);
    else bridge.close(code === 1005 || code === 1006 ? undefined : code, code === 1005 || code === 1006 ? "" : reason.toString());
  });
}

function headersOf(message: IncomingMessage | undefined): Headers {
  const headers = new Headers();
  appendRawHeaders(headers, message?.rawHeaders ?? []);
  return headers;
}
