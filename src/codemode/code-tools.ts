/**
 * `createCodeTools`: code mode over any API (AI SDK tools, OpenAPI documents, MCP servers) at a
 * near-constant token cost: small APIs get every declaration in `execute`'s description; large
 * ones get `search` (code over a catalogue) and a short `execute`.
 */
import type { Tool } from "ai";
import { CodeApi } from "./api.ts";
import { DEFAULT_MAX_LOG_CHARS, DEFAULT_MAX_RESULT_CHARS } from "./code-tool.ts";
import { createExecuteTool, DECLARATIONS_INSTRUCTION, DISCOVERY_EXECUTE_DESCRIPTION } from "./discovery/execute-tool.ts";
import { createSearchTool } from "./discovery/search-tool.ts";
import type { CodeExecutor } from "./executor.ts";
import { DEFAULT_MAX_SEARCH_RESULT_CHARS, DEFAULT_SEARCH_CPU_MS, DISCOVERY_THRESHOLD_CHARS } from "./limits.ts";
import type { CodeToolOutput } from "./output.ts";
import type { ApiSource } from "./source.ts";
import { toolSource } from "./tool-source.ts";
import type { CodeModeTools } from "./tools.ts";

/**
 * How the API reaches the model: `"declarations"` (one `execute` tool whose description holds every
 * declaration), `"discovery"` (`search` + a short `execute`), or `"auto"` (declarations while they fit
 * in `discoveryThresholdChars`, discovery beyond).
 *
 * @example
 * ```ts
 * const mode: CodeMode = "auto";
 * ```
 */
export type CodeMode = "auto" | "declarations" | "discovery";

/**
 * Options of {@link createCodeTools}. Give `tools`, `sources`, or both.
 *
 * @example
 * ```ts
 * const options: CodeToolsOptions = { sources: [openApiSource(spec, { headers: { authorization: `Bearer ${token}` } })] };
 * ```
 */
export interface CodeToolsOptions {
  /** AI SDK tools (shorthand for `sources: [toolSource(tools)]`, listed first). */
  readonly tools?: CodeModeTools;
  /** API sources: `toolSource`, `openApiSource`, `mcpSource`, or your own. */
  readonly sources?: readonly ApiSource[];
  /** Default `"auto"`. */
  readonly mode?: CodeMode;
  /** Auto mode's switch: declarations longer than this many characters mean discovery. Default 3,500. */
  readonly discoveryThresholdChars?: number;
  /** Where `execute` code runs; default a fresh sandbox per call (`sandboxExecutor()`). */
  readonly executor?: CodeExecutor;
  /** Where `search` code runs; default a fresh sandbox per call with `cpuMs` 500. */
  readonly searchExecutor?: CodeExecutor;
  /** Bound on the JSON of `execute`'s return value. Default 20,000 characters. */
  readonly maxResultChars?: number;
  /** Bound on the JSON of `search`'s return value. Default 12,000 characters. */
  readonly maxSearchResultChars?: number;
  /** Bound on the console output returned by either tool. Default 8,000 characters. */
  readonly maxLogChars?: number;
  /** One line on what the API is, added to the descriptions ("The GitHub REST API."). */
  readonly about?: string;
}

/**
 * A code tool: input `{ code }`, output `{ result | error, logs }`.
 *
 * @example
 * ```ts
 * const execute: CodeModeTool = createCodeTools({ tools }).tools.execute;
 * ```
 */
export type CodeModeTool = Tool<{ code: string }, CodeToolOutput>;

/**
 * What {@link createCodeTools} made: the mode it chose and the tools to hand to the model.
 *
 * @example
 * ```ts
 * const { mode, tools } = createCodeTools({ sources });
 * console.log(mode, Object.keys(tools)); // "discovery" [ "search", "execute" ]
 * ```
 */
export interface CodeTools {
  readonly mode: "declarations" | "discovery";
  readonly tools: { readonly execute: CodeModeTool; readonly search?: CodeModeTool };
  /** Number of operations of the API. */
  readonly operations: number;
  /** Characters of all declarations, when they were generated (declarations mode; auto mode unless the API is obviously larger). */
  readonly declarationChars?: number;
}

/**
 * Creates the code-mode tools for an API. In declarations mode: `{ execute }`, whose description
 * holds the TypeScript of every operation. In discovery mode: `{ search, execute }` — `search` runs
 * code over a typed catalogue (`catalogue.operations`, `catalogue.find(query)`,
 * `catalogue.declarations(names)`), `execute` runs code calling `codemode.<name>(input)`.
 *
 * @example
 * ```ts
 * import { generateText, stepCountIs } from "ai";
 * import { createCodeTools, openApiSource } from "hearth/codemode";
 *
 * const github = openApiSource(spec, { headers: { authorization: `Bearer ${process.env.GITHUB_TOKEN}` } });
 * const { tools } = createCodeTools({ sources: [github], about: "The GitHub REST API." });
 * await generateText({ model, tools, stopWhen: stepCountIs(5), prompt: "Open issues of octocat/hello-world?" });
 * ```
 */
export function createCodeTools(options: CodeToolsOptions): CodeTools {
  const sources = [...(options.tools === undefined ? [] : [toolSource(options.tools)]), ...(options.sources ?? [])];
  const api = new CodeApi(sources);
  const mode = options.mode ?? "auto";
  if (mode !== "auto" && mode !== "declarations" && mode !== "discovery") {
    throw new TypeError(`codemode: mode must be "auto", "declarations" or "discovery", got ${JSON.stringify(mode)}`);
  }
  const threshold = options.discoveryThresholdChars ?? DISCOVERY_THRESHOLD_CHARS;
  const maxResultChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  const maxLogChars = options.maxLogChars ?? DEFAULT_MAX_LOG_CHARS;
  const executor = async () => options.executor ?? (await defaultExecutor());
  const about = options.about === undefined ? "" : `${options.about.trim()}\n\n`;

  let declarationChars: number | undefined;
  // The declarations hold every name and description in full: when those alone pass the threshold,
  // auto mode needs no declarations to decide (a large API is not rendered to be thrown away).
  const floor = api.operations.reduce((n, op) => n + op.identifier.length + (op.operation.description?.length ?? 0), 0);
  if (mode === "declarations" || (mode === "auto" && floor <= threshold)) {
    const declarations = api.declarations();
    declarationChars = declarations.length;
    if (mode === "declarations" || declarations.length <= threshold) {
      const description = `${about}${DECLARATIONS_INSTRUCTION}\n\n\`\`\`ts\n${declarations}\n\`\`\``;
      const execute = createExecuteTool({ api, executor, description, maxResultChars, maxLogChars });
      return { mode: "declarations", tools: { execute }, operations: api.operations.length, declarationChars: declarations.length };
    }
  }
  const search = createSearchTool({
    api,
    executor: async () => options.searchExecutor ?? (await defaultExecutor({ cpuMs: DEFAULT_SEARCH_CPU_MS })),
    maxResultChars: options.maxSearchResultChars ?? DEFAULT_MAX_SEARCH_RESULT_CHARS,
    maxLogChars,
    about: options.about,
  });
  const execute = createExecuteTool({ api, executor, description: `${about}${DISCOVERY_EXECUTE_DESCRIPTION}`, maxResultChars, maxLogChars });
  const made: CodeTools = { mode: "discovery", tools: { search, execute }, operations: api.operations.length };
  return declarationChars === undefined ? made : { ...made, declarationChars };
}

let sandboxExecutorModule: Promise<typeof import("./sandbox-executor.ts")> | undefined;

async function defaultExecutor(limits: { cpuMs?: number } = {}): Promise<CodeExecutor> {
  sandboxExecutorModule ??= import("./sandbox-executor.ts");
  return (await sandboxExecutorModule).sandboxExecutor(limits);
}
