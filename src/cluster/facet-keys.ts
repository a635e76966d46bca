import { placeFromIndex, type CellPlace } from "../host/place.ts";

/**
 * The log keys of facets and sub-agents. A root agent's key is its place identity (`slug/name`); a
 * facet's own log is keyed by its path below the root, and fenced by the root's lease (one lease per
 * tree: the root's holder writes every database of the tree). Postgres text holds no NUL, so the
 * NUL-separated place identity (`slug/root\0child`) becomes `slug\u0001root\u0001child`, each name
 * escaped (`%` → `%25`, `\u0001` → `%01`). The character after the slug tells the forms apart: `/`
 * for a root, `\u0001` for a facet (slugs have neither). Every key of a tree sorts between its
 * {@link treeRange} bounds under the log's "C" collation, so a root's facets are one index range.
 */

const SEPARATOR = "\u0001";

/** Whether a place identity names a facet (a sub-agent), not a root agent. */
export function isFacetIdentity(identity: string): boolean {
  return identity.includes("\0");
}

/**
 * The log key of a place identity and the key of the root whose lease fences it.
 * @example
 * facetLogKey("inbox/ada\0t1"); // { key: "inbox\u0001ada\u0001t1", rootId: "inbox/ada" }
 */
export function facetLogKey(identity: string): { key: string; rootId: string } {
  const slash = identity.indexOf("/");
  if (slash <= 0) throw new Error(`${JSON.stringify(identity)} is not a place identity (slug/name)`);
  const slug = identity.slice(0, slash);
  const names = identity.slice(slash + 1).split("\0");
  return { key: [slug, ...names.map(escapeName)].join(SEPARATOR), rootId: `${slug}/${names[0]}` };
}

/** The key range (`from` ≤ key < `to`) holding every facet below the root or facet whose key is `key`. */
export function treeRange(key: string): { from: string; to: string } {
  const slash = key.indexOf("/");
  const separator = key.indexOf(SEPARATOR);
  // A root's key: `slug/name` → its facets start with `slug\u0001name\u0001`.
  const prefix = slash > 0 && (separator < 0 || slash < separator) ? `${key.slice(0, slash)}${SEPARATOR}${escapeName(key.slice(slash + 1))}${SEPARATOR}` : `${key}${SEPARATOR}`;
  return { from: prefix, to: `${prefix.slice(0, -1)}\u0002` };
}

/** The place a facet's log key names, under `dataDir`. */
export function placeOfFacetKey(dataDir: string, key: string): CellPlace {
  const [slug = "", ...names] = key.split(SEPARATOR);
  if (names.length < 2) throw new Error(`${JSON.stringify(key)} is not a facet's log key`);
  return placeFromIndex(dataDir, slug, names.map(unescapeName).join("\0"));
}

function escapeName(name: string): string {
  return name.replaceAll("%", "%25").replaceAll(SEPARATOR, "%01");
}

function unescapeName(escaped: string): string {
  return escaped.replace(/%(25|01)/g, (match) => (match === "%25" ? "%" : SEPARATOR));
}
