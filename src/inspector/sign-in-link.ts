/**
 * The fragment of a sign-in link: `#token=<viewer or admin token, URL-encoded>`, optionally followed
 * by `&to=<route>`, the view to open once signed in. Read by hand, not as form fields: a token may hold
 * `+`, `%` or `&` (the banner's link encodes them), and `to` is everything after `to=`, taken as it is
 * written, so a route keeps its own query (`&to=/logs?level=error&class=Notes`) and its encoded names
 * (`&to=/agents/Notes/q3%2Fplans`). A `to` that does not start with `/` was URL-encoded whole (say, with
 * encodeURIComponent) and is decoded once. Written by the inspector's banner, read by the UI and by
 * `hearth inspect --url`.
 */

export interface SignInLink {
  token: string;
  /** The route to open, as a hash without its `#` (`/agents/Chat/alice`); undefined without `to=`. */
  to: string | undefined;
}

const TOKEN = "token=";
const TO = "&to=";

/**
 * The fragment of a sign-in link (with its `#`): the token URL-encoded, then the route to open, if
 * any, as written (`/logs?level=error`).
 * @example `${inspector.url}${signInFragment(token, "/agents/Chat/alice")}`
 */
export function signInFragment(token: string, to?: string): string {
  return `#${TOKEN}${encodeURIComponent(token)}${to === undefined ? "" : `${TO}${to}`}`;
}

/** True when `hash` (with or without its `#`) is a sign-in link's. */
export function isSignInFragment(hash: string): boolean {
  return hash.replace(/^#/, "").startsWith(TOKEN);
}

/** The token and route of a sign-in link's fragment; undefined when `hash` is not one. */
export function parseSignInFragment(hash: string): SignInLink | undefined {
  const fragment = hash.replace(/^#/, "");
  if (!fragment.startsWith(TOKEN)) return undefined;
  // The token ends at the first "&": one holding "&" comes encoded (%26).
  const end = fragment.indexOf("&", TOKEN.length);
  const token = decodedOnce(fragment.slice(TOKEN.length, end < 0 ? undefined : end));
  const at = end < 0 ? -1 : fragment.indexOf(TO, end);
  return { token, to: at < 0 ? undefined : routeOf(fragment.slice(at + TO.length)) };
}

function routeOf(to: string): string {
  if (to.startsWith("/")) return to;
  const decoded = decodedOnce(to);
  return decoded.startsWith("/") ? decoded : `/${decoded}`;
}

function decodedOnce(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
