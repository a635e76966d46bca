/**
 * The server's limit on request bodies (`LIMITS.maxRequestBodyBytes`, 100 MiB, as Cloudflare's):
 * a declared length past it is refused with 413 before anything is read; a chunked body is counted
 * as it is read (incoming-body.ts) and its stream fails past it.
 */
import type { ServerResponse } from "node:http";

/** The error a body stream fails with past `maxBytes`: the request's 413 says the same. */
export class RequestBodyTooLargeError extends RangeError {
  override name = "RequestBodyTooLargeError";
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super(tooLargeMessage(maxBytes));
    this.maxBytes = maxBytes;
  }
}

/**
 * Answers 413 (and closes the connection) when a request declares a body (`declared`, its
 * Content-Length; Infinity when chunked) longer than `maxBytes`; returns whether it did. The body is
 * not read: a client that declares 1 TB is not waited for.
 * @example if (refuseDeclaredBody(declaredBodyLength(incoming.rawHeaders), outgoing, limit)) return;
 */
export function refuseDeclaredBody(declared: number, outgoing: ServerResponse, maxBytes: number): boolean {
  if (declared <= maxBytes || declared === Number.POSITIVE_INFINITY) return false;
  const body = JSON.stringify({ error: tooLargeMessage(maxBytes, declared) });
  outgoing.shouldKeepAlive = false; // the body is still coming: nothing more can be read on this connection
  outgoing.writeHead(413, ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))]).end(body);
  return true;
}

/** The 413 for a request whose body went past `maxBytes` while it was read. */
export function bodyTooLargeResponse(maxBytes: number): Response {
  return Response.json({ error: tooLargeMessage(maxBytes) }, { status: 413 });
}

/**
 * Checks a `maxRequestBodyBytes` option: a whole number of bytes, at least 0.
 * @example checkedBodyLimit(undefined) // LIMITS.maxRequestBodyBytes
 */
export function checkedBodyLimit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`maxRequestBodyBytes must be a whole number of bytes, at least 0 (got ${value})`);
  return value;
}

function tooLargeMessage(maxBytes: number, declared?: number): string {
  const size = declared === undefined ? "larger than" : `${declared} bytes, more than`;
  return `Request body too large: ${size} the limit of ${maxBytes} bytes (maxRequestBodyBytes)`;
}
