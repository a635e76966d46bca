/**
 * The MCP client of every agent: mount remote MCP servers by URL (`this.addMcpServer`), use their
 * tools, prompts and resources through `this.mcp`, and hand their tools to the AI SDK.
 * @example
 * const { id } = await this.addMcpServer("docs", "https://docs.example/mcp");
 * const { text } = await generateText({ model, tools: this.mcp.getAITools(), prompt: question });
 * @packageDocumentation
 */
export { McpClientManager } from "./manager.ts";
export { McpClientError, type McpClientErrorCode } from "./errors.ts";
export { MCP_CLIENT_LIMITS, MAX_MCP_SERVERS, type McpClientLimits } from "./limits.ts";
export { toolKey, MAX_TOOL_KEY_LENGTH, type McpAIToolSet } from "./ai-tools.ts";
export { normalizeServerId, MCP_SERVER_ID_MAX_LENGTH } from "./server-id.ts";
// Every public type of the client (its own and the SDK types it names), listed once in types.ts.
export type * from "./types.ts";
