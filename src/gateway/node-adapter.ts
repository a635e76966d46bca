import { validateHeaderName, validateHeaderValue, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { abortableRequest, type AbortableRequest } from "./abortable-request.ts";
import { appendRawHeaders } from "../web/raw-headers.ts";
import { incomingBody } from "./incoming-body.ts";
import { takeCompleteBody } from "../web/complete-body-response.ts";
import { LIMITS } from "../limits.ts";
import { pathnameOf } from "../web/url-path.ts";
import { readAtMost } from "./bounded-body.ts";

/**
 * Builds a web-standard Request from Node's IncomingMessage; its body stream fails past `maxBodyBytes`
 * (see incomingBody).
 */
export function toRequest(incoming: IncomingMessage, origin: string, signal?: AbortSignal, maxBodyBytes = Number.POSITIVE_INFINITY): Request {
  const { url, init } = requestInit(incoming, origin, maxBodyBytes);
  init.signal = signal ?? null;
  const request = new Request(url, init);
  appendRawHeaders(request.headers, incoming.rawHeaders);
  return request;
}

/**
 * {@link toRequest} for the gateway: the request's signal is aborted by calling `abort()` (when the
 * client goes away), which costs far less per request than a signal passed in (see abortable-request.ts).
 */
export function toAbortableRequest(incoming: IncomingMessage, origin: string, maxBodyBytes = Number.POSITIVE_INFINITY): AbortableRequest {
  const { url, init } = requestInit(incoming, origin, maxBodyBytes);
  return abortableRequest(url, init, incoming.rawHeaders);
}

/**
 * The Request (and its abort) of a request another thread received and handed over whole: its method,
 * target (`/path?query`), Node's raw header list and its complete body.
 */
export function handedRequest(method: string, target: string, rawHeaders: readonly string[], body: Uint8Array | null, origin: string): AbortableRequest {
  const hasBody = body !== null && method !== "GET" && method !== "HEAD";
  const init = { method, body: hasBody ? (body as Uint8Array<ArrayBuffer>) : null } as RequestInit;
  return abortableRequest(urlOf(target, origin), init, rawHeaders);
}

/**
 * The length of the body a request declares in Node's raw header list: Infinity when chunked, 0 when
 * it has none. Read from the raw list because Node builds `incoming.headers` on first read.
 */
export function declaredBodyLength(rawHeaders: readonly string[]): number {
  let length = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return Number.POSITIVE_INFINITY;
    if (name.length === 14 && name.toLowerCase() === "content-length") length = Number(rawHeaders[i + 1]) || 0;
  }
  return length;
}

function requestInit(incoming: IncomingMessage, origin: string, maxBodyBytes: number): { url: string; init: RequestInit } {
  const raw = incoming.rawHeaders;
  const method = incoming.method ?? "GET";
  const url = urlOf(incoming.url ?? "/", origin);
  // A body stream only when there can be a body: wrapping every POST costs more than the request.
  const hasBody = method !== "GET" && method !== "HEAD" && declaredBodyLength(raw) > 0;
  const init = {
    method,
    body: hasBody ? incomingBody(incoming, maxBodyBytes) : null,
    // Required by fetch for streaming request bodies.
    duplex: hasBody ? "half" : undefined,
  } as RequestInit;
  return { url, init };
}

/**
 * The URL of a request for `target` (its request line's) on `origin` (the one arrival.ts computed
 * from the Host header and a trusted proxy's scheme). An absolute-form target (`http://other/path?q`,
 * what clients send to proxies) counts for its path and query only: a client cannot name another host
 * or scheme than the Host check and the proxy allow. Any other form (`*`, another scheme) throws.
 * @example urlOf("https://bank.example/info?a=1", "http://app.example") // "http://app.example/info?a=1"
 */
export function urlOf(target: string, origin: string): string {
  if (target.charCodeAt(0) === 0x2f) return origin + target; // "/": the origin form every client sends a server
  const authority = /^https?:\/\/[^/?#]*/i.exec(target);
  if (authority === null) throw new TypeError(`the request target must be a path or an http(s) URL, not ${JSON.stringify(target.slice(0, 100))}`);
  const rest = target.slice(authority[0].length);
  return origin + (rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`);
}

/**
 * Headers of a response that concern one connection only (RFC 9110 §7.6.1): never passed on from a
 * worker's response, which may be an upstream's (`return fetch(…)`) with its own connection's
 * `Connection` and `Keep-Alive`. The server frames the body itself (length or chunks) and speaks for
 * its own connection; `Upgrade` goes only with a 101, which is written elsewhere.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "proxy-connection", "proxy-authenticate", "proxy-authorization"]);

/**
 * A response's headers as the flat [name, value, name, value…] list Node takes as is (each Set-Cookie
 * on its own), without hop-by-hop headers ({@link HOP_BY_HOP}, and those its `Connection` names), and
 * whether they frame the body themselves (a content-length: see sendable-response.ts, which leaves
 * one only when it is true).
 */
export function nodeHeaders(entries: Iterable<[string, string]>): { headers: string[]; framed: boolean } {
  const headers: string[] = [];
  let framed = false;
  let connection: string | undefined;
  for (const [name, value] of entries) {
    if (HOP_BY_HOP.has(name)) {
      if (name === "connection") connection = value;
      continue;
    }
    headers.push(name, value);
    if (name === "content-length") framed = true;
  }
  if (connection !== undefined) dropNamed(headers, connection);
  return { headers, framed };
}

/** Removes from a flat header list the headers a `Connection` value names (`Connection: x-hop` makes `x-hop` hop-by-hop). */
function dropNamed(headers: string[], connection: string): void {
  const named = new Set(connection.split(",").map((token) => token.trim().toLowerCase()));
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (named.has(headers[i]!)) headers.splice(i, 2);
  }
}

const PENDING = Symbol("pending");
const pending = Promise.resolve(PENDING);
type Read = ReadableStreamReadResult<Uint8Array>;

/** The read's result if it has already settled, else PENDING (without waiting for it). */
function ifReady(read: Promise<Read>): Promise<Read | typeof PENDING> {
  return Promise.race([read, pending]);
}

/** What {@link writeResponse} does with a response it cannot send (logged as `[hearth] GET /path: …` either way). */
export interface WriteFailureOptions {
  /** Whether the 500 sent in its place carries the failure's message (`hearth dev`). Default: `Internal Server Error`. */
  expose?: boolean;
}

/**
 * Writes a web-standard Response to Node's ServerResponse. A body that is already complete (a string,
 * JSON, bytes) leaves in one write with a content-length; a stream (SSE, a model's tokens) sends its
 * headers at once and each chunk as it comes, with backpressure.
 *
 * A response that cannot be sent is logged, never a silent reset: before its head went out (a header
 * value Node refuses, a body that fails before its first chunk) the client gets a 500 instead; after,
 * the connection is closed (the client sees a cut response). Never rejects.
 */
export async function writeResponse(response: Response, outgoing: ServerResponse, failure: WriteFailureOptions = {}): Promise<void> {
  const { headers, framed } = nodeHeaders(response.headers);
  const head = () => outgoing.writeHead(response.status, response.statusText || undefined, headers);
  /** A body known whole: one write, with its length unless the headers frame it already. */
  const endWhole = (whole: string | Uint8Array) => {
    if (!framed) headers.push("content-length", String(typeof whole === "string" ? Buffer.byteLength(whole) : whole.byteLength));
    head();
    outgoing.end(whole);
  };
  let body: ReadableStream<Uint8Array> | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const text = takeCompleteBody(response);
    if (text !== undefined) return endWhole(text);
    body = response.body;
    if (body === null) {
      head();
      outgoing.end();
      return;
    }
    // The client went away before the answer was ready: the body is for nobody (an endless stream
    // would otherwise be read until the process ends).
    if (outgoing.destroyed) return void body.cancel().catch(() => {});
    reader = body.getReader();
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
      if (second !== PENDING && second.done) return endWhole(first.value);
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
    void (reader ?? body)?.cancel().catch(() => {});
    writeFailed(error instanceof Error ? error : new Error(String(error)), outgoing, failure);
  }
}

/** A response that could not be sent: logged, and a 500 in its place while its head has not gone out. */
function writeFailed(error: Error, outgoing: ServerResponse, failure: WriteFailureOptions): void {
  if (outgoing.destroyed) return; // the client went away: nobody to tell
  const request = `${outgoing.req.method ?? "GET"} ${pathnameOf(outgoing.req.url ?? "/")}`;
  if (outgoing.headersSent) {
    console.error(`[hearth] ${request}: the response was cut off after its head was sent:`, error);
    outgoing.destroy(error);
    return;
  }
  console.error(`[hearth] ${request}: the response could not be sent, a 500 went in its place:`, error);
  const body = JSON.stringify({ error: failure.expose === true ? error.message : "Internal Server Error" });
  try {
    // Its reason given: the refused head left its own ("OK") as the response's statusMessage.
    outgoing.writeHead(500, "Internal Server Error", ["content-type", "application/json", "content-length", String(Buffer.byteLength(body))]).end(body);
  } catch {
    outgoing.destroy(error);
  }
}

/** Resolves when `outgoing` takes more, or closes (a client gone while its buffer was full sends no "drain"). */
function drainedOrClosed(outgoing: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      outgoing.off("drain", done);
      outgoing.off("close", done);
      resolve();
    };
    outgoing.on("drain", done);
    outgoing.on("close", done);
  });
}

async function pipeRest(reader: ReadableStreamDefaultReader<Uint8Array>, next: Promise<Read>, outgoing: ServerResponse) {
  const abort = () => void reader.cancel().catch(() => {});
  if (outgoing.destroyed) return abort(); // closed while the first chunk was awaited: no close event is coming
  outgoing.once("close", abort);
  try {
    for (let read = next; ; read = reader.read()) {
      const { done, value } = await read;
      if (done) break;
      if (!outgoing.write(value)) await drainedOrClosed(outgoing);
      if (outgoing.destroyed) return;
    }
    outgoing.end();
  } finally {
    outgoing.off("close", abort);
  }
}

/**
 * Writes a Response on a raw socket (an upgrade request that was refused) and closes it. At most
 * `LIMITS.maxRefusedUpgradeBodyBytes` of its body are read and sent (an error page, not a download);
 * the rest is cancelled, and so is the body when the client goes away first. A header Node would
 * refuse makes it a 500, logged with `request` (`GET /path`).
 */
export async function writeRawResponse(response: Response, socket: Duplex, request = "upgrade"): Promise<void> {
  const body = await boundedBody(response, socket);
  if (socket.destroyed) return; // the client went away
  const { headers } = nodeHeaders(response.headers);
  const problem = invalidHeader(response.headers);
  if (problem !== undefined) {
    return writeRawResponse(unsendable(request, problem), socket, request);
  }
  const lines = [`HTTP/1.1 ${response.status} ${response.statusText || statusText(response.status)}`];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] !== "content-length") lines.push(`${headers[i]}: ${headers[i + 1]}`);
  lines.push(`content-length: ${body.length}`, "connection: close", "", "");
  socket.write(lines.join("\r\n"));
  socket.end(body);
}

/** The error Node would throw for a header it cannot write (a control character in a value, say), if any. */
export function invalidHeader(headers: Iterable<[string, string]>): Error | undefined {
  try {
    for (const [name, value] of headers) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Up to LIMITS.maxRefusedUpgradeBodyBytes of a response's body; reading stops (the body is cancelled) there or when the socket closes. */
async function boundedBody(response: Response, socket: Duplex): Promise<Buffer> {
  const text = takeCompleteBody(response);
  if (text !== undefined) return Buffer.from(text).subarray(0, LIMITS.maxRefusedUpgradeBodyBytes);
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  // A client that ends its side is gone too: an upgrade's socket is not closed for it (Node's HTTP
  // server keeps connections half-open), and the body would be awaited for nobody.
  const ended = () => socket.destroy();
  socket.once("close", stop);
  socket.once("end", ended);
  try {
    return await readAtMost(reader, LIMITS.maxRefusedUpgradeBodyBytes, () => socket.destroyed);
  } finally {
    socket.off("close", stop);
    socket.off("end", ended);
  }
}

function statusText(status: number): string {
  const known: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable" };
  return known[status] ?? "Error";
}

/**
 * The 500 sent in place of a response that cannot be written (a header Node refuses), its reason
 * logged with the request: with `expose` (`hearth dev`) the body says why.
 * @example return unsendable("GET /x", new TypeError("Invalid character in header content"));
 */
export function unsendable(request: string, error: Error, expose = false): Response {
  console.error(`[hearth] ${request}: the response could not be sent, a 500 went in its place:`, error);
  return Response.json({ error: expose ? error.message : "Internal Server Error" }, { status: 500 });
}
