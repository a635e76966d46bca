/** Longest request or response of an auto-response, in UTF-8 bytes (Cloudflare's limit, checked by `setWebSocketAutoResponse`). */
export const MAX_AUTO_RESPONSE_BYTES = 2048;

/**
 * A message and its canned reply: `ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping",
 * "pong"))` answers "ping" on every accepted socket without waking the actor.
 * @example
 * this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
 */
export class WebSocketRequestResponsePair {
  readonly request: string;
  readonly response: string;

  constructor(request: string, response: string) {
    if (typeof request !== "string" || typeof response !== "string") {
      throw new TypeError("WebSocketRequestResponsePair takes two strings: the request and its response");
    }
    this.request = request;
    this.response = response;
  }
}
