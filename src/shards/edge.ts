import type { WebSocket } from "ws";
import { installWorkersGlobals } from "../websocket/globals.ts";
import type { WorkersResponseInit } from "../websocket/response.ts";
import { WebSocketPair } from "../websocket/socket.ts";
import type { RelayOutlet } from "./relay-socket.ts";
import { frameBytes } from "../websocket/network.ts";

/** The shard's end of a client socket whose agent runs on another shard. */
export interface EdgeEndpoint {
  /** A frame from the agent, to the client. */
  deliver(data: string | ArrayBuffer): void;
  /** The agent closed the socket (or its shard went away). */
  close(code: number, reason: string): void;
}

/** Relays an upgraded client socket (`ws`): its frames and its close go out through `outlet`. */
export function edgeOfSocket(ws: WebSocket, outlet: RelayOutlet): EdgeEndpoint {
  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    const buffer = frameBytes(data);
    outlet.frames(isBinary ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer : buffer.toString("utf8"));
  });
  ws.on("close", (code: number, reason: Buffer) => outlet.close(code, reason.toString()));
  ws.on("error", () => {}); // a close follows
  return {
    deliver: (data) => ws.send(data),
    close: (code, reason) => closeSafely((code, reason) => ws.close(code, reason), code, reason, () => ws.terminate()),
  };
}

/**
 * A WebSocketPair whose client end goes into a 101 response with the owner's 101 `headers` (the
 * server splices it to the network as it does any worker's, answering with those) and whose other end
 * relays through `outlet`.
 */
export function edgeOfPair(outlet: RelayOutlet, headers: HeadersInit = []): { response: Response; edge: EdgeEndpoint } {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.addEventListener("message", (event) => outlet.frames((event as MessageEvent<string | ArrayBuffer>).data));
  server.addEventListener("close", (event) => {
    const { code, reason } = event as unknown as { code: number; reason: string };
    outlet.close(code, reason);
  });
  installWorkersGlobals(); // the Workers runtime's Response, which takes a 101 with a webSocket
  const response = new Response(null, { status: 101, webSocket: client, headers } as WorkersResponseInit);
  return {
    response,
    edge: {
      deliver: (data) => server.send(data),
      // A pair's end cannot drop its connection: an abnormal closure (1006) leaves as a close with no code.
      close: (code, reason) => closeSafely((code, reason) => server.close(code, reason), code, reason, () => server.close()),
    },
  };
}

/**
 * Closes the client's socket as the agent closed its end: 1005 (no code) as a close without one, 1006
 * (abnormal) with `abort`. This runs inside the link's message handler, so it never throws: a close
 * the socket refuses is logged and the socket closed without a code instead.
 */
function closeSafely(close: (code?: number, reason?: string) => void, code: number, reason: string, abort: () => void): void {
  try {
    if (code === 1005) close();
    else if (code === 1006) abort();
    else close(code, reason);
  } catch (error) {
    console.error(`[hearth] a relayed WebSocket could not be closed with code ${code}:`, error instanceof Error ? error.message : error);
    try {
      close();
    } catch {
      // already closed
    }
  }
}
