import type { SQLInputValue, SQLOutputValue } from "node:sqlite";
import { d1Error } from "./errors.ts";
import { D1_LIMITS } from "./limits.ts";

/** A bound value as a statement keeps it after `bind()`: D1's wire form (BLOBs as arrays of bytes). */
export type D1BoundValue = number | string | null | number[];

/** A value in a result row: BLOBs come back as arrays of numbers, as on D1. */
export type D1Value = number | string | null | number[];

/**
 * D1's type rules for `bind()`: numbers and strings pass through, booleans become 1 or 0, null is
 * kept, an ArrayBuffer or a typed-array view becomes an array of bytes, a plain array of numbers in
 * [0, 256) is taken as bytes. Anything else (undefined, bigint, plain objects, …) throws
 * `D1_TYPE_ERROR: Type '<typeof>' not supported for value '<value>'`.
 */
export function toBoundValue(value: unknown): D1BoundValue {
  switch (typeof value) {
    case "number":
    case "string":
      return value;
    case "boolean":
      return value ? 1 : 0;
    case "object":
      if (value === null) return null;
      if (Array.isArray(value) && value.every((byte) => typeof byte === "number" && byte >= 0 && byte < 256)) {
        return value as number[];
      }
      if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
      // Element by element, as workerd does (a Uint16Array's 300 is not two bytes).
      if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
      break;
  }
  const text = `Type '${typeof value}' not supported for value '${describe(value)}'`;
  throw d1Error("D1_TYPE_ERROR", text);
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value); // e.g. Object.create(null)
  }
}

/**
 * The value handed to SQLite. Safe integers are bound as INTEGER (node:sqlite would bind every
 * number as REAL; D1 receives JSON, where `1` is an integer). NaN and ±Infinity become NULL, as
 * they do in D1's JSON transport. Byte arrays become BLOBs.
 * @param position 1-based, for the error message.
 */
export function toSqliteValue(value: D1BoundValue, position: number): SQLInputValue {
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return BigInt(value);
    return Number.isFinite(value) ? value : null;
  }
  if (typeof value === "string") {
    if (value.length * 3 > D1_LIMITS.maxValueBytes) checkSize(Buffer.byteLength(value), position, "string");
    return value;
  }
  if (value === null) return null;
  checkSize(value.length, position, "BLOB");
  return Uint8Array.from(value);
}

function checkSize(bytes: number, position: number, kind: string): void {
  if (bytes <= D1_LIMITS.maxValueBytes) return;
  throw d1Error(
    "D1_ERROR",
    `string or blob too big: bound parameter ${position} is a ${kind} of ${bytes.toLocaleString("en-US")} bytes; ` +
      `D1 allows at most ${D1_LIMITS.maxValueBytes.toLocaleString("en-US")} bytes per string, BLOB or row`,
  );
}

/** A value read from SQLite as D1 returns it: BLOBs as arrays of numbers, integers as numbers. */
export function fromSqliteValue(value: SQLOutputValue): D1Value {
  if (value instanceof Uint8Array) return Array.from(value);
  if (typeof value === "bigint") return Number(value); // only when a value passed 2^53: lossy, as on D1
  return value;
}
