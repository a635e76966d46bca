/**
 * The tools of connected MCP servers as a code-mode API source (an agent's `this.mcp`, or anything
 * with the same `listTools` / `callTool`).
 */
import type { JsonSchema } from "./declarations.ts";
import type { ApiOperation, ApiSource } from "./source.ts";

/**
 * An MCP tool as listed by the client (the fields code mode reads).
 *
 * @example
 * ```ts
 * const listed: McpListedTool = { serverId: "calc", name: "add", inputSchema: { type: "object", properties: {} } };
 * ```
 */
export interface McpListedTool {
  readonly serverId: string;
  readonly name: string;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly inputSchema: object;
  readonly outputSchema?: object | undefined;
}

/**
 * What a tool call answers (MCP's `CallToolResult`, the fields code mode reads).
 *
 * @example
 * ```ts
 * const result: McpToolResult = { content: [{ type: "text", text: "5" }] };
 * ```
 */
export interface McpToolResult {
  readonly content?: ReadonlyArray<{ readonly type: string; readonly text?: string }>;
  readonly structuredContent?: unknown;
  readonly isError?: boolean | undefined;
}

/**
 * The part of an MCP client code mode needs; an agent's `this.mcp` (McpClientManager) has it.
 *
 * @example
 * ```ts
 * const client: McpToolsClient = this.mcp;
 * ```
 */
export interface McpToolsClient {
  listTools(filter?: { serverId?: string | string[] }): ReadonlyArray<McpListedTool>;
  callTool(
    params: { serverId: string; name: string; arguments?: Record<string, unknown> },
    options?: { signal?: AbortSignal },
  ): Promise<McpToolResult>;
}

/**
 * Options of {@link mcpSource}.
 *
 * @example
 * ```ts
 * const options: McpSourceOptions = { serverId: ["docs", "calc"] };
 * ```
 */
export interface McpSourceOptions {
  /** Only the tools of these servers; default every server that is ready. */
  readonly serverId?: string | string[];
}

/**
 * An API source over the tools of MCP servers, listed when this is called (call it again after
 * servers change). Each tool is the operation `<serverId>_<tool name>`, tagged with its server. A
 * call resolves to the tool's `structuredContent` when it has one, else to its text (the text parts
 * joined), else to its content list; a result with `isError` rejects with its text.
 *
 * @example
 * ```ts
 * // inside an agent, after this.addMcpServer("calc", url, { id: "calc" })
 * const { tools } = createCodeTools({ sources: [mcpSource(this.mcp)] });
 * // the model's code: const sum = await codemode.calc_add({ a: 2, b: 3 }); // "5"
 * ```
 */
export function mcpSource(client: McpToolsClient, options: McpSourceOptions = {}): ApiSource {
  const listed = client.listTools(options.serverId === undefined ? undefined : { serverId: options.serverId });
  const byName = new Map<string, McpListedTool>();
  const operations: ApiOperation[] = [];
  for (const tool of listed) {
    const name = `${tool.serverId}_${tool.name}`;
    if (byName.has(name)) continue;
    byName.set(name, tool);
    operations.push({
      name,
      description: tool.description ?? tool.title,
      tags: [tool.serverId],
      inputSchema: objectSchema(tool.inputSchema),
      outputSchema: tool.outputSchema === undefined ? undefined : (tool.outputSchema as JsonSchema),
    });
  }
  return {
    operations,
    async call(name, input, context) {
      const tool = byName.get(name);
      if (tool === undefined) throw new Error(`no MCP tool named ${JSON.stringify(name)}`);
      const args = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
      const result = await client.callTool({ serverId: tool.serverId, name: tool.name, arguments: args }, context.abortSignal === undefined ? {} : { signal: context.abortSignal });
      const text = (result.content ?? []).filter((part) => part.type === "text").map((part) => part.text ?? "").join("\n");
      if (result.isError === true) throw new Error(text || `MCP tool ${tool.name} failed`);
      if (result.structuredContent !== undefined) return result.structuredContent;
      const content = result.content ?? [];
      return content.every((part) => part.type === "text") ? text : content;
    },
  };
}

/** MCP input schemas are object schemas; the dialect marker is dropped. */
function objectSchema(schema: object): JsonSchema {
  const { $schema: _dialect, ...rest } = schema as Record<string, unknown>;
  return { ...rest, type: "object", properties: (rest.properties as Record<string, unknown> | undefined) ?? {} };
}
