/**
 * `hearth/codemode`: tools as a typed API that model-written code calls inside a sandbox.
 *
 * @example
 * ```ts
 * import { createCodeTool } from "hearth/codemode";
 * const codemode = createCodeTool({ tools: { getWeather, searchFlights } });
 * await generateText({ model, tools: { codemode }, prompt });
 * ```
 */
export {
  createCodeTool,
  normalizeCode,
  truncationMarker,
  DEFAULT_MAX_LOG_CHARS,
  DEFAULT_MAX_RESULT_CHARS,
  type CodeToolOptions,
  type CodeToolOutput,
} from "./code-tool.ts";
export { generateDeclarations, toolIdentifiers, type JsonSchema, type ToolSignature } from "./declarations.ts";
export type { CodeExecutor, ExecuteResult, HostFunction } from "./executor.ts";
export { sandboxExecutor, type SandboxExecutorOptions } from "./sandbox-executor.ts";
export { exposedTools, generateToolDeclarations, hiddenReason, type CodeModeTools, type ExposedTool } from "./tools.ts";
export { validateJsonSchema } from "./validate-json-schema.ts";
