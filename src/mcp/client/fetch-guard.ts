/**
 * The `fetch` every transport of the MCP client uses: response bodies are capped (a whole body, or
 * one event of an event stream), and a body over the cap errors with a message naming the limit.
 * The call that was waiting for that body learns it at once (the connection fails the operation found
 * through {@link operationScope}), rather than at its timeout.
 *
 * The body of a failed response (status 400 or more) never reaches the SDK: it is whatever the URL's
 * owner serves (an internal service's secrets, when a URL points inside the network), and the SDK
 * puts it in error messages, which end up in logs, frames and a model's context. See
 * {@link withheldBody} for what is kept.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { STATUS_CODES } from "node:http";
import { McpClientError } from "./errors.ts";
import { readStreamUpTo } from "../../gateway/bounded-body.ts";

/** The most of a failed JSON response read to find a standard error in it. */
const ERROR_BODY_BYTES = 16 * 1024;
/** An OAuth error code as registered (`invalid_grant`, `invalid_client_metadata`, …). */
const OAUTH_ERROR_CODE = /^[a-z][a-z_]{0,63}$/;

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
    if (response.status >= 400) return withheldBody(response);
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

/**
 * A failed response with its body and reason phrase replaced. Kept: the status with its standard
 * reason phrase, the headers (`WWW-Authenticate` drives authorization), and what the SDK acts on:
 * the `error` code of an OAuth error answer, and the `id` and `code` of a JSON-RPC error answered
 * with 400. Every message built from it reads like `HTTP 403 Forbidden`.
 */
async function withheldBody(response: Response): Promise<Response> {
  const phrase = STATUS_CODES[response.status] ?? "";
  const reason = `HTTP ${response.status}${phrase ? ` ${phrase}` : ""}`;
  const json = /^application\/([a-z0-9.+-]*\+)?json\b/i.test(response.headers.get("content-type") ?? "");
  const text = json ? await readUpTo(response.body, ERROR_BODY_BYTES) : (await response.body?.cancel().catch(() => {}), undefined);
  const standard = text === undefined ? undefined : standardError(text, response.status, reason);
  const headers = new Headers(response.headers);
  headers.delete("content-length");
  headers.delete("content-encoding");
  headers.set("content-type", standard ? "application/json" : "text/plain; charset=utf-8");
  const withheld = new Response(standard ? JSON.stringify(standard) : reason, { status: response.status, statusText: phrase, headers });
  Object.defineProperty(withheld, "url", { value: response.url });
  return withheld;
}

/** The standard error in a failed response's body, rebuilt from its codes alone; undefined for anything else. */
function standardError(text: string, status: number, reason: string): object | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const body = parsed as { error?: unknown; jsonrpc?: unknown; id?: unknown };
  if (typeof body.error === "string" && OAUTH_ERROR_CODE.test(body.error)) {
    return { error: body.error, error_description: `${body.error} (${reason})` };
  }
  const code = (body.error as { code?: unknown } | undefined)?.code;
  if (status === 400 && body.jsonrpc === "2.0" && (typeof body.id === "number" || body.id === null) && Number.isInteger(code)) {
    return { jsonrpc: "2.0", id: body.id, error: { code, message: reason } };
  }
  return undefined;
}

/** The first `max` bytes of a body as text; undefined when longer or unreadable. */
async function readUpTo(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | undefined> {
  return readStreamUpTo(body, max).catch(() => undefined);
}
