/**
 * An `agents:*` event as the live stream shows it to inspector viewers. The MCP client's events carry
 * the server's URL as the agent gave it (credentials in its userinfo or query), its raw errors and the
 * OAuth link with its `state`: code subscribing in the process gets them whole, as with the SDK, but a
 * read-only viewer gets the URLs without secrets (query values shown as `…`), in errors too.
 */
import { redactedUri } from "../web/redacted-uri.ts";
import { withoutUserinfo } from "../web/userinfo.ts";

/** A URL inside a text (an error message): up to the first space or quote, without trailing punctuation. */
const URL_IN_TEXT = /\b[a-z][\w+.-]*:\/\/[^\s"'<>]*[^\s"'<>.,:;!?)\]]/gi;

interface AnyEvent {
  readonly type?: unknown;
  readonly payload?: unknown;
}

/** `event` with the secrets a viewer must not see taken out (the same object when it has none). */
export function viewerEvent(event: unknown): unknown {
  const e = event as AnyEvent;
  if (typeof e.type !== "string" || !e.type.startsWith("mcp:client:") || typeof e.payload !== "object" || e.payload === null) return event;
  const payload: Record<string, unknown> = { ...(e.payload as Record<string, unknown>) };
  for (const key of ["url", "authUrl"]) if (typeof payload[key] === "string") payload[key] = redactedUri(payload[key]);
  if (typeof payload.error === "string") payload.error = viewerText(payload.error);
  return { ...(event as object), payload };
}

/**
 * A text (an error message) with the URLs in it shown as {@link redactedUri} shows them.
 * @example viewerText("GET https://u:p@h/x?key=v failed") // "GET https://h/x?key=… failed"
 */
export function viewerText(text: string): string {
  return withoutUserinfo(text).replace(URL_IN_TEXT, (url) => redactedUri(url) ?? url);
}
