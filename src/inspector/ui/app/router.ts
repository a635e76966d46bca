/**
 * Deep links for everything: the route lives in the URL hash (`#/agents/Chat/alice/sql?table=t`),
 * so the server serves one index.html and every view can be bookmarked or shared.
 */
import { signal } from "@preact/signals";
import { isSignInFragment } from "../../sign-in-link.ts";

/** The current route: path segments (decoded) and the query after `?`. */
export interface Route {
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = splitOnce(raw, "?");
  const segments = path === "" ? [] : path.split("/").map(decodeSegment);
  return { segments, query: new URLSearchParams(search) };
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + 1)];
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A hash link: `href(["agents", "Chat", "a/b"], { q: "x" })` → `#/agents/Chat/a%2Fb?q=x`. */
export function href(segments: readonly string[], query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== "") params.set(key, value);
  const search = params.toString();
  return `#/${segments.map(encodeURIComponent).join("/")}${search === "" ? "" : `?${search}`}`;
}

export const route = signal<Route>(parseHash(location.hash));

addEventListener("hashchange", () => {
  // A sign-in link's fragment is not a route: the session takes the token out and routes to its `to`.
  if (!isSignInFragment(location.hash)) route.value = parseHash(location.hash);
});

/** Goes to a hash link; `replace` keeps the history entry (filters typed into a form). */
export function navigate(link: string, replace = false): void {
  if (replace) {
    history.replaceState(null, "", link);
    route.value = parseHash(link);
  } else {
    location.hash = link.slice(1);
  }
}
