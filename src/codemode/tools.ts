/**
 * AI SDK tools as code mode sees them: which are exposed, their identifiers, their JSON Schemas.
 */
import { asSchema, type Schema, type Tool } from "ai";
import { generateDeclarations, toolIdentifiers, type JsonSchema, type ToolSignature } from "./declarations.ts";

/**
 * A record of AI SDK tools (zod, Standard Schema or JSON Schema inputs; MCP tools are AI SDK tools too).
 *
 * @example
 * ```ts
 * const tools: CodeModeTools = { getWeather, ...(await mcpClient.tools()) };
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the AI SDK's own ToolSet uses `any` here
export type CodeModeTools = Readonly<Record<string, Tool<any, any, any>>>;

/**
 * One tool that code mode exposes.
 *
 * @example
 * ```ts
 * const [first]: ExposedTool[] = exposedTools({ "get-weather": getWeather });
 * first.identifier; // "get_weather": the code calls codemode.get_weather(input)
 * ```
 */
export interface ExposedTool {
  /** The key in the tool set. */
  readonly name: string;
  /** The property of `codemode` that calls it. */
  readonly identifier: string;
  readonly description: string | undefined;
  readonly input: Schema<unknown>;
  readonly inputJson: JsonSchema;
  readonly outputJson: JsonSchema | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see CodeModeTools
  readonly tool: Tool<any, any, any>;
}

/**
 * Why a tool is not exposed, or undefined when it is: tools that need approval (the model's code
 * cannot stop to ask a human), tools without `execute`, and provider-executed tools.
 *
 * @example
 * ```ts
 * hiddenReason(tool({ inputSchema: z.object({}), needsApproval: true, execute })); // "needs approval"
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see CodeModeTools
export function hiddenReason(tool: Tool<any, any, any>): string | undefined {
  if (tool.needsApproval !== undefined && tool.needsApproval !== false) return "needs approval";
  if (tool.type === "provider") return "provider tool";
  if (typeof tool.execute !== "function") return "no execute function";
  return undefined;
}

/**
 * The exposed tools of a tool set, in the set's order, with collision-free identifiers.
 *
 * @example
 * ```ts
 * const exposed = exposedTools({ "get-weather": weatherTool, deleteAll: dangerousTool });
 * exposed.map((t) => t.identifier); // ["get_weather"] when deleteAll has needsApproval: true
 * ```
 */
export function exposedTools(tools: CodeModeTools): ExposedTool[] {
  const entries = Object.entries(tools).filter(([, t]) => hiddenReason(t) === undefined);
  const ids = toolIdentifiers(entries.map(([name]) => name));
  return entries.map(([name, tool]) => {
    const input = asSchema<unknown>(tool.inputSchema);
    return {
      name,
      identifier: ids.get(name) ?? name,
      description: describe(tool),
      input,
      inputJson: syncJson(name, "input", input),
      outputJson: tool.outputSchema === undefined ? undefined : syncJson(name, "output", asSchema<unknown>(tool.outputSchema)),
      tool,
    };
  });
}

/**
 * TypeScript declarations of the exposed tools of an AI SDK tool set (see `generateDeclarations`).
 *
 * @example
 * ```ts
 * const types = generateToolDeclarations({ getWeather: tool({ description: "Weather now.",
 *   inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => lookup(city) }) });
 * ```
 */
export function generateToolDeclarations(tools: CodeModeTools): string {
  return declarationsOf(exposedTools(tools));
}

/** Declarations for an already computed list of exposed tools. */
export function declarationsOf(exposed: readonly ExposedTool[]): string {
  const signatures: ToolSignature[] = exposed.map((t) => ({
    name: t.name,
    description: t.description,
    inputSchema: t.inputJson,
    outputSchema: t.outputJson,
  }));
  return generateDeclarations(signatures);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see CodeModeTools
function describe(tool: Tool<any, any, any>): string | undefined {
  const description: unknown = tool.description;
  return typeof description === "string" ? description : undefined;
}

function syncJson(name: string, which: string, schema: Schema<unknown>): JsonSchema {
  const json: unknown = schema.jsonSchema;
  if (json !== null && typeof json === "object" && typeof (json as { then?: unknown }).then === "function") {
    throw new TypeError(
      `codemode: the ${which} schema of tool ${JSON.stringify(name)} resolves asynchronously; ` +
        "await its JSON Schema first and pass jsonSchema(resolved) instead",
    );
  }
  return json as JsonSchema;
}
