import { pathnameOf } from "./url-path.ts";

/**
 * A connection's URL without its query's values: clients often carry a token there, and a viewer
 * must not see another user's credentials. The names stay (each value shown as `…`); traces keep the path alone.
 * @example redactedUri("ws://h/agents/chat/a?token=s3cret") // "ws://h/agents/chat/a?token=…"
 */
export function redactedUri(url: string | null | undefined): string | null {
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return pathnameOf(url);
  }
  const names = [...new Set(parsed.searchParams.keys())];
  const query = names.length === 0 ? "" : `?${names.map((name) => `${encodeURIComponent(name)}=…`).join("&")}`;
  // `host`, not the whole authority: user:password@ is left out too.
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}${query}`;
}
