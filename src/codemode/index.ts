/**
 * `hearth/codemode`: tools as a typed API that model-written code calls inside a sandbox.
 *
 * @example
 * ```ts
 * import { createCodeTool, createCodeTools, openApiSource } from "hearth/codemode";
 * const codemode = createCodeTool({ tools: { getWeather, searchFlights } });
 * await generateText({ model, tools: { codemode }, prompt });
 * // any API, at a near-constant token cost: { search, execute } for a large one
 * const { tools } = createCodeTools({ sources: [openApiSource(spec, { headers: { authorization } })] });
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
export {
  createCodeTools,
  type CodeMode,
  type CodeModeTool,
  type CodeTools,
  type CodeToolsOptions,
} from "./code-tools.ts";
export type { ApiCallContext, ApiOperation, ApiSource, ValidationOutcome } from "./source.ts";
export { toolSource } from "./tool-source.ts";
export { openApiSource, type CredentialValues, type OpenApiSourceOptions } from "./openapi/source.ts";
export { openApiOperations, type HttpField, type HttpPlan, type OpenApiOperation } from "./openapi/operations.ts";
export { mcpSource, type McpListedTool, type McpSourceOptions, type McpToolResult, type McpToolsClient } from "./mcp-source.ts";
export { CATALOGUE_DECLARATIONS, type CatalogueEntry } from "./discovery/catalogue.ts";
export { DECLARATIONS_INSTRUCTION, DISCOVERY_EXECUTE_DESCRIPTION } from "./discovery/execute-tool.ts";
export {
  DEFAULT_CODE_WALL_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_MAX_SEARCH_RESULT_CHARS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_SEARCH_CPU_MS,
  DISCOVERY_THRESHOLD_CHARS,
  MAX_CATALOGUE_DESCRIPTION_CHARS,
  MAX_CATALOGUE_OPERATIONS,
  MAX_CATALOGUE_PARAMS_CHARS,
  MAX_DECLARATION_REQUEST,
  MAX_ERROR_BODY_CHARS,
  MAX_FIND_QUERY_CHARS,
  MAX_FIND_QUERY_WORDS,
  MAX_FIND_RESULTS,
  MAX_REQUEST_BODY_BYTES,
  MAX_VALIDATION_CHECKS,
  MAX_VALIDATION_CHECKS_PER_VALUE,
  MAX_VALIDATION_DEPTH,
  MIN_LOG_LINE_CHARS,
} from "./limits.ts";
