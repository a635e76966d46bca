/**
 * The inspector's HTTP plumbing: JSON answers and errors in the shape of docs/inspector/api.md
 * (`{ error: { code, message } }`), bounded JSON bodies, and paging cursors.
 */
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { readStreamUpTo } from "../gateway/bounded-body.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";

/** An answer: JSON (`json`) or text (`text` with its content type). */
export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** An error the API answers with its status and code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const notFound = (message: string): ApiError => new ApiError(404, "not_found", message);
export const badRequest = (message: string): ApiError => new ApiError(400, "bad_request", message);

/** The answer of an API section whose data source is not wired into this inspector. */
export function notEnabled(what: string): ApiError {
  return new ApiError(404, "not_enabled", `${what} are not enabled in this inspector (no ${what.toLowerCase()} source was given to startInspector)`);
}

/** The request body parsed as JSON; an empty body is `{}`. Refuses bodies over the limit. */
export async function readJsonBody(request: IncomingMessage, maxBytes = INSPECTOR_LIMITS.maxBodyBytes): Promise<unknown> {
  const declared = Number(request.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const text = await readStreamUpTo(Readable.toWeb(request) as ReadableStream<Uint8Array>, maxBytes);
  if (text === undefined) throw tooLarge(maxBytes);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * A stored column that usually holds JSON: its value, or the text itself when it is not JSON (and
 * null for a missing value), so a hand-written row still shows.
 * @example storedJson('{"a":1}') // { a: 1 }; storedJson("plain") // "plain"
 */
export function storedJson(text: unknown): unknown {
  if (typeof text !== "string") return text ?? null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, "body_too_large", `The request body is larger than ${maxBytes} bytes (the inspector's limit)`);
}

/** An object body, or a 400 naming what was expected. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("The body must be a JSON object");
  return body as Record<string, unknown>;
}

/** `limit` of a list: default 50, at most 500. */
export function pageLimit(query: URLSearchParams): number {
  const raw = query.get("limit");
  if (raw === null || raw === "") return INSPECTOR_LIMITS.defaultPageSize;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > INSPECTOR_LIMITS.maxPageSize) {
    throw badRequest(`limit must be an integer from 1 to ${INSPECTOR_LIMITS.maxPageSize}, got ${JSON.stringify(raw)}`);
  }
  return limit;
}

/** The offset an opaque cursor of {@link offsetCursor} carries (0 without one). */
export function cursorOffset(query: URLSearchParams): number {
  const cursor = query.get("cursor");
  if (cursor === null || cursor === "") return 0;
  const match = /^o:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw badRequest("cursor is not a cursor this API gave out");
  const offset = Number(match[1]);
  return offset;
}

/** An opaque cursor for the page starting at `offset`. */
export function offsetCursor(offset: number): string {
  return Buffer.from(`o:${offset}`).toString("base64url");
}

/** Which page of a list a request asks for. */
export interface PageRange {
  offset: number;
  limit: number;
}

/** The page `query` asks for (its `cursor` and `limit`; 400 when either is bad): read before an agent is woken for it. */
export function pageRange(query: URLSearchParams): PageRange {
  return { offset: cursorOffset(query), limit: pageLimit(query) };
}

/** One page of an in-memory list: `{ items, next }`. */
export function pageOf<T>(all: readonly T[], page: URLSearchParams | PageRange): { items: T[]; next: string | null } {
  const { offset, limit } = page instanceof URLSearchParams ? pageRange(page) : page;
  const items = all.slice(offset, offset + limit);
  return { items, next: offset + limit < all.length ? offsetCursor(offset + limit) : null };
}

/** JSON text of any value: bigints as numbers when safe (else strings), BLOBs summarised. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    if (v instanceof Uint8Array) return blobSummary(v);
    return v;
  });
}

/** Bytes of a BLOB the API shows (in hex). */
export const BLOB_PREVIEW_BYTES = 64;

/** A BLOB as the API shows it: the first 64 bytes in hex, and its size (`size`: the whole BLOB's, when `bytes` is its start). */
export function blobSummary(bytes: Uint8Array, size = bytes.byteLength): { $blob: string; size: number } {
  return { $blob: Buffer.from(bytes.subarray(0, BLOB_PREVIEW_BYTES)).toString("hex"), size };
}
