/**
 * `createCodeTool`: one AI SDK tool that runs model-written code against a typed API of other tools.
 */
import { tool, type Tool, type ToolExecutionOptions } from "ai";
import { z } from "zod";
import type { CodeExecutor, ExecuteResult, HostFunction } from "./executor.ts";
import { declarationsOf, exposedTools, type CodeModeTools, type ExposedTool } from "./tools.ts";
import { validateJsonSchema } from "./validate-json-schema.ts";

/**
 * Default bound on the serialized return value, in characters (UTF-16 code units). The sandbox has
 * its own, larger bound on console output plus result (its `maxOutputBytes`, 1 MiB by default).
 *
 * @example
 * ```ts
 * createCodeTool({ tools, maxResultChars: DEFAULT_MAX_RESULT_CHARS * 2 });
 * ```
 */
export const DEFAULT_MAX_RESULT_CHARS = 20_000;
/**
 * Default bound on the console output returned, in characters, over all lines.
 *
 * @example
 * ```ts
 * createCodeTool({ tools, maxLogChars: DEFAULT_MAX_LOG_CHARS / 2 });
 * ```
 */
export const DEFAULT_MAX_LOG_CHARS = 8_000;

/**
 * Options of {@link createCodeTool}.
 *
 * @example
 * ```ts
 * const options: CodeToolOptions = { tools: { getWeather }, maxResultChars: 10_000 };
 * ```
 */
export interface CodeToolOptions {
  /** The tools the code may call, as `codemode.<name>(input)`. Tools that need approval are left out. */
  readonly tools: CodeModeTools;
  /** Where the code runs; default: a fresh hearth sandbox per call (`sandboxExecutor()`). */
  readonly executor?: CodeExecutor;
  /**
   * The tool's description. `{{types}}` in it is replaced by the generated declarations; without
   * the placeholder the declarations are appended. Default: a short instruction plus the declarations.
   */
  readonly description?: string;
  /** Bound on the JSON of the return value; beyond it the result is cut and marked. Default 20,000. */
  readonly maxResultChars?: number;
  /** Bound on the console output returned, over all lines. Default 8,000. */
  readonly maxLogChars?: number;
}

/**
 * What the code tool returns to the model: `{ result, logs }`, `{ result, truncated, logs }` or
 * `{ error, logs }`.
 *
 * @example
 * ```ts
 * const out = (await codemode.execute!({ code }, options)) as CodeToolOutput;
 * if (out.error) console.error(out.error.limit ?? out.error.name, out.error.message);
 * ```
 */
export interface CodeToolOutput {
  /** The function's return value (JSON-serializable), or its JSON cut to the bound, as a string, when `truncated`. */
  result?: unknown;
  /** Why the run failed: a thrown error, a tool's error, a sandbox limit (`limit` names it). */
  error?: { name: string; message: string; limit?: string };
  /** Set when `result` was cut to `maxResultChars`. */
  truncated?: true;
  /** Console output, one entry per call; non-`log` levels are prefixed (`[warn] …`). */
  logs: string[];
}

/**
 * The marker that ends a cut result or log: `… [truncated: <total> characters, <kept> shown]`.
 *
 * @example
 * ```ts
 * truncationMarker(52_000, 20_000); // "… [truncated: 52000 characters, 20000 shown]"
 * ```
 */
export function truncationMarker(total: number, kept: number): string {
  return `… [truncated: ${total} characters, ${kept} shown]`;
}

const DEFAULT_INSTRUCTION =
  "Run JavaScript that calls the API below. Write one async arrow function, `async () => { … }`, " +
  "that calls the `codemode` methods (they return promises; await them, combine several calls, loop, " +
  "filter) and returns the result the task needs. console.log output is returned too. No network, " +
  "no file system, no modules. A failed call rejects with an Error whose message says why.";

/**
 * Creates one AI SDK tool whose input is `{ code }`: the model writes an `async () => { … }` that
 * calls the given tools as `codemode.<name>(input)`; each call is validated against the tool's
 * input schema on the host, then executed; the return value and console output come back.
 *
 * @example
 * ```ts
 * import { generateText, tool } from "ai";
 * import { z } from "zod";
 * import { createCodeTool } from "hearth/codemode";
 *
 * const getWeather = tool({
 *   description: "Current weather in a city.",
 *   inputSchema: z.object({ city: z.string() }),
 *   execute: async ({ city }) => ({ city, celsius: 21 }),
 * });
 * const codemode = createCodeTool({ tools: { getWeather } });
 * await generateText({ model, tools: { codemode }, prompt: "Warmest of Paris, Oslo and Rome?" });
 * // the model calls codemode with { code: "async () => { const rs = await Promise.all(…); … }" }
 * ```
 */
export function createCodeTool(options: CodeToolOptions): Tool<{ code: string }, CodeToolOutput> {
  const exposed = exposedTools(options.tools);
  const declarations = declarationsOf(exposed);
  const block = `\`\`\`ts\n${declarations}\n\`\`\``;
  const description =
    options.description === undefined
      ? `${DEFAULT_INSTRUCTION}\n\n${block}`
      : options.description.includes("{{types}}")
        ? options.description.replaceAll("{{types}}", block)
        : `${options.description}\n\n${block}`;
  const maxResultChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  const maxLogChars = options.maxLogChars ?? DEFAULT_MAX_LOG_CHARS;

  return tool({
    description,
    inputSchema: z.object({
      code: z.string().describe("Source of an async arrow function: async () => { … }"),
    }),
    execute: async ({ code }, execution): Promise<CodeToolOutput> => {
      const executor = options.executor ?? (await defaultExecutor());
      const fns = hostFunctions(exposed, execution);
      let run: ExecuteResult;
      try {
        run = await executor.execute(normalizeCode(code), fns);
      } catch (error) {
        run = { error: errorShape(error), logs: [] };
      }
      return shapeOutput(run, maxResultChars, maxLogChars);
    },
  });
}

let sandboxExecutorModule: Promise<{ sandboxExecutor: () => CodeExecutor }> | undefined;

async function defaultExecutor(): Promise<CodeExecutor> {
  sandboxExecutorModule ??= import("./sandbox-executor.ts");
  return (await sandboxExecutorModule).sandboxExecutor();
}

/** One host function per exposed tool: validate the input, then execute the tool. */
function hostFunctions(exposed: readonly ExposedTool[], execution: ToolExecutionOptions<unknown>): Record<string, HostFunction> {
  const fns: Record<string, HostFunction> = Object.create(null) as Record<string, HostFunction>;
  let calls = 0;
  for (const t of exposed) {
    fns[t.identifier] = async (raw?: unknown) => {
      const call = ++calls;
      if (execution.abortSignal?.aborted) throw new Error("codemode: the run was aborted");
      const input = raw === undefined && isObjectRoot(t) ? {} : raw;
      const valid = await validateInput(t, input);
      const execute = t.tool.execute;
      if (execute === undefined) throw new Error(`codemode.${t.identifier} cannot be executed`);
      try {
        const output: unknown = await execute(valid, {
          toolCallId: `${execution.toolCallId}:${call}:${t.name}`,
          messages: execution.messages,
          abortSignal: execution.abortSignal,
          context: execution.context,
        });
        return isAsyncIterable(output) ? await lastOf(output) : output;
      } catch (error) {
        const shape = errorShape(error);
        const failure = new Error(`codemode.${t.identifier} failed: ${shape.message}`);
        failure.name = shape.name;
        throw failure;
      }
    };
  }
  return fns;
}

async function validateInput(t: ExposedTool, input: unknown): Promise<unknown> {
  if (t.input.validate !== undefined) {
    const result = await t.input.validate(input);
    if (result.success) return result.value;
    throw invalid(t, issuesOf(result.error));
  }
  const problems = validateJsonSchema(t.inputJson, input);
  if (problems.length > 0) throw invalid(t, problems);
  return input;
}

function invalid(t: ExposedTool, problems: string[]): Error {
  const error = new TypeError(`codemode.${t.identifier}: invalid input: ${problems.join("; ")}`);
  return error;
}

/** Zod and Standard Schema issues as `input.path: message`; anything else as its message. */
function issuesOf(error: unknown): string[] {
  const carrier = error as { issues?: unknown; cause?: { issues?: unknown }; message?: unknown };
  const issues = Array.isArray(carrier?.issues) ? carrier.issues : Array.isArray(carrier?.cause?.issues) ? carrier.cause.issues : undefined;
  if (issues === undefined) return [typeof carrier?.message === "string" ? carrier.message : String(error)];
  return issues.slice(0, 10).map((issue: { path?: unknown; message?: unknown }) => {
    const path = Array.isArray(issue.path)
      ? issue.path.map((p) => (typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p))
      : [];
    const where = path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), "input");
    return `${where}: ${typeof issue.message === "string" ? issue.message : "invalid"}`;
  });
}

function isObjectRoot(t: ExposedTool): boolean {
  const json = t.inputJson;
  return typeof json === "object" && (json.type === "object" || "properties" in json);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

/** A streaming tool's final value (the AI SDK treats the last yielded value as the output). */
async function lastOf(iterable: AsyncIterable<unknown>): Promise<unknown> {
  let last: unknown;
  for await (const value of iterable) last = value;
  return last;
}

function errorShape(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: typeof error === "string" ? error : safeJson(error) ?? String(error) };
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * The model's code as a function expression: markdown fences are stripped; a bare body (no
 * `async () =>` / `function` head) is wrapped in `async () => { … }`.
 *
 * @example
 * ```ts
 * const fence = "`".repeat(3);
 * normalizeCode(`${fence}js\nasync () => 1\n${fence}`); // "async () => 1"
 * normalizeCode("return 1;"); // "async () => {\nreturn 1;\n}"
 * ```
 */
export function normalizeCode(code: string): string {
  let source = code.trim();
  const fenced = /^```[A-Za-z]*\s*\n([\s\S]*?)\n?```\s*$/.exec(source);
  if (fenced?.[1] !== undefined) source = fenced[1].trim();
  const isFunction = /^(async\s+)?(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>/.test(source) || /^(async\s+)?function\b/.test(source);
  return isFunction ? source.replace(/;\s*$/, "") : `async () => {\n${source}\n}`;
}

function shapeOutput(run: ExecuteResult, maxResultChars: number, maxLogChars: number): CodeToolOutput {
  const output: CodeToolOutput = { logs: boundLogs(run.logs, maxLogChars) };
  if (run.error !== undefined) {
    output.error = run.error;
    return output;
  }
  if (run.result === undefined) return output;
  const json = safeJson(run.result);
  if (json === undefined) {
    output.error = { name: "TypeError", message: "the return value is not JSON-serializable" };
  } else if (json.length > maxResultChars) {
    output.result = json.slice(0, maxResultChars) + truncationMarker(json.length, maxResultChars);
    output.truncated = true;
  } else {
    output.result = JSON.parse(json) as unknown;
  }
  return output;
}

function boundLogs(logs: ExecuteResult["logs"], maxChars: number): string[] {
  const lines = logs.map((l) => (l.level === "log" ? l.message : `[${l.level}] ${l.message}`));
  const total = lines.reduce((n, l) => n + l.length, 0);
  if (total <= maxChars) return lines;
  const out: string[] = [];
  let budget = maxChars;
  for (const line of lines) {
    if (budget <= 0) break;
    out.push(line.length > budget ? line.slice(0, budget) : line);
    budget -= line.length;
  }
  out.push(truncationMarker(total, maxChars).replace(/^… /, ""));
  return out;
}
