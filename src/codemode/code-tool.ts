/**
 * `createCodeTool`: one AI SDK tool that runs model-written code against a typed API of other tools.
 */
import * as acorn from "acorn";
import { tool, type Tool, type ToolExecutionOptions } from "ai";
import { z } from "zod";
import type { CodeExecutor, HostFunction } from "./executor.ts";
import { isAsyncIterable, issuesOf, lastOf, type CodeToolOutput } from "./output.ts";
import { runCode, type RunCalls } from "./run-calls.ts";
import { declarationsOf, exposedTools, type CodeModeTools, type ExposedTool } from "./tools.ts";
import { validateJsonSchema } from "./validate-json-schema.ts";

export { truncationMarker, type CodeToolOutput } from "./output.ts";

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
    execute: async ({ code }, execution): Promise<CodeToolOutput> =>
      runCode(
        execution.abortSignal,
        async (calls) => (options.executor ?? (await defaultExecutor())).execute(normalizeCode(code), hostFunctions(exposed, execution, calls)),
        { maxResultChars, maxLogChars },
      ),
  });
}

let sandboxExecutorModule: Promise<{ sandboxExecutor: () => CodeExecutor }> | undefined;

async function defaultExecutor(): Promise<CodeExecutor> {
  sandboxExecutorModule ??= import("./sandbox-executor.ts");
  return (await sandboxExecutorModule).sandboxExecutor();
}

/** One host function per exposed tool: validate the input, then execute the tool if the run is still on. */
function hostFunctions(exposed: readonly ExposedTool[], execution: ToolExecutionOptions<unknown>, run: RunCalls): Record<string, HostFunction> {
  const fns: Record<string, HostFunction> = Object.create(null) as Record<string, HostFunction>;
  let calls = 0;
  for (const t of exposed) {
    fns[t.identifier] = async (raw?: unknown) => {
      const call = ++calls;
      const input = raw === undefined && isObjectRoot(t) ? {} : raw;
      const validated = async () => {
        const valid = await validateInput(t, input);
        if (t.tool.execute === undefined) throw new Error(`codemode.${t.identifier} cannot be executed`);
        return { valid, execute: t.tool.execute };
      };
      return run.call(t.identifier, validated, async ({ valid, execute }) => {
        const output: unknown = await execute(valid, {
          toolCallId: `${execution.toolCallId}:${call}:${t.name}`,
          messages: execution.messages,
          abortSignal: run.signal,
          context: execution.context,
        });
        return isAsyncIterable(output) ? await lastOf(output) : output;
      });
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

function isObjectRoot(t: ExposedTool): boolean {
  const json = t.inputJson;
  return typeof json === "object" && (json.type === "object" || "properties" in json);
}

/**
 * The model's code as a function expression, read with a JavaScript parser (acorn) rather than
 * guessed from its first characters. Markdown fences are stripped, then:
 * - a lone function (`async () => { … }`, `async function main() { … }`) is kept as it is, without
 *   comments around it or a last `;`;
 * - `export default <code>` is read as `<code>` (a function there, named or not, is kept);
 * - otherwise the code is a body: wrapped in `async () => { … }`, its last statement returned when it
 *   is an expression (`await codemode.ok({})`, `const r = …; r`, an IIFE `(async () => { … })()`);
 *   a function there is called (helpers, then the main function). Code the parser refuses is wrapped
 *   as it is, so the sandbox reports its syntax error.
 *
 * @example
 * ```ts
 * const fence = "`".repeat(3);
 * normalizeCode(`${fence}js\nasync () => 1\n${fence}`); // "async () => 1"
 * normalizeCode("// the sum\nasync () => 1 + 1"); // "async () => 1 + 1"
 * normalizeCode("return 1;"); // "async () => {\nreturn 1;\n}"
 * normalizeCode("const r = await codemode.ok({});\nr"); // "async () => {\nconst r = await codemode.ok({});\nreturn (r);\n}"
 * ```
 */
export function normalizeCode(code: string): string {
  let source = code.trim();
  const fenced = /^```[\w+-]*[^\S\n]*\n([\s\S]*?)\n?```\s*$/.exec(source);
  if (fenced?.[1] !== undefined) source = fenced[1].trim();
  if (source === "") return "async () => {}";
  const program = parseProgram(source);
  const body = `async () => {\n${source}\n}`;
  if (program === undefined) return body;
  const [first] = program.body;
  const last = program.body.at(-1);
  if (program.body.length === 1 && first !== undefined) {
    if (first.type === "ExpressionStatement" && isFunction(first.expression)) return source.slice(first.expression.start, first.expression.end);
    if (first.type === "FunctionDeclaration") return source.slice(first.start, first.end);
    if (first.type === "ExportDefaultDeclaration") {
      const declared = first.declaration;
      const text = source.slice(declared.start, declared.end);
      return isFunction(declared) || declared.type === "FunctionDeclaration" ? text : normalizeCode(text);
    }
  }
  if (last?.type !== "ExpressionStatement") return body;
  const value = source.slice(last.expression.start, last.expression.end);
  const returned = isFunction(last.expression) ? `(${value})()` : `(${value})`;
  return `async () => {\n${source.slice(0, last.start)}return ${returned};\n}`;
}

/** The code as a module (await and return allowed at the top), else as a script; undefined if neither parses. */
function parseProgram(source: string): acorn.Program | undefined {
  for (const sourceType of ["module", "script"] as const) {
    try {
      return acorn.parse(source, { ecmaVersion: "latest", sourceType, allowReturnOutsideFunction: true, allowAwaitOutsideFunction: true });
    } catch {
      // the next reading, or none
    }
  }
  return undefined;
}

function isFunction(node: acorn.Node): boolean {
  return node.type === "ArrowFunctionExpression" || node.type === "FunctionExpression";
}
