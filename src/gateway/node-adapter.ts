import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

/** Builds a web-standard Request from Node's IncomingMessage. */
export function toRequest(incoming: IncomingMessage, origin: string, signal?: AbortSignal): Request {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = incoming.method ?? "GET";
  // A body stream only when there can be a body: wrapping every POST costs more than the request.
  const hasBody =
    method !== "GET" &&
    method !== "HEAD" &&
    (incoming.headers["transfer-encoding"] !== undefined || Number(incoming.headers["content-length"] ?? 0) > 0);
  const target = incoming.url ?? "/";
  return new Request(target.startsWith("/") ? origin + target : target, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
    signal: signal ?? null,
    // Required by fetch for streaming request bodies.
    duplex: hasBody ? "half" : undefined,
  } as RequestInit);
}

const PENDING = Symbol("pending");
const pending = Promise.resolve(PENDING);
type Read = ReadableStreamReadResult<Uint8Array>;

/** The read's result if it has already settled, else PENDING (without waiting for it). */
function ifReady(read: Promise<Read>): Promise<Read | typeof PENDING> {
  return Promise.race([read, pending]);
}

/**
 * Writes a web-standard Response to Node's ServerResponse. A body that is already complete (a string,
 * JSON, bytes) leaves in one write with a content-length; a stream (SSE, a model's tokens) sends its
 * headers at once and each chunk as it comes, with backpressure.
 */
export async function writeResponse(response: Response, outgoing: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    if (key !== "set-cookie") headers[key] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  const head = () => outgoing.writeHead(response.status, response.statusText || undefined, headers);
  if (response.body === null) {
    head();
    outgoing.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    let read = reader.read();
    const first = await ifReady(read);
    if (first !== PENDING) {
      if (first.done) {
        head();
        outgoing.end();
        return;
      }
      read = reader.read();
      const second = await ifReady(read);
      if (second !== PENDING && second.done) {
        if (headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
          headers["content-length"] = String(first.value.byteLength);
        }
        head();
        outgoing.end(first.value);
        return;
      }
      head();
      outgoing.write(first.value);
    } else {
      // Nothing to send yet (an SSE stream waiting for its first event): the client gets the status
      // and headers now rather than with the first chunk.
      head();
      outgoing.flushHeaders();
    }
    await pipeRest(reader, read, outgoing);
  } catch (error) {
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function pipeRest(reader: ReadableStreamDefaultReader<Uint8Array>, next: Promise<Read>, outgoing: ServerResponse) {
  const abort = () => void reader.cancel().catch(() => {});
  outgoing.once("close", abort);
  try {
    for (let read = next; ; read = reader.read()) {
      const { done, value } = await read;
      if (done) break;
      if (!outgoing.write(value)) await new Promise<void>((resolve) => outgoing.once("drain", resolve));
      if (outgoing.destroyed) return;
    }
    outgoing.end();
  } finally {
    outgoing.off("close", abort);
  }
}

/** Writes a Response on a raw socket (an upgrade request that was refused) and closes it. */
export async function writeRawResponse(response: Response, socket: NodeJS.WritableStream & { destroy(): void }): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || statusText(response.status)}`];
  response.headers.forEach((value, key) => {
    if (key !== "content-length" && key !== "connection") lines.push(`${key}: ${value}`);
  });
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.write(lines.join("\r\n"));
  socket.end(body);
}

function statusText(status: number): string {
  const known: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable" };
  return known[status] ?? "Error";
}
