import { KV_LIMITS } from "./limits.ts";

/** The operation named in an error, as workerd names it ("KV GET failed: …"). `list` reports GET. */
export type KvMethod = "GET" | "GET_BULK" | "PUT" | "DELETE";

/**
 * An error as a Worker sees it when KV refuses a request: workerd turns the HTTP status into
 * `Error("KV <METHOD> failed: <status> <reason>")`. The texts are Miniflare's (wrangler dev).
 */
export function kvFailure(method: KvMethod, status: number, reason: string): Error {
  return new Error(`KV ${method} failed: ${status} ${reason}`);
}

/** The byte length of a key over the limit, in the text workerd uses. */
export function keyTooLong(method: KvMethod, bytes: number): Error {
  return kvFailure(method, 414, `UTF-8 encoded length of ${bytes} exceeds key length limit of ${KV_LIMITS.maxKeyBytes}.`);
}

export function valueTooLarge(bytes: number): Error {
  return kvFailure("PUT", 413, `Value length of ${bytes} exceeds limit of ${KV_LIMITS.maxValueBytes}.`);
}

export const PUT_VALUE_TYPES = "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";

export const UNKNOWN_RESPONSE_TYPE = 'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".';
