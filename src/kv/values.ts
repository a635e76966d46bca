import { PUT_VALUE_TYPES, valueTooLarge } from "./errors.ts";
import { KV_LIMITS } from "./limits.ts";
import type { StoredValue } from "./backend.ts";

/** What `put` accepts as a value. */
export type KvPutValue = string | ArrayBuffer | ArrayBufferView | ReadableStream;

/** The types a value can be read as. */
export type KvValueType = "text" | "json" | "arrayBuffer" | "stream";

const encoder = new TextEncoder();

/**
 * The value to store for a `put`, checked against the size limit. Strings stay strings; bytes are
 * viewed, not copied (SQLite copies them when bound). A stream is read to its end first.
 */
export function toStoredValue(value: unknown): StoredValue | Promise<StoredValue> {
  if (typeof value === "string") return checkStringSize(value);
  // workerd takes any primitive as a string; undefined, null and symbols are refused as mistakes.
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof ArrayBuffer) return checkBytesSize(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return checkBytesSize(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof ReadableStream) return readStream(value);
  throw new TypeError(PUT_VALUE_TYPES);
}

function checkStringSize(value: string): string {
  if (value.length * 3 > KV_LIMITS.maxValueBytes) {
    const bytes = Buffer.byteLength(value);
    if (bytes > KV_LIMITS.maxValueBytes) throw valueTooLarge(bytes);
  }
  return value;
}

function checkBytesSize(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength > KV_LIMITS.maxValueBytes) throw valueTooLarge(bytes.byteLength);
  return bytes;
}

/**
 * Reads a stream value to its end. Past the size limit the rest is still read (not kept), so the
 * error can give the value's full length, as Cloudflare's does.
 */
async function readStream(stream: ReadableStream): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = toChunk(value);
      total += chunk.byteLength;
      if (total <= KV_LIMITS.maxValueBytes) chunks.push(chunk);
    }
  } catch (error) {
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (total > KV_LIMITS.maxValueBytes) throw valueTooLarge(total);
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function toChunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError("KV put(): this ReadableStream did not return bytes (its chunks must be Uint8Arrays or other ArrayBufferViews).");
}

/** The stored value's size in bytes. */
export function storedSize(value: StoredValue): number {
  return typeof value === "string" ? Buffer.byteLength(value) : value.byteLength;
}

/** The stored value as text (bytes decoded as UTF-8, a byte-order mark kept, as workerd keeps it). */
export function asText(value: StoredValue): string {
  return typeof value === "string" ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
}

/** The stored value read as `type`; a JSON syntax error is thrown as JSON.parse throws it. */
export function readAs(value: StoredValue, type: KvValueType): unknown {
  switch (type) {
    case "text":
      return asText(value);
    case "json":
      return JSON.parse(asText(value));
    case "arrayBuffer":
      return ownArrayBuffer(value);
    case "stream":
      return streamOf(typeof value === "string" ? encoder.encode(value) : value);
  }
}

/** A fresh ArrayBuffer holding exactly the value (never a view of a shared pool). */
function ownArrayBuffer(value: StoredValue): ArrayBuffer {
  if (typeof value === "string") return encoder.encode(value).buffer as ArrayBuffer;
  const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer;
  // A copy by the Uint8Array constructor: a Buffer's `slice` would be a view of its (pooled) memory.
  return whole ? (value.buffer as ArrayBuffer) : (new Uint8Array(value).buffer as ArrayBuffer);
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
