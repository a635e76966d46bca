import { AsyncLocalStorage } from "node:async_hooks";
import {
  isJSONRPCRequest,
  Server,
  type AuthInfo,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type ServerContext,
  type Transport,
} from "@modelcontextprotocol/server";
import { isSdkV2Server, withV1RequestInfo, type AnyMcpServer } from "./server-generation.ts";

/** The HTTP request behind an MCP message, as handlers see it in `extra.requestInfo`. */
export interface McpRequestInfo {
  /** The request's headers, by lower-case name. */
  readonly headers: Record<string, string>;
}

/**
 * The last argument of a tool, resource or prompt handler served by Hearth: the SDK's context plus the
 * fields the Agents SDK's `extra` has — `requestInfo` (the HTTP request's headers; absent over RPC),
 * `requestId` and `authInfo`. Annotate the parameter with it to read them.
 * @example
 * this.server.registerTool("agent", {}, async (_args, extra: McpRequestExtra) => ({
 *   content: [{ type: "text", text: extra.requestInfo?.headers["user-agent"] ?? "unknown" }],
 * }));
 */
export type McpRequestExtra = ServerContext & {
  requestInfo?: McpRequestInfo;
  requestId?: RequestId;
  authInfo?: AuthInfo;
};

type ContextBuilder = { buildContext(ctx: unknown, transportInfo?: MessageExtraInfo): ServerContext };

const extended = new WeakSet<object>();
const currentRequest = new AsyncLocalStorage<RequestId>();

/**
 * Adds `requestInfo`, `requestId` and `authInfo` to the context every handler of `server` receives.
 * The v2 SDK builds that context in its (protected) `buildContext`; this wraps it on the instance.
 * A v1 server builds them itself, from the transport info (see {@link trackCurrentRequest}).
 */
export function extendRequestContext(server: AnyMcpServer): void {
  if (!isSdkV2Server(server)) return;
  const low = server instanceof Server ? server : server.server;
  if (extended.has(low)) return;
  extended.add(low);
  const builder = low as unknown as ContextBuilder;
  const build = builder.buildContext.bind(builder);
  builder.buildContext = (ctx, transportInfo) => {
    const context: McpRequestExtra = build(ctx, transportInfo);
    context.requestId = context.mcpReq.id;
    if (context.http?.authInfo) context.authInfo = context.http.authInfo;
    if (transportInfo?.request) context.requestInfo = { headers: Object.fromEntries(transportInfo.request.headers) };
    return context;
  };
}

/**
 * After `server.connect(transport)`: each request's handler runs knowing the id of the request it
 * serves, so server-to-client requests it makes (`McpAgent.elicitInput`) travel with that request.
 * For a v1 server (`v1`), each message also carries the HTTP request in the form v1 reads.
 */
export function trackCurrentRequest(transport: Transport, v1 = false): void {
  const deliver = transport.onmessage;
  if (deliver === undefined) return;
  transport.onmessage = <T extends JSONRPCMessage>(message: T, given?: MessageExtraInfo) => {
    const extra = v1 ? withV1RequestInfo(given) : given;
    if (isJSONRPCRequest(message)) currentRequest.run(message.id, () => deliver(message, extra));
    else deliver(message, extra);
  };
}

/** The id of the client request whose handler is running, if any. */
export function currentMcpRequestId(): RequestId | undefined {
  return currentRequest.getStore();
}
