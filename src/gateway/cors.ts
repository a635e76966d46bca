import { takeCompleteBody } from "../web/complete-body-response.ts";

/** `cors: true` allows any origin; an object sets exactly those headers. */
export type CorsOption = boolean | Record<string, string>;

/**
 * The Agents SDK's `cors` option of `routeAgentRequest`: `true` allows any
 * origin; headers in any form `new Headers()` takes (a record, a `Headers`,
 * `[name, value]` pairs) set exactly those.
 *
 * @example
 * ```ts
 * const cors: AgentCorsOption = new Headers({ "Access-Control-Allow-Origin": "https://app.example" });
 * ```
 */
export type AgentCorsOption = boolean | HeadersInit;

const DEFAULT_CORS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, HEAD, OPTIONS", // the Agents SDK's (agent-routing.js)
  "access-control-allow-headers": "*",
  "access-control-max-age": "86400",
};

/**
 * The CORS headers of a `cors` option, as a record, or undefined for none.
 * Read through `new Headers()`: `Object.entries` finds nothing in a
 * `Headers` and makes "0", "1"… of `[name, value]` pairs.
 */
export function corsHeaders(option: AgentCorsOption | undefined): Record<string, string> | undefined {
  if (!option) return undefined;
  if (option === true) return DEFAULT_CORS;
  // Read once per option object (a route passes the same one with every request).
  let headers = normalized.get(option);
  if (headers === undefined) normalized.set(option, (headers = Object.fromEntries(new Headers(option))));
  return headers;
}

const normalized = new WeakMap<object, Record<string, string>>();

/** Copies a response with CORS headers added (responses from fetch may have immutable headers). */
export function withCors(response: Response, headers: HeadersInit | undefined): Response {
  if (!headers) return response;
  const merged = new Headers(response.headers);
  // A record (what corsHeaders gives) is read as it is; other forms through Headers.
  const pairs = headers instanceof Headers || Array.isArray(headers) ? new Headers(headers) : Object.entries(headers);
  for (const [key, value] of pairs) merged.set(key, value);
  // A string body is handed on as the string: the copy is written in one call, as the original would be.
  const text = takeCompleteBody(response);
  const copy = new Response(text ?? response.body, { status: response.status, statusText: response.statusText, headers: merged });
  // A string given to the constructor brings a content-type of its own: not where the handler removed it.
  if (text !== undefined && !merged.has("content-type")) copy.headers.delete("content-type");
  return copy;
}
