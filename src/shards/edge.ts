import type { WebSocket } from "ws";
import { installWorkersGlobals } from "../websocket/globals.ts";
import type { WorkersResponseInit } from "../websocket/response.ts";
import { WebSocketPair } from "../websocket/socket.ts";
import type { RelayOutlet } from "./relay-socket.ts";

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
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    outlet.frames(isBinary ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer : buffer.toString("utf8"));
  });
  ws.on("close", (code: number, reason: Buffer) => outlet.close(code, reason.toString()));
  ws.on("error", () => {}); // a close follows
  return {
    deliver: (data) => ws.send(data),
    close: (code, reason) => ws.close(code === 1005 ? undefined : code, code === 1005 ? undefined : reason),
  };
}

/**
 * A WebSocketPair whose client end goes into a 101 response (the server splices it to the network as
 * it does any worker's) and whose other end relays through `outlet`.
 */
export function edgeOfPair(outlet: RelayOutlet): { response: Response; edge: EdgeEndpoint } {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.addEventListener("message", (event) => outlet.frames((event as MessageEvent<string | ArrayBuffer>).data));
  server.addEventListener("close", (event) => {
    const { code, reason } = event as unknown as { code: number; reason: string };
    outlet.close(code, reason);
  });
  installWorkersGlobals(); // the Workers runtime's Response, which takes a 101 with a webSocket
  const response = new Response(null, { status: 101, webSocket: client } as WorkersResponseInit);
  return {
    response,
    edge: {
      deliver: (data) => server.send(data),
      close: (code, reason) => server.close(code === 1005 ? undefined : code, code === 1005 ? undefined : reason),
    },
  };
}
