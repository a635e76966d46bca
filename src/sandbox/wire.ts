/**
 * What crosses between a sandbox and the host: requests and responses as JSON (bodies as base64),
 * and the bound on every message (`maxHostCallBytes`).
 */
import { LIMITS } from "../limits.ts";

/** A request or response as it crosses the boundary: body as base64. */
export interface WireMessage {
  method?: string;
  url?: string;
  status?: number;
  statusText?: string;
  headers: Array<[string, string]>;
  body: string | null;
}

/**
 * Deepest nesting of arrays and objects the host accepts in JSON from a sandbox (`maxJsonDepth`): a
 * result, a capability's arguments, a storage value. The host's own code (JSON, String, logging)
 * recurses on nesting, and the text is the sandbox's to shape: checked before it is parsed.
 */
export const MAX_JSON_DEPTH = 1_000;

/** The error of JSON from a sandbox nested deeper than MAX_JSON_DEPTH; `what` names it ("the result"). */
export function tooDeep(what: string): RangeError {
  return new RangeError(`${what} is nested more than ${MAX_JSON_DEPTH} levels deep (maxJsonDepth)`);
}

/** Whether JSON `text` nests arrays and objects more than `max` levels deep (text in strings does not count). */
export function nestsDeeper(text: string, max = MAX_JSON_DEPTH): boolean {
  // Each level takes two characters at least: a short text cannot be deep.
  if (text.length <= 2 * max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skip to its closing quote (one not escaped).
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** JSON from a sandbox, parsed once its nesting is known to be within MAX_JSON_DEPTH (else `tooDeep(what)` is thrown). */
export function parseFromSandbox(text: string, what: string): unknown {
  if (nestsDeeper(text)) throw tooDeep(what);
  return JSON.parse(text) as unknown;
}

export function bytesOf(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

export function hostCallTooBig(bytes: number): RangeError {
  return new RangeError(`host call message of ${bytes} bytes exceeds ${LIMITS.maxHostCallBytes} bytes (maxHostCallBytes)`);
}

export function checkHostCallSize(message: string): string {
  // Characters first: a UTF-8 byte count of a huge string is a cost of its own.
  if (message.length * 3 > LIMITS.maxHostCallBytes) {
    const bytes = bytesOf(message);
    if (bytes > LIMITS.maxHostCallBytes) throw hostCallTooBig(bytes);
  }
  return message;
}

export async function toWireRequest(request: Request): Promise<WireMessage> {
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : null;
  if (body && body.length > LIMITS.maxHostCallBytes) throw hostCallTooBig(body.length);
  return { method: request.method, url: request.url, headers: [...request.headers], body: body ? body.toString("base64") : null };
}

export function fromWireResponse(wire: WireMessage): Response {
  const status = wire.status ?? 200;
  const nullBody = status === 101 || status === 204 || status === 205 || status === 304;
  return new Response(nullBody || wire.body === null ? null : Buffer.from(wire.body, "base64"), { status, statusText: wire.statusText ?? "", headers: wire.headers });
}
