/**
 * The `search` tool of discovery mode: the model's code runs in a sandbox over the catalogue and
 * returns what it found — operations, and the TypeScript declarations of those it will call.
 */
import { tool, type Tool } from "ai";
import { z } from "zod";
import type { CodeApi } from "../api.ts";
import type { CodeExecutor, ExecuteResult, HostFunction } from "../executor.ts";
import { MAX_DECLARATION_REQUEST, MAX_FIND_QUERY_CHARS, MAX_FIND_QUERY_WORDS, MAX_FIND_RESULTS } from "../limits.ts";
import { normalizeCode } from "../code-tool.ts";
import { errorShape, shapeOutput, type CodeToolOutput } from "../output.ts";
import { CATALOGUE_DECLARATIONS, catalogueOf, rank, wordsOf, type CatalogueEntry } from "./catalogue.ts";

/** Options of {@link createSearchTool}. */
export interface SearchToolOptions {
  readonly api: CodeApi;
  readonly executor: () => Promise<CodeExecutor>;
  readonly maxResultChars: number;
  readonly maxLogChars: number;
  /** Text appended to the description (what the API is). */
  readonly about?: string | undefined;
}

const MAX_TAGS_CHARS = 400;

/** The `search` tool. */
export function createSearchTool(options: SearchToolOptions): Tool<{ code: string }, CodeToolOutput> {
  const entries = catalogueOf(options.api);
  const fns = catalogueFunctions(options.api, entries);
  return tool({
    description: searchDescription(entries, options),
    inputSchema: z.object({ code: z.string().describe("Source of an async arrow function: async () => { … }") }),
    execute: async ({ code }): Promise<CodeToolOutput> => {
      let run: ExecuteResult;
      try {
        const executor = await options.executor();
        run = await executor.execute(withCatalogue(normalizeCode(code)), fns);
      } catch (error) {
        run = { error: errorShape(error), logs: [] };
      }
      return shapeOutput(run, options.maxResultChars, options.maxLogChars);
    },
  });
}

function searchDescription(entries: readonly CatalogueEntry[], options: SearchToolOptions): string {
  const tags = [...new Set(entries.flatMap((e) => e.tags))];
  let tagLine = tags.join(", ");
  if (tagLine.length > MAX_TAGS_CHARS) tagLine = `${tagLine.slice(0, MAX_TAGS_CHARS).replace(/,[^,]*$/, "")}, …`;
  return [
    `Search the API (${entries.length} operations${tags.length > 0 ? `; tags: ${tagLine}` : ""}) before calling it with execute.`,
    "Write one async arrow function, `async () => { … }`, over `catalogue` and return what you need, e.g.",
    "`(await catalogue.find(\"list issues\")).map(o => o.name)`, then `catalogue.declarations(names)` for the",
    `TypeScript of those you will call. The result is cut to ${options.maxResultChars} characters. No network.`,
    options.about ?? "",
    "```ts",
    CATALOGUE_DECLARATIONS,
    "```",
  ].filter((line) => line !== "").join("\n");
}

/** The host side of `catalogue.find` and `catalogue.declarations`, with their limits. */
function catalogueFunctions(api: CodeApi, entries: readonly CatalogueEntry[]): Record<string, HostFunction> {
  const find: HostFunction = async (args?: unknown) => {
    const { query, limit } = (typeof args === "object" && args !== null ? args : {}) as { query?: unknown; limit?: unknown };
    if (typeof query !== "string") throw new TypeError("catalogue.find(query, limit?): query must be a string");
    // Ranking runs here, on the host's thread, at a cost of each distinct word times every operation: the query is bounded.
    if (query.length > MAX_FIND_QUERY_CHARS) {
      throw new RangeError(`catalogue.find: the query is ${query.length} characters, more than MAX_FIND_QUERY_CHARS (${MAX_FIND_QUERY_CHARS}); search with a few keywords`);
    }
    const words = new Set(wordsOf(query)).size;
    if (words > MAX_FIND_QUERY_WORDS) {
      throw new RangeError(`catalogue.find: the query has ${words} distinct words, more than MAX_FIND_QUERY_WORDS (${MAX_FIND_QUERY_WORDS}); search with a few keywords`);
    }
    const n = limit === undefined ? 10 : limit;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_FIND_RESULTS) {
      throw new RangeError(`catalogue.find: limit must be an integer from 1 to MAX_FIND_RESULTS (${MAX_FIND_RESULTS})`);
    }
    return rank(entries, query, n);
  };
  const declarations: HostFunction = async (args?: unknown) => {
    const { names, options } = (typeof args === "object" && args !== null ? args : {}) as { names?: unknown; options?: unknown };
    const list = typeof names === "string" ? [names] : names;
    if (!Array.isArray(list) || !list.every((n): n is string => typeof n === "string")) {
      throw new TypeError("catalogue.declarations(names): names must be an array of operation names");
    }
    if (list.length > MAX_DECLARATION_REQUEST) {
      throw new RangeError(`catalogue.declarations: ${list.length} names asked, at most MAX_DECLARATION_REQUEST (${MAX_DECLARATION_REQUEST}) per call`);
    }
    const unknown = list.filter((n) => api.get(n) === undefined);
    if (unknown.length > 0) throw new Error(`catalogue.declarations: no operation named ${unknown.map((n) => JSON.stringify(n)).join(", ")}; names come from catalogue.operations`);
    const outputs = typeof options === "object" && options !== null ? (options as { outputs?: unknown }).outputs : undefined;
    return api.declarations([...new Set(list)], { outputs: outputs !== false });
  };
  const operations: HostFunction = async () => entries;
  return { operations, find, declarations } as Record<string, HostFunction>;
}

/**
 * The model's function inside one that builds `catalogue` from the host functions, so any
 * executor (they only provide `codemode`) can run a search. The operations are copied in only when
 * the code mentions them: a search that only calls `find` and `declarations` moves no catalogue.
 * The code ends on a line of its own, so a last `// comment` comments out nothing after it.
 */
function withCatalogue(fn: string): string {
  const operations = fn.includes("operations") ? "await codemode.operations()" : "[]";
  return `async () => {
  const catalogue = Object.freeze({
    operations: ${operations},
    find: (query, limit) => codemode.find({ query, limit }),
    declarations: (names, options) => codemode.declarations({ names, options }),
  });
  return await (${fn}
)();
}`;
}
