/**
 * How an audit row keeps a change's details within a size: each field on its own, so a long one
 * (a padded SQL text) cannot push out the others. A field whose text is longer than
 * INSPECTOR_LIMITS.maxAuditFieldChars keeps its start and its end — where a padded statement hides —
 * and the SHA-256 of the whole, which tells whether a given text is the one that ran.
 */
import { createHash } from "node:crypto";
import { INSPECTOR_LIMITS } from "./limits.ts";

/** A field cut to its start and end: `chars` is the whole text's length, `sha256` its hash (hex, of its UTF-8). */
export interface CutField {
  $cut: true;
  chars: number;
  sha256: string;
  head: string;
  tail: string;
}

/**
 * `detail` with every field longer than the limit cut (a string field as itself, any other as its JSON).
 * @example cutDetail({ sql: "-- ".padEnd(20_000, "x") + "\nDELETE FROM notes" }).sql // { $cut: true, chars: 20018, sha256, head, tail: "…\nDELETE FROM notes" }
 */
export function cutDetail(detail: Record<string, unknown>): Record<string, unknown> {
  const cut: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(detail)) {
    const text = typeof value === "string" ? value : jsonOf(value);
    cut[key] = text !== undefined && text.length > INSPECTOR_LIMITS.maxAuditFieldChars ? cutText(text) : value;
  }
  return cut;
}

/** `text` itself when within the limit, else its start and end around a note naming the length and SHA-256 of the whole. */
export function cutString(text: string): string {
  if (text.length <= INSPECTOR_LIMITS.maxAuditFieldChars) return text;
  const { chars, sha256, head, tail } = cutText(text);
  return `${head} … [${chars} characters, cut; SHA-256 ${sha256}] … ${tail}`;
}

/** JSON text of a detail value (bigints as strings, as the audit row stores them). */
export function jsonOf(value: unknown): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function cutText(text: string): CutField {
  const half = Math.floor(INSPECTOR_LIMITS.maxAuditFieldChars / 2);
  let headEnd = half;
  let tailStart = text.length - half;
  // Never between the two halves of a surrogate pair.
  if (isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd--;
  if (isLowSurrogate(text.charCodeAt(tailStart))) tailStart++;
  return {
    $cut: true,
    chars: text.length,
    sha256: createHash("sha256").update(text).digest("hex"),
    head: text.slice(0, headEnd),
    tail: text.slice(tailStart),
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
