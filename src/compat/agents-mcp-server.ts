/**
 * What `import … from "agents/mcp/server"` resolves to while Hearth runs a project: the stateless
 * MCP endpoint under the Agents SDK's names (`createMcpHandler`, `getMcpAuthContext`), as that
 * subpath exports them.
 * @module
 */
export {
  createMcpHandler,
  getMcpAuthContext,
  type CreateMcpHandlerOptions,
  type McpAuthContext,
  type StatelessMcpHandler,
} from "../mcp/index.ts";
