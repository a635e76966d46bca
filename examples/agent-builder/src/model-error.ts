import { APICallError, RetryError } from "ai";

/**
 * The text the page shows when the model call fails. Without it the AI SDK sends only "An error
 * occurred." (it cannot know what is safe to show); this says why, without the key: a refused key
 * (HTTP 401/403) is named as such, and the provider's own text, which may quote part of the key, is
 * left out; other errors are shown with anything that looks like a key or a password removed.
 * Pass it to `toUIMessageStreamResponse({ onError })`. The whole error is in the server's log.
 */
export function modelErrorMessage(error: unknown, env: Record<string, unknown>): string {
  const cause = RetryError.isInstance(error) ? error.lastError : error;
  const status = APICallError.isInstance(cause) ? cause.statusCode : undefined;
  if (status === 401 || status === 403) {
    return `The model provider refused the API key (HTTP ${status}): set a valid OPENAI_API_KEY or ANTHROPIC_API_KEY for the server.`;
  }
  const text = cause instanceof Error ? cause.message : typeof cause === "string" ? cause : JSON.stringify(cause);
  return `${status === undefined ? "The model call failed" : `The model provider answered HTTP ${status}`}: ${withoutSecrets(text, env)}`;
}

/** `text` without the secret values of `env` and `process.env`, URL credentials and key-like words. */
function withoutSecrets(text: string, env: Record<string, unknown>): string {
  let safe = text;
  for (const [name, value] of [...Object.entries(process.env), ...Object.entries(env)]) {
    if (typeof value === "string" && value.length >= 8 && /key|token|secret|password/i.test(name)) safe = safe.replaceAll(value, "[redacted]");
  }
  return safe
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi, "$1") // user:password@ of a URL
    .replace(/\b(?:sk|rk|pk)-[\w-]{6,}|[\w-]*\*{4,}[\w-]*/g, "[redacted]"); // keys, and keys masked with *
}
