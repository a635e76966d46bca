/**
 * The catalogue the `search` tool's code runs over: one small, typed entry per operation (name,
 * description, route, tags, a one-line parameter summary), plus keyword ranking for `find`.
 */
import { isSchema, recordOf, resolvePointer, schemaList, type JsonSchema } from "../declarations.ts";
import type { CodeApi } from "../api.ts";
import { MAX_CATALOGUE_DESCRIPTION_CHARS, MAX_CATALOGUE_PARAMS_CHARS } from "../limits.ts";

/**
 * One operation as the `search` code sees it (`catalogue.operations[i]`).
 *
 * @example
 * ```ts
 * const entry: CatalogueEntry = { name: "repos_get", description: "Get a repository", route: "GET /repos/{owner}/{repo}",
 *   tags: ["repos"], params: "owner: string, repo: string" };
 * ```
 */
export interface CatalogueEntry {
  /** The method name: `codemode.<name>(input)`. */
  name: string;
  /** First paragraph of the description, cut to 240 characters. */
  description: string;
  /** `METHOD /path` for HTTP operations. */
  route?: string;
  tags: string[];
  /** The input's top-level fields, `?` marking optional ones: `owner: string, per_page?: number`. */
  params: string;
}

/**
 * The TypeScript the `search` description shows for the catalogue.
 *
 * @example
 * ```ts
 * createCodeTools({ sources, mode: "discovery" }).tools.search?.description?.includes(CATALOGUE_DECLARATIONS); // true
 * ```
 */
export const CATALOGUE_DECLARATIONS = `interface Operation {
  name: string; // call it as codemode[name](input) in execute
  description: string;
  route?: string; // "GET /repos/{owner}/{repo}"
  tags: string[];
  params: string; // "owner: string, per_page?: number"
}
declare const catalogue: {
  operations: Operation[];
  /** Best keyword matches first. */
  find(query: string, limit?: number): Promise<Operation[]>;
  /** TypeScript of the named operations (at most 20); outputs: false leaves out the result types. */
  declarations(names: string[], options?: { outputs?: boolean }): Promise<string>;
};`;

/** The entries of an API, in its order. */
export function catalogueOf(api: CodeApi): CatalogueEntry[] {
  return api.operations.map(({ identifier, operation }) => {
    const entry: CatalogueEntry = {
      name: identifier,
      description: firstParagraph(operation.description ?? ""),
      tags: [...(operation.tags ?? [])],
      params: paramsSummary(operation.inputSchema),
    };
    if (operation.route !== undefined) entry.route = operation.route;
    return entry;
  });
}

function firstParagraph(text: string): string {
  const paragraph = (text.trim().split(/\n\s*\n/)[0] ?? "").replace(/\s+/g, " ");
  return paragraph.length <= MAX_CATALOGUE_DESCRIPTION_CHARS ? paragraph : `${paragraph.slice(0, MAX_CATALOGUE_DESCRIPTION_CHARS - 1)}…`;
}

/** `owner: string, per_page?: number, state?: "open" | "closed"`, cut to 240 characters. */
export function paramsSummary(schema: JsonSchema): string {
  if (typeof schema !== "object") return "";
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const parts = Object.entries(recordOf(schema.properties)).map(([key, prop]) => `${key}${required.has(key) ? "" : "?"}: ${shortType(prop, schema, 0)}`);
  const text = parts.join(", ");
  return text.length <= MAX_CATALOGUE_PARAMS_CHARS ? text : `${text.slice(0, MAX_CATALOGUE_PARAMS_CHARS - 1)}…`;
}

function shortType(value: unknown, root: JsonSchema, depth: number): string {
  if (!isSchema(value) || typeof value === "boolean" || depth > 3) return "unknown";
  const ref = value.$ref;
  if (typeof ref === "string") {
    const target = ref.startsWith("#") ? resolvePointer(root, ref.slice(1)) : undefined;
    return target === undefined ? "unknown" : shortType(target, root, depth + 1);
  }
  if (Array.isArray(value.enum)) {
    const literals = value.enum.map((v) => JSON.stringify(v));
    return literals.length <= 4 ? literals.join(" | ") : "enum";
  }
  const types = Array.isArray(value.type) ? value.type : typeof value.type === "string" ? [value.type] : [];
  if (types.length === 0) {
    const union = [...schemaList(value.anyOf), ...schemaList(value.oneOf)];
    if (union.length > 0) return [...new Set(union.map((s) => shortType(s, root, depth + 1)))].join(" | ");
    return "properties" in value ? "object" : "unknown";
  }
  return types.map((t) => (t === "integer" ? "number" : t === "array" ? `${shortType(value.items, root, depth + 1)}[]` : String(t))).join(" | ");
}

/**
 * The entries best matching `query`: each query word found in the name counts 3, in the route or a
 * tag 2, in the description 1 (a word also matches one it starts, or that starts it, from 4 letters:
 * "repo" and "repository"); ties go to the shorter name, then to the catalogue's order; entries
 * matching nothing are left out. Each query word is looked up once in the catalogue's vocabulary
 * (its distinct words, indexed once per catalogue), not in every entry: the work is the query's
 * words × (vocabulary + entries), and `catalogue.find` bounds the query (MAX_FIND_QUERY_CHARS,
 * MAX_FIND_QUERY_WORDS) before calling this.
 *
 * @example
 * ```ts
 * rank(entries, "list issues of a repository", 5).map((e) => e.name);
 * ```
 */
export function rank(entries: readonly CatalogueEntry[], query: string, limit: number): CatalogueEntry[] {
  const words = [...new Set(wordsOf(query))];
  if (words.length === 0) return [];
  const index = indexOf(entries);
  const scores = new Uint32Array(entries.length);
  const best = new Uint8Array(entries.length);
  for (const word of words) {
    best.fill(0);
    const mark = (postings: Postings): void => {
      for (const i of postings.name) best[i] = 3;
      for (const i of postings.where) if (best[i]! < 2) best[i] = 2;
      for (const i of postings.text) if (best[i]! < 1) best[i] = 1;
    };
    if (word.length < 4) {
      const postings = index.vocabulary.get(word);
      if (postings !== undefined) mark(postings);
    } else {
      for (const [known, postings] of index.vocabulary) if (matches(known, word)) mark(postings);
    }
    for (let i = 0; i < scores.length; i++) scores[i]! += best[i]!;
  }
  const scored: Array<{ order: number; score: number; length: number }> = [];
  for (let order = 0; order < scores.length; order++) if (scores[order]! > 0) scored.push({ order, score: scores[order]!, length: index.lengths[order]! });
  return scored
    .sort((a, b) => b.score - a.score || a.length - b.length || a.order - b.order)
    .slice(0, limit)
    .map((s) => entries[s.order]!);
}

/**
 * Whether a catalogue word matches a query word of 4 letters or more: the same word, one it starts
 * ("repo" in "repository"), or, from 4 letters, one that starts it.
 */
function matches(known: string, word: string): boolean {
  if (known.length >= word.length) return known.startsWith(word);
  return known.length >= 4 && word.startsWith(known);
}

/** The entries (their positions) a word is found in: in their name, their route or tags, their description. */
interface Postings {
  name: number[];
  where: number[];
  text: number[];
}

interface CatalogueIndex {
  /** Each distinct word of the catalogue, with the entries it is in. */
  vocabulary: Map<string, Postings>;
  /** Each entry's number of name words (ties go to the shorter name). */
  lengths: number[];
}

/** The words of a catalogue, indexed once per catalogue (a search runs many finds over the same one). */
const indexes = new WeakMap<readonly CatalogueEntry[], CatalogueIndex>();

function indexOf(entries: readonly CatalogueEntry[]): CatalogueIndex {
  let index = indexes.get(entries);
  if (index === undefined) {
    const vocabulary = new Map<string, Postings>();
    const post = (words: readonly string[], field: keyof Postings, i: number): void => {
      for (const word of new Set(words)) {
        let postings = vocabulary.get(word);
        if (postings === undefined) vocabulary.set(word, (postings = { name: [], where: [], text: [] }));
        postings[field].push(i);
      }
    };
    const lengths = entries.map((entry, i) => {
      const nameWords = wordsOf(entry.name);
      post(nameWords, "name", i);
      post([...wordsOf(entry.route ?? ""), ...entry.tags.flatMap(wordsOf)], "where", i);
      post(wordsOf(entry.description), "text", i);
      return nameWords.length;
    });
    index = { vocabulary, lengths };
    indexes.set(entries, index);
  }
  return index;
}

const STOP = new Set(["a", "an", "the", "of", "for", "to", "in", "on", "by", "and", "or", "with", "all", "its"]);

/**
 * Lower-case words of a text, camelCase and snake_case split, a plural `s` dropped, stop words out.
 * @example wordsOf("listOpenIssues of a repo") // ["list", "open", "issue", "repo"]
 */
export function wordsOf(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !STOP.has(w))
    .map((w) => (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w));
}
