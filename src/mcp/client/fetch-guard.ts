/**
 * The `fetch` every transport of the MCP client uses: response bodies are capped (a whole body, or
 * one event of an event stream), and a body over the cap errors with a message naming the limit.
 * The call that was waiting for that body learns it at once (the connection fails the operation found
 * through {@link operationScope}), rather than at its timeout.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { McpClientError } from "./errors.ts";

/** One request to a server (a call, a listing, the handshake) that can be failed from outside. */
export interface Operation {
  /** True once the operation settled: a late failure then belongs to the connection, not to it. */
  readonly done: boolean;
  fail(error: Error): void;
}

/** The operation whose requests are being made: follows the SDK's promise chains across awaits. */
export const operationScope = new AsyncLocalStorage<Operation>();

export interface FetchGuardOptions {
  /** Largest body, or event of an event stream, in bytes (the `maxResponseBytes` limit). */
  maxBytes: number;
  /** How errors name the server, e.g. `MCP server "docs"`. */
  label: string;
  serverId: string;
  /**
   * Told about every body over the cap, with the operation that made the request (undefined, or
   * done, for a stream that outlived it).
   */
  onViolation(error: McpClientError, operation: Operation | undefined): void;
  /** The underlying fetch (default: the global one). */
  fetch?: typeof fetch;
}

/**
 * Wraps `fetch` so that no response body can exceed `maxBytes`.
 * @example
 * const guarded = guardFetch({ maxBytes: 8 << 20, label: 'MCP server "docs"', serverId, onViolation });
 * new StreamableHTTPClientTransport(url, { fetch: guarded });
 */
export function guardFetch(options: FetchGuardOptions): typeof fetch {
  const base = options.fetch ?? fetch;
  return async (input, init) => {
    const operation = operationScope.getStore();
    const violation = (what: string) => {
      const error = new McpClientError(
        "limit",
        `${options.label} sent ${what} larger than ${options.maxBytes} bytes (maxResponseBytes); it was cut off`,
        { serverId: options.serverId },
      );
      options.onViolation(error, operation);
      return error;
    };
    const response = await base(input, init);
    if (response.body === null || (response.status >= 300 && response.status < 400)) return response;
    const declared = Number(response.headers.get("content-length") ?? NaN);
    if (declared > options.maxBytes) {
      await response.body.cancel().catch(() => {});
      throw violation("a response");
    }
    const stream = (response.headers.get("content-type") ?? "").toLowerCase().includes("text/event-stream");
    const limited = response.body.pipeThrough(
      stream ? perEventLimit(options.maxBytes, () => violation("an event")) : totalLimit(options.maxBytes, () => violation("a response")),
    );
    const wrapped = new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
    Object.defineProperty(wrapped, "url", { value: response.url });
    return wrapped;
  };
}

/** Errors the stream once more than `max` bytes went through. */
function totalLimit(max: number, exceeded: () => Error): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > max) controller.error(exceeded());
      else controller.enqueue(chunk);
    },
  });
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Errors the stream when one server-sent event (the bytes between two blank lines) exceeds `max`.
 * Events end at an empty line (`\n\n` or `\r\n\r\n`); a stream ending lines with a bare `\r` counts
 * as one long event.
 */
function perEventLimit(max: number, exceeded: () => Error): TransformStream<Uint8Array, Uint8Array> {
  let size = 0;
  let atLineStart = false;
  return new TransformStream({
    transform(chunk, controller) {
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i]!;
        if (byte === CR) continue;
        if (byte === LF) {
          if (atLineStart) size = 0;
          atLineStart = true;
          continue;
        }
        atLineStart = false;
        if (++size > max) {
          controller.error(exceeded());
          return;
        }
      }
      controller.enqueue(chunk);
    },
  });
}
