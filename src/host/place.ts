import { createHash } from "node:crypto";
import { join } from "node:path";
import { agentFilePath, readableSlug } from "../storage/agent-file.ts";

/**
 * Where an actor lives: a root actor (a class and a name), or a child of one (a facet), named by the
 * path of child names below its root. The place gives the host's key, the schedule index's entry and
 * the SQLite file; a child's file sits in its parent's `.facets` directory, so deleting a parent's
 * directory tree deletes its children.
 */
export interface CellPlace {
  /** The root's storage slug (its class directory). */
  readonly rootSlug: string;
  readonly rootName: string;
  /** Child names from the root down; empty for a root actor. */
  readonly path: readonly string[];
  /** The actor's SQLite file. */
  readonly file: string;
}

/** Separates a child's name from its parent's in keys and index entries (names never contain NUL). */
const SEPARATOR = "\0";

export function rootPlace(dataDir: string, slug: string, name: string): CellPlace {
  return { rootSlug: slug, rootName: name, path: [], file: agentFilePath(dataDir, slug, name) };
}

export function childPlace(parent: CellPlace, name: string): CellPlace {
  return { rootSlug: parent.rootSlug, rootName: parent.rootName, path: [...parent.path, name], file: childFile(parent.file, name) };
}

/** The directory of a place's children. */
export function childrenDir(place: CellPlace): string {
  return place.file.replace(/\.sqlite$/, ".facets");
}

/** The name of a place in the schedule index: the root's name, then each child name after a NUL. */
export function indexName(place: CellPlace): string {
  return place.path.length === 0 ? place.rootName : [place.rootName, ...place.path].join(SEPARATOR);
}

/** The host's key of a place (also the socket hub's). */
export function placeKey(place: CellPlace): string {
  return rootKey(place.rootSlug, indexName(place));
}

/** The host's key of a root actor (`name` a valid name: with a NUL it would spell a child's key). */
export function rootKey(slug: string, name: string): string {
  return `${slug}${SEPARATOR}${name}`;
}

/** The place an index entry names. */
export function placeFromIndex(dataDir: string, slug: string, name: string): CellPlace {
  const [rootName = "", ...path] = name.split(SEPARATOR);
  let place = rootPlace(dataDir, slug, rootName);
  for (const child of path) place = childPlace(place, child);
  return place;
}

/** The identity stored in (and checked against) the place's file. */
export function placeIdentity(place: CellPlace): string {
  return `${place.rootSlug}/${indexName(place)}`;
}

/** A child's file: a readable hint of its name plus a hash, so no name can escape the directory. */
function childFile(parentFile: string, name: string): string {
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 32);
  const hint = readableSlug(name);
  return join(parentFile.replace(/\.sqlite$/, ".facets"), hint ? `${hint}-${hash}.sqlite` : `${hash}.sqlite`);
}

/**
 * The root actors (`slug/name`, as a cluster's actor ids spell them) of host keys: a root's key, or a
 * child's, which is its root's key followed by NUL-separated child names.
 * @example
 * rootsOfKeys(["counter\0a", "room\0b\0chat"]); // Set { "counter/a", "room/b" }
 */
export function rootsOfKeys(keys: Iterable<string>): Set<string> {
  const roots = new Set<string>();
  for (const key of keys) {
    const slugEnd = key.indexOf(SEPARATOR);
    const nameEnd = key.indexOf(SEPARATOR, slugEnd + 1);
    roots.add(`${key.slice(0, slugEnd)}/${key.slice(slugEnd + 1, nameEnd < 0 ? undefined : nameEnd)}`);
  }
  return roots;
}
