import { takeCompleteBody } from "../web/complete-body-response.ts";

/** `cors: true` allows any origin; an object sets exactly those headers. */
export type CorsOption = boolean | Record<string, string>;

const DEFAULT_CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
  "access-control-allow-headers": "*",
  "access-control-max-age": "86400",
};

export function corsHeaders(option: CorsOption | undefined): Record<string, string> | undefined {
  if (!option) return undefined;
  return option === true ? DEFAULT_CORS : option;
}

/** Copies a response with CORS headers added (responses from fetch may have immutable headers). */
export function withCors(response: Response, headers: Record<string, string> | undefined): Response {
  if (!headers) return response;
  const merged = new Headers(response.headers);
  for (const [key, value] of Object.entries(headers)) merged.set(key, value);
  // A string body is handed on as the string: the copy is written in one call, as the original would be.
  const text = takeCompleteBody(response);
  const copy = new Response(text ?? response.body, { status: response.status, statusText: response.statusText, headers: merged });
  // A string given to the constructor brings a content-type of its own: not where the handler removed it.
  if (text !== undefined && !merged.has("content-type")) copy.headers.delete("content-type");
  return copy;
}
