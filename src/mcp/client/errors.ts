/**
 * Errors of the MCP client. Each carries the server it is about and a `code` to branch on; the
 * message is meant to be read by the developer (and, through tool errors, by a model).
 */

/**
 * `timeout` and `limit` name the limit in the message; `protocol` is a server that broke the
 * protocol (invalid JSON-RPC, wrong content); `server` a JSON-RPC error the server answered with;
 * `connection` a network failure or a dropped connection; `unauthorized` a server waiting for the user to
 * authorize; `not-connected` a server that is not ready; `unknown-server` an id nobody mounted;
 * `callback-url` an OAuth flow without a known public URL for the callback.
 */
import { withoutUserinfo } from "../../web/userinfo.ts";

export type McpClientErrorCode =
  | "timeout"
  | "limit"
  | "protocol"
  | "server"
  | "unauthorized"
  | "not-connected"
  | "unknown-server"
  | "callback-url"
  | "connection";

/**
 * Thrown by `this.mcp` calls and `addMcpServer`.
 * @example
 * try { await this.mcp.callTool({ serverId, name: "search", arguments: { q } }); }
 * catch (error) { if (error instanceof McpClientError && error.code === "unauthorized") notifyUser(error.message); }
 */
export class McpClientError extends Error {
  readonly code: McpClientErrorCode;
  readonly serverId: string | undefined;

  constructor(code: McpClientErrorCode, message: string, options?: { serverId?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "McpClientError";
    this.code = code;
    this.serverId = options?.serverId;
  }
}

/** Server-controlled text (error messages, descriptions) cut to a length fit for a log line or a frame. */
export function clip(text: string, max = 500): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** C0 control characters but tab, line feed and carriage return, and DEL: what the Agents SDK strips. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * Server-supplied text made fit for the `cf_agent_mcp_servers` frame, as the Agents SDK does it:
 * control characters stripped and cut at `max` characters (then `...`). Credentials written into a
 * URL (`https://user:pass@host`) are dropped too, for an error that quotes the server's URL.
 * @example
 * frameText("\u001b[2Jboom"); // "[2Jboom"
 */
export function frameText(text: string, max: number): string {
  const clean = withoutUserinfo(text.replace(CONTROL_CHARACTERS, ""));
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

export { messageOf } from "../../agent/rpc.ts";
