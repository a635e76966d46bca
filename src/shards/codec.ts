/**
 * Requests and responses as plain values that cross a MessagePort (structured clone):
 * what one shard hands another. Bodies of requests are read whole (bounded); response bodies stream
 * as chunks (see link.ts), so a server-sent event stream still arrives event by event. Errors: see
 * error-wire.ts.
 */
import { UPGRADE_MARKER_HEADER } from "../host/upgrade.ts";

/** The largest request body forwarded to another shard: Cloudflare's request body limit on the free plan. */
export const MAX_FORWARDED_BODY_BYTES = 100 * 1024 * 1024;

export interface WireRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Array<[string, string]>;
  readonly body: Uint8Array | null;
}

/**
 * A request as Node received it, handed whole to the thread that answers it (see hand-off.ts): the
 * target (`/path?query`), the origin of its URL as the receiving server saw it (only that server
 * knows whether its peer is a trusted proxy), Node's raw header list (name, value, name, value …) and
 * the complete body.
 */
export interface WireHandedRequest {
  readonly method: string;
  readonly target: string;
  readonly origin: string;
  readonly rawHeaders: string[];
  readonly body: Uint8Array | null;
}

export interface WireResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Array<[string, string]>;
}

/** Reads `request` into a {@link WireRequest}; a body over the limit fails with a message that names it. */
export async function requestToWire(request: Request): Promise<WireRequest> {
  let body: Uint8Array | null = null;
  if (request.body !== null) {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > MAX_FORWARDED_BODY_BYTES) throw bodyTooLarge(declared);
    body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_FORWARDED_BODY_BYTES) throw bodyTooLarge(body.byteLength);
  }
  return { method: request.method, url: request.url, headers: [...request.headers], body };
}

export function requestFromWire(wire: WireRequest, signal?: AbortSignal): Request {
  const hasBody = wire.body !== null && wire.method !== "GET" && wire.method !== "HEAD";
  return new Request(wire.url, {
    method: wire.method,
    headers: wire.headers,
    ...(hasBody ? { body: wire.body as Uint8Array<ArrayBuffer> } : {}),
    ...(signal ? { signal } : {}),
  });
}

export function responseHead(response: Response): WireResponseHead {
  return { status: response.status, statusText: response.statusText, headers: [...response.headers] };
}

/**
 * The head of an accepted upgrade's response, whose headers another thread's server answers the
 * client's handshake with: all of them (those a worker added to a copy of an agent's 101 too), as this
 * thread's server would send them, but Hearth's marker of an agent's upgrade, which is never sent.
 */
export function upgradeHead(response: Response): WireResponseHead {
  const headers = [...response.headers].filter(([name]) => name !== UPGRADE_MARKER_HEADER);
  return { status: response.status, statusText: response.statusText, headers };
}

/** A Response whose body is `body` (a stream fed by the link), or none for statuses that have none. */
export function responseFromWire(head: WireResponseHead, body: ReadableStream<Uint8Array> | null): Response {
  const bodiless = head.status === 204 || head.status === 205 || head.status === 304 || (head.status >= 100 && head.status < 200);
  return new Response(bodiless ? null : body, { status: head.status, statusText: head.statusText, headers: head.headers });
}

/** The error of a body over MAX_FORWARDED_BODY_BYTES (a 413's message when a server hands a request over). */
export function bodyTooLarge(bytes: number): RangeError {
  return new RangeError(`A request body of ${bytes} bytes cannot be handed to another thread: the limit is ${MAX_FORWARDED_BODY_BYTES} bytes (MAX_FORWARDED_BODY_BYTES)`);
}

/** `wire` with `headers` set (replacing any of the same name). */
export function withHeaders(wire: WireRequest, headers: ReadonlyArray<[string, string]> | undefined): WireRequest {
  if (!headers || headers.length === 0) return wire;
  const names = new Set(headers.map(([name]) => name));
  return { ...wire, headers: [...wire.headers.filter(([name]) => !names.has(name)), ...headers] };
}
