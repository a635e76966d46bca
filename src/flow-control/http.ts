import { FlowControlError, retryAfterSeconds } from "./errors.ts";
import type { FlowControl } from "./types.ts";

/** The JSON body of a refusal. */
export interface FlowControlErrorBody {
  /** `rate_limited`, `queue_full`, `throttled`, `singleton_skipped` or `singleton_cancelled`. */
  error: string;
  message: string;
  /** Whole seconds, rounded up; present when the control knows when a retry may succeed. */
  retryAfterSeconds?: number;
}

/**
 * The HTTP answer to a refusal: its status (429, or 409 for a singleton), `Retry-After` in whole
 * seconds rounded up when the control knows it, and a JSON body `{ error, message, retryAfterSeconds }`.
 *
 * @example
 * catch (error) {
 *   if (error instanceof FlowControlError) return toResponse(error);
 *   throw error;
 * }
 * // 429, Retry-After: 6, {"error":"rate_limited","message":"Rate limit reached for key \"alice\" …","retryAfterSeconds":6}
 */
export function toResponse(error: FlowControlError): Response {
  const body: FlowControlErrorBody = { error: error.code, message: error.message };
  const headers = new Headers({ "content-type": "application/json; charset=utf-8" });
  if (error.retryAfterMs !== undefined) {
    body.retryAfterSeconds = retryAfterSeconds(error.retryAfterMs);
    headers.set("retry-after", String(body.retryAfterSeconds));
  }
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** An HTTP handler run under a flow control. */
export type RequestHandler = (request: Request, signal: AbortSignal) => Response | Promise<Response>;

/**
 * Wraps request handling (an agent's `onRequest`, a worker's `fetch`) in a flow control whose input is
 * the request: a refusal becomes {@link toResponse}'s answer (429 with `Retry-After`…); anything else
 * the handler returns or throws passes through. The request's own signal cancels a waiting call.
 *
 * @example
 * class Api extends Agent<Env> {
 *   #guard = guardRequests(rateLimit<Request>({ limiter: this.env.API_LIMITER, key: (r) => r.headers.get("x-user") ?? "" }));
 *   onRequest(request: Request) {
 *     return this.#guard(request, (request) => this.handle(request));
 *   }
 * }
 */
export function guardRequests(control: FlowControl<Request>): (request: Request, handler: RequestHandler) => Promise<Response> {
  return async (request, handler) => {
    try {
      return await control.run(request, handler, { signal: request.signal });
    } catch (error) {
      if (error instanceof FlowControlError) return toResponse(error);
      throw error;
    }
  };
}
