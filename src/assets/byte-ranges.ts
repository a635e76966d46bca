/**
 * What a `Range` request header asks of an asset, read as Cloudflare reads it when it serves a
 * complete file (its cache's range behaviour): one range or several, a suffix (`-500`) or an open end
 * (`100-`); 416 for ranges nothing of the file satisfies; the header ignored (the whole file, 200)
 * when it cannot be parsed, names another unit, holds a number too large, too many ranges, or ranges
 * out of order or overlapping.
 * @module
 */
import { ASSET_LIMITS } from "./limits.ts";

/** Bytes `start` to `end` of a file, both included (as `Content-Range` writes them). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** The answer a `Range` header calls for. */
export type RangeAnswer =
  /** No range, or one to ignore: the whole file. */
  | { readonly kind: "whole" }
  /** 416: no range the file can satisfy. */
  | { readonly kind: "unsatisfiable" }
  /** 206: these ranges, in ascending order, none overlapping. */
  | { readonly kind: "partial"; readonly ranges: readonly ByteRange[] };

const WHOLE: RangeAnswer = { kind: "whole" };
const UNSATISFIABLE: RangeAnswer = { kind: "unsatisfiable" };

/** `bytes=…`; the unit is case-insensitive (RFC 9110 §14.1). */
const BYTES_UNIT = /^bytes=/i;
/** One range-spec: `first-last`, `first-` or `-suffix`. */
const RANGE_SPEC = /^(\d*)-(\d*)$/;

/**
 * The answer to `header` (a request's `Range`) for a file of `size` bytes. Never throws: a header it
 * cannot read is ignored, as RFC 9110 §14.2 allows.
 * @example
 * rangeAnswer("bytes=0-99", 1000);  // { kind: "partial", ranges: [{ start: 0, end: 99 }] }
 * rangeAnswer("bytes=-500", 100);   // { kind: "partial", ranges: [{ start: 0, end: 99 }] }
 * rangeAnswer("bytes=1000-", 1000); // { kind: "unsatisfiable" }
 * rangeAnswer("items=0-1", 1000);   // { kind: "whole" }
 */
export function rangeAnswer(header: string | null, size: number): RangeAnswer {
  if (header === null) return WHOLE;
  const value = header.trim();
  if (!BYTES_UNIT.test(value)) return WHOLE;
  // Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1) and skipped.
  const specs = value
    .slice("bytes=".length)
    .split(",")
    .map((spec) => spec.trim())
    .filter((spec) => spec !== "");
  if (specs.length > ASSET_LIMITS.maxByteRanges) return WHOLE;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const bounds = RANGE_SPEC.exec(spec);
    if (bounds === null || (bounds[1] === "" && bounds[2] === "")) return WHOLE;
    const first = bounds[1] === "" ? undefined : Number(bounds[1]);
    const last = bounds[2] === "" ? undefined : Number(bounds[2]);
    if ((first !== undefined && !Number.isSafeInteger(first)) || (last !== undefined && !Number.isSafeInteger(last))) return WHOLE;
    const range = resolve(first, last, size);
    if (range !== undefined) ranges.push(range);
  }
  // `bytes=` alone, or no range the file satisfies.
  if (ranges.length === 0) return UNSATISFIABLE;
  for (let i = 1; i < ranges.length; i++) if (ranges[i]!.start <= ranges[i - 1]!.end) return WHOLE;
  return { kind: "partial", ranges };
}

/**
 * The bytes one range-spec covers in a file of `size` bytes, its end cut at the file's; undefined
 * when it covers none (a start past the end, an end before the start, `-0`, an empty file).
 */
function resolve(first: number | undefined, last: number | undefined, size: number): ByteRange | undefined {
  if (first === undefined) {
    // A suffix: the last `last` bytes, the whole file when it is shorter.
    return last! === 0 || size === 0 ? undefined : { start: Math.max(0, size - last!), end: size - 1 };
  }
  if (first >= size || (last !== undefined && last < first)) return undefined;
  return { start: first, end: Math.min(last ?? size - 1, size - 1) };
}

/**
 * True when `If-Range` lets the range apply: absent, or exactly the asset's ETag. Anything else (a
 * weak tag, another tag, a date: assets carry no `Last-Modified`) means the file changed since the
 * client's part of it, so the whole file is sent.
 */
export function ifRangeHolds(header: string | null, etag: string): boolean {
  return header === null || header.trim() === etag;
}
