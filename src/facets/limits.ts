/** Longest facet name, in characters (Cloudflare's limit). */
export const MAX_FACET_NAME_LENGTH = 256;

/** Deepest facet tree, counting the root Durable Object (Cloudflare's limit). */
export const MAX_FACET_DEPTH = 4;

/** Checks a facet name against Cloudflare's rules, plus Hearth's: no NUL (it separates names in paths). */
export function checkFacetName(name: unknown): string {
  if (typeof name !== "string") throw new TypeError(`A facet name must be a string, got ${typeof name}.`);
  if (name.length === 0) throw new TypeError("A facet name must not be empty.");
  if (name.length > MAX_FACET_NAME_LENGTH) throw new TypeError(`Facet name is too long (max ${MAX_FACET_NAME_LENGTH} characters).`);
  if (name.includes("\0")) throw new TypeError("A facet name must not contain NUL characters.");
  if (!name.isWellFormed()) throw new TypeError("A facet name must be well-formed unicode (unpaired surrogate).");
  return name;
}

/** Throws Cloudflare's error when a facet of an actor at `depth` would be too deep. */
export function checkFacetDepth(parentDepth: number): void {
  if (parentDepth + 1 > MAX_FACET_DEPTH) {
    throw new Error(`Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is ${MAX_FACET_DEPTH}.`);
  }
}
