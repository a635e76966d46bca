import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { parseJSONRPCMessage, type AuthInfo, type JSONRPCMessage, type Transport } from "@modelcontextprotocol/server";
import { jsonRpcError } from "./responses.ts";

const encoder = new TextEncoder();

/** Bytes of events a legacy SSE stream keeps for a client that does not read them (option `maxSseBufferBytes`). */
export const MAX_MCP_SSE_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * The legacy HTTP+SSE transport (protocol 2024-11-05): the client holds a GET event stream, learns
 * from its first `endpoint` event where to POST, and receives every reply on the stream. The session
 * lives exactly as long as the stream; it cannot be resumed.
 */
export class SseServerTransport implements Transport {
  readonly sessionId: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport["onmessage"];
  readonly #endpoint: string;
  readonly #maxBufferBytes: number;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #closed = false;
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  /**
   * `endpoint`: the URL (path and query) the client must POST its messages to. `maxBufferBytes`: unread
   * output past which the stream is ended.
   */
  constructor(sessionId: string, endpoint: string, maxBufferBytes = MAX_MCP_SSE_BUFFER_BYTES) {
    this.sessionId = sessionId;
    this.#endpoint = endpoint;
    this.#maxBufferBytes = maxBufferBytes;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async start(): Promise<void> {}

  /**
   * The event stream for the GET that opened the session. Call once, after connecting the server.
   * `keepAliveMs`: interval of `: keepalive` comments (0: none).
   */
  response(keepAliveMs: number): Response {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        controller.enqueue(encoder.encode(`event: endpoint\ndata: ${this.#endpoint}\n\n`));
        if (keepAliveMs > 0) {
          this.#keepAlive = setInterval(() => this.#write(": keepalive\n\n"), keepAliveMs);
          this.#keepAlive.unref();
        }
      },
      cancel: () => void this.close(),
    }, { highWaterMark: this.#maxBufferBytes, size: (chunk) => chunk.byteLength });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", "x-accel-buffering": "no" },
    });
  }

  /** A message POSTed by the client: validated, handed to the server, answered 202 at once. */
  handlePost(body: unknown, authInfo: AuthInfo | undefined, request: Request): Response {
    if (this.#closed) return jsonRpcError(404, -32001, "Session not found: its SSE stream is closed");
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(body);
    } catch (error) {
      this.onerror?.(error as Error);
      return jsonRpcError(400, -32600, `Invalid JSON-RPC message: ${(error as Error).message}`);
    }
    this.onmessage?.(message, { request, ...(authInfo ? { authInfo } : {}) });
    return new Response("Accepted", { status: 202 });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) throw new Error("The SSE stream of this session is closed");
    this.#write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
    if (this.#closed) throw new Error(`The SSE stream of this session was closed: more than ${this.#maxBufferBytes} bytes unread (maxSseBufferBytes)`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepAlive);
    try {
      this.#controller?.close();
    } catch {
      // Already closed by the client going away.
    }
    this.onclose?.();
  }

  #write(text: string): void {
    const controller = this.#controller;
    if (this.#closed || controller === undefined) return;
    // Events queue here until the client reads them; one that never reads would grow it without end.
    if ((controller.desiredSize ?? 0) < 0) {
      this.#overflow(controller);
      return;
    }
    try {
      controller.enqueue(encoder.encode(text));
    } catch {
      void this.close();
    }
  }

  #overflow(controller: ReadableStreamDefaultController<Uint8Array>): void {
    const error = new Error(
      `MCP SSE session ${this.sessionId} closed: its client left more than ${this.#maxBufferBytes} bytes unread (maxSseBufferBytes)`,
    );
    this.#closed = true;
    clearInterval(this.#keepAlive);
    // error() drops what is queued at once; close() would keep it until the client read it.
    controller.error(error);
    this.onerror?.(error);
    this.onclose?.();
  }
}
