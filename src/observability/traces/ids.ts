import { randomFillSync } from "node:crypto";
import { TraceFlags, type SpanContext } from "@opentelemetry/api";

/**
 * Random hex digits drawn in blocks: one `randomFillSync` and one hex conversion per 512 ids, each id
 * then a slice of the block's text (half the cost of converting each id on its own).
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let digits = "";
let offset = 0;

function randomHex(bytes: number): string {
  const length = bytes * 2;
  if (offset + length > digits.length) {
    randomFillSync(pool);
    digits = pool.toString("hex");
    offset = 0;
  }
  const hex = digits.slice(offset, offset + length);
  offset += length;
  return hex;
}

const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** A new W3C trace id: 32 lowercase hex digits, never all zero. */
export function newTraceId(): string {
  const id = randomHex(16);
  return id === ZERO_TRACE ? newTraceId() : id;
}

/** A new span id: 16 lowercase hex digits, never all zero. */
export function newSpanId(): string {
  const id = randomHex(8);
  return id === ZERO_SPAN ? newSpanId() : id;
}

/**
 * A hex digit's value by its char code, -1 for anything else. Lower case only: ids are read back in
 * lower case, so an id in upper case must be kept as the text it is (else the store would index it
 * under one spelling and give it back under another).
 */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) HEX_VALUE[digit.toString(16).charCodeAt(0)] = digit;

/**
 * Writes the `bytes` bytes an id of `bytes * 2` hex digits stands for into `target` at `at`; false
 * (and nothing reliable written) when it is not that. A loop in JavaScript: for the 8 and 16 bytes of
 * an id it costs a fraction of `Buffer#write(…, "hex")`, whose call alone outweighs the work.
 * @example writeIdBytes(buffer, 0, "00f067aa0ba902b7", 8) // true: buffer[0..8) = 00 f0 67 aa 0b a9 02 b7
 */
export function writeIdBytes(target: Uint8Array, at: number, hex: string, bytes: number): boolean {
  if (hex.length !== bytes * 2) return false;
  for (let i = 0; i < bytes; i++) {
    const high = hex.charCodeAt(2 * i);
    const low = hex.charCodeAt(2 * i + 1);
    const value = ((high < 128 ? HEX_VALUE[high]! : -1) << 4) | (low < 128 ? HEX_VALUE[low]! : -1);
    if (value < 0) return false;
    target[at + i] = value;
  }
  return true;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span context a W3C `traceparent` header names, or undefined when the header is missing or
 * malformed (all-zero ids, another version, upper case).
 * @example parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
 */
export function parseTraceparent(header: string | null | undefined): SpanContext | undefined {
  if (!header || header.length !== 55) return undefined;
  const match = TRACEPARENT.exec(header);
  if (!match || match[1] === ZERO_TRACE || match[2] === ZERO_SPAN) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

/**
 * The W3C `traceparent` header for a span context.
 * @example formatTraceparent(span.spanContext()) // "00-4bf9…4736-00f0…02b7-01"
 */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.traceFlags & TraceFlags.SAMPLED ? "01" : "00"}`;
}
