/**
 * `$ref`s of an OpenAPI document made self-contained: a schema that points into
 * `#/components/schemas/…` gets those schemas (transitively) in its own `$defs`, its refs rewritten
 * to `#/$defs/<name>`. Cycles stay refs, so any depth of recursion is fine. OpenAPI 3.0's
 * boolean `exclusiveMinimum`/`exclusiveMaximum` become 3.1's numbers on the way.
 */
import type { JsonSchema } from "../declarations.ts";

type Json = { [key: string]: unknown };

/** Resolves one local `$ref` of the document (`#/components/parameters/owner`); undefined when it leads nowhere. */
export function resolveRef(document: Json, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split("/")) {
    const segment = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Json)[segment];
  }
  return node;
}

/** Follows `$ref` chains of a non-schema object (a parameter, a request body, a response), refusing loops. */
export function deref<T>(document: Json, value: unknown): T | undefined {
  const seen = new Set<string>();
  let node = value;
  while (typeof node === "object" && node !== null && typeof (node as Json).$ref === "string") {
    const ref = (node as Json).$ref as string;
    if (seen.has(ref) || seen.size > 32) return undefined;
    seen.add(ref);
    node = resolveRef(document, ref);
  }
  return typeof node === "object" && node !== null ? (node as T) : undefined;
}

/** The shared state of one document: each referenced schema is rewritten once and named once. */
export class SchemaBundler {
  readonly #document: Json;
  /** `$ref` → its key in `$defs`. */
  readonly #keys = new Map<string, string>();
  readonly #usedKeys = new Set<string>();
  /** key → the rewritten schema and the keys it refers to. */
  readonly #defs = new Map<string, { schema: JsonSchema; refs: Set<string> }>();

  constructor(document: Json) {
    this.#document = document;
  }

  /**
   * The schema, self-contained: refs rewritten, `$defs` holding every schema it reaches.
   *
   * @example
   * ```ts
   * new SchemaBundler(doc).bundle({ $ref: "#/components/schemas/Pet" });
   * // { $ref: "#/$defs/Pet", $defs: { Pet: { … } } }
   * ```
   */
  bundle(schema: unknown): JsonSchema {
    const refs = new Set<string>();
    const rewritten = this.#rewrite(schema, refs, 0);
    if (refs.size === 0 || typeof rewritten !== "object") return rewritten;
    const closure = new Set<string>();
    const queue = [...refs];
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      if (closure.has(key)) continue;
      closure.add(key);
      for (const next of this.#defs.get(key)?.refs ?? []) queue.push(next);
    }
    const $defs: Json = {};
    for (const key of [...closure].sort()) $defs[key] = this.#defs.get(key)?.schema ?? true;
    return { ...rewritten, $defs };
  }

  #rewrite(value: unknown, refs: Set<string>, depth: number): JsonSchema {
    if (typeof value === "boolean") return value;
    if (typeof value !== "object" || value === null || Array.isArray(value) || depth > 64) return true;
    const node = value as Json;
    if (typeof node.$ref === "string") {
      const key = this.#define(node.$ref);
      if (key === undefined) return { description: `unresolved reference ${node.$ref}` };
      refs.add(key);
      const rest = Object.entries(node).filter(([k]) => k !== "$ref");
      return rest.length === 0 ? { $ref: `#/$defs/${key}` } : { ...Object.fromEntries(rest), allOf: [{ $ref: `#/$defs/${key}` }] };
    }
    const out: Json = {};
    for (const [key, child] of Object.entries(node)) {
      if (key === "properties" || key === "patternProperties" || key === "$defs" || key === "definitions") {
        out[key] = Object.fromEntries(Object.entries(recordOf(child)).map(([k, v]) => [k, this.#rewrite(v, refs, depth + 1)]));
      } else if (key === "items" || key === "additionalProperties" || key === "not" || key === "additionalItems") {
        out[key] = Array.isArray(child) ? child.map((c) => this.#rewrite(c, refs, depth + 1)) : this.#rewrite(child, refs, depth + 1);
      } else if (key === "allOf" || key === "anyOf" || key === "oneOf" || key === "prefixItems") {
        out[key] = Array.isArray(child) ? child.map((c) => this.#rewrite(c, refs, depth + 1)) : child;
      } else if ((key === "exclusiveMinimum" || key === "exclusiveMaximum") && typeof child === "boolean") {
        const bound = key === "exclusiveMinimum" ? node.minimum : node.maximum;
        if (child && typeof bound === "number") out[key] = bound;
      } else if (key === "example" || key === "examples" || key === "xml" || key === "externalDocs" || key.startsWith("x-")) {
        // Annotations the model does not need; dropped to keep schemas small.
      } else {
        out[key] = child;
      }
    }
    if (typeof node.exclusiveMinimum === "boolean" && node.exclusiveMinimum) delete out.minimum;
    if (typeof node.exclusiveMaximum === "boolean" && node.exclusiveMaximum) delete out.maximum;
    return out;
  }

  /** The `$defs` key of a ref, rewriting its target the first time (the key is claimed first, so cycles end). */
  #define(ref: string): string | undefined {
    const known = this.#keys.get(ref);
    if (known !== undefined) return known;
    const target = resolveRef(this.#document, ref);
    if (target === undefined) return undefined;
    const base = (ref.split("/").pop() ?? "Ref").replace(/~[01]/g, "_") || "Ref";
    let key = base;
    for (let n = 2; this.#usedKeys.has(key); n++) key = `${base}_${n}`;
    this.#usedKeys.add(key);
    this.#keys.set(ref, key);
    const entry = { schema: true as JsonSchema, refs: new Set<string>() };
    this.#defs.set(key, entry);
    entry.schema = this.#rewrite(target, entry.refs, 0);
    return key;
  }
}

function recordOf(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}
