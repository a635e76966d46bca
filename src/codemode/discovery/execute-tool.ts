/**
 * The `execute` tool: the model's code calls the API's operations as `codemode.<name>(input)`. In
 * declarations mode its description carries every declaration; in discovery mode only a short
 * instruction (the declarations come from `search`).
 */
import { tool, type Tool } from "ai";
import { z } from "zod";
import type { CodeApi } from "../api.ts";
import { normalizeCode } from "../code-tool.ts";
import type { CodeExecutor } from "../executor.ts";
import type { CodeToolOutput } from "../output.ts";
import { runCode } from "../run-calls.ts";

/** Options of {@link createExecuteTool}. */
export interface ExecuteToolOptions {
  readonly api: CodeApi;
  readonly executor: () => Promise<CodeExecutor>;
  readonly description: string;
  readonly maxResultChars: number;
  readonly maxLogChars: number;
}

/**
 * The instruction of declarations mode; the declarations follow it.
 *
 * @example
 * ```ts
 * String(createCodeTools({ tools, mode: "declarations" }).tools.execute.description).startsWith(DECLARATIONS_INSTRUCTION); // true
 * ```
 */
export const DECLARATIONS_INSTRUCTION =
  "Run JavaScript that calls the API below. Write one async arrow function, `async () => { … }`, " +
  "that calls the `codemode` methods (they return promises; await them, combine several calls, loop, " +
  "filter) and returns the result the task needs. console.log output is returned too. No network, " +
  "no file system, no modules. A failed call rejects with an Error whose message says why.";

/**
 * The whole description of discovery mode's `execute` (after the `about` line, if any).
 *
 * @example
 * ```ts
 * createCodeTools({ sources, mode: "discovery" }).tools.execute.description === DISCOVERY_EXECUTE_DESCRIPTION; // true
 * ```
 */
export const DISCOVERY_EXECUTE_DESCRIPTION =
  "Run JavaScript that calls the API. First use the search tool to find operations and their " +
  "TypeScript declarations. Then write one async arrow function, `async () => { … }`, that calls " +
  "`codemode.<name>(input)` for those operations (they return promises; await them, combine several " +
  "calls, loop, filter) and returns what the task needs. Inputs are checked against the declared " +
  "types. console.log output is returned too. No network, no file system, no modules. A failed call " +
  "rejects with an Error whose message says why.";

/** The `execute` tool. */
export function createExecuteTool(options: ExecuteToolOptions): Tool<{ code: string }, CodeToolOutput> {
  return tool({
    description: options.description,
    inputSchema: z.object({ code: z.string().describe("Source of an async arrow function: async () => { … }") }),
    execute: async ({ code }, execution): Promise<CodeToolOutput> =>
      runCode(
        execution.abortSignal,
        async (calls) => (await options.executor()).execute(withNamedMisses(normalizeCode(code)), options.api.hostFunctions(execution, calls)),
        { maxResultChars: options.maxResultChars, maxLogChars: options.maxLogChars },
      ),
  });
}

/**
 * The model's function with `codemode` behind a proxy whose unknown methods throw a clear error
 * (rather than QuickJS's "not a function"), so a guessed name leads the model back to search. The
 * proxy is the parameter of the function the code runs in: the code sees no other name of ours.
 * The code ends on a line of its own, so a last `// comment` comments out nothing after it.
 */
function withNamedMisses(fn: string): string {
  return `async () => await (async (codemode) => await (${fn}
)())(new Proxy(codemode, {
  get(target, key) {
    if (typeof key !== "string" || key in target || key in Object.prototype || key === "then" || key === "toJSON") return target[key];
    throw new TypeError("codemode." + key + " is not an operation of this API; find the operations and their names with the search tool");
  },
}))`;
}
