/**
 * hearth/mcp: agents that are MCP servers ({@link McpAgent}), on the official MCP TypeScript SDK.
 * @example
 * import { McpAgent, McpServer } from "hearth/mcp";
 * import { z } from "zod";
 * export class Tools extends McpAgent {
 *   server = new McpServer({ name: "tools", version: "1.0.0" });
 *   async init() {
 *     this.server.registerTool("add", { inputSchema: z.object({ a: z.number(), b: z.number() }) },
 *       async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }));
 *   }
 * }
 * export default Tools.serve("/mcp");
 */
export { McpServer, type AuthInfo } from "@modelcontextprotocol/server";
export { McpAgent } from "./server/mcp-agent.ts";
export type { McpAuthOptions } from "./server/auth.ts";
export type { McpHandler, McpServeOptions } from "./server/serve.ts";
export { MAX_MCP_REQUEST_BYTES } from "./server/serve.ts";
export { MAX_STORED_EVENTS } from "./server/event-store.ts";

// The MCP client every agent has (`this.addMcpServer`, `this.mcp`): its types and errors.
export * from "./client/index.ts";
