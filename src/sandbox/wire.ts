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
