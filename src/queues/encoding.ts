import { serialize } from "node:v8";
import { deserializeClone } from "../web/structured-clone.ts";
import type { QueueContentType } from "./types.ts";

const CONTENT_TYPES: ReadonlySet<string> = new Set<QueueContentType>(["text", "bytes", "json", "v8"]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Checks a `contentType` option; like Cloudflare's runtime, the case does not matter.
 *
 * @throws TypeError "Unsupported queue message content type: …"
 */
export function checkContentType(value: unknown): QueueContentType {
  const lower = typeof value === "string" ? value.toLowerCase() : value;
  if (typeof lower !== "string" || !CONTENT_TYPES.has(lower)) {
    throw new TypeError(`Unsupported queue message content type: ${String(value)}`);
  }
  return lower as QueueContentType;
}

/**
 * Serialises a message body for its content type, as Cloudflare's runtime does. The result is what
 * the size limits measure and what is stored.
 *
 * @throws TypeError when the body does not fit the content type (the texts are Cloudflare's)
 * @example
 * encodeBody({ n: 1 }, "json"); // the UTF-8 bytes of '{"n":1}'
 * encodeBody(42, "text");        // throws: Content Type "text" requires a value of type string, but received: number
 */
export function encodeBody(body: unknown, contentType: QueueContentType): Uint8Array {
  if (body === undefined) throw new TypeError("Message body cannot be undefined");
  switch (contentType) {
    case "text":
      if (typeof body !== "string") throw mismatch("text", "string", body);
      return encoder.encode(body);
    case "bytes":
      if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
      if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
      throw mismatch("bytes", "ArrayBuffer or ArrayBufferView", body);
    case "json":
      return encoder.encode(toJson(body));
    case "v8":
      try {
        return serialize(body);
      } catch (error) {
        throw new TypeError(`Content Type "v8" requires a structured-cloneable value: ${reason(error)}`, { cause: error });
      }
  }
}

/**
 * Turns stored bytes back into the body the consumer sees: a string for `text`, a parsed value for
 * `json`, an ArrayBuffer for `bytes`, the structured clone for `v8`.
 */
export function decodeBody(bytes: Uint8Array, contentType: QueueContentType): unknown {
  switch (contentType) {
    case "text":
      return decoder.decode(bytes);
    case "json":
      return JSON.parse(decoder.decode(bytes));
    case "bytes":
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    case "v8":
      return deserializeClone(bytes);
  }
}

function toJson(body: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(body);
  } catch (error) {
    throw new TypeError(`Content Type "json" requires a JSON-serialisable value: ${reason(error)}`, { cause: error });
  }
  // JSON.stringify gives undefined for a function or a symbol: nothing could be delivered.
  if (text === undefined) throw new TypeError(`Content Type "json" requires a JSON-serialisable value, but received: ${typeof body}`);
  return text;
}

function mismatch(contentType: QueueContentType, expected: string, body: unknown): TypeError {
  const received = body === null ? "null" : typeof body;
  return new TypeError(`Content Type "${contentType}" requires a value of type ${expected}, but received: ${received}`);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
