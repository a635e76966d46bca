/**
 * hearth/mcp: agents that are MCP servers ({@link McpAgent}), stateless MCP endpoints
 * ({@link createMcpHandler}) and MCP over agent bindings ({@link RpcClientTransport}), on the official
 * MCP TypeScript SDK.
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
export { McpServer, type AuthInfo, type ElicitResult } from "@modelcontextprotocol/server";
export { McpAgent, MCP_SSE_SESSION_CHECK_MS } from "./server/mcp-agent.ts";
export type { McpAuthOptions } from "./server/auth.ts";
export type { McpHandler, McpServeOptions, McpServeTransport } from "./server/serve.ts";
export { MAX_MCP_REQUEST_BYTES, MCP_SSE_KEEPALIVE_MS } from "./server/serve.ts";
export { MAX_MCP_SESSIONS } from "./server/session-limit.ts";
export { MAX_MCP_SSE_BUFFER_BYTES } from "./server/sse-transport.ts";
export { MAX_STORED_EVENTS, MAX_STORED_EVENT_BYTES } from "./server/event-store.ts";
export { MAX_MCP_JSON_DEPTH } from "./server/json-body.ts";
export type { McpRequestExtra, McpRequestInfo } from "./server/request-extra.ts";
export {
  createMcpHandler,
  type CreateMcpHandlerOptions,
  type McpCorsOptions,
  type McpHandlerRequestOptions,
  type StatelessMcpHandler,
} from "./server/handler.ts";
export { getMcpAuthContext, type McpAuthContext } from "./server/auth-context.ts";
export {
  RpcClientTransport,
  RPC_AGENT_PREFIX,
  MAX_RPC_SESSION_KEY_BYTES,
  rpcSessionAgentName,
  type McpRpcAgent,
  type RpcClientTransportOptions,
} from "./rpc/client-transport.ts";
export {
  RpcServerTransport,
  MCP_RPC_TIMEOUT_MS,
  MAX_MCP_RPC_OUTBOX,
  MAX_MCP_RPC_ABANDONED,
  type McpRpcReply,
  type RpcServerTransportOptions,
} from "./rpc/server-transport.ts";

// The MCP client every agent has (`this.addMcpServer`, `this.mcp`): its types and errors.
export * from "./client/index.ts";
