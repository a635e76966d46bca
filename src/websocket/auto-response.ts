/** Longest request or response text of an auto-response (Cloudflare's limit). */
export const MAX_AUTO_RESPONSE_CHARS = 2048;

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
    for (const [what, text] of [["request", request], ["response", response]] as const) {
      if (text.length > MAX_AUTO_RESPONSE_CHARS) {
        throw new RangeError(`The auto-response ${what} is ${text.length} characters; the limit is ${MAX_AUTO_RESPONSE_CHARS}.`);
      }
    }
    this.request = request;
    this.response = response;
  }
}
