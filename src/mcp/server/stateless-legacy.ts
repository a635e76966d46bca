import {
  isJSONRPCRequest,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpServerFactory,
  type Server,
} from "@modelcontextprotocol/server";
import { jsonRpcError } from "./responses.ts";
import { watchBody } from "./streaming.ts";

/** Options of {@link statelessLegacyHandler}. */
export interface StatelessLegacyOptions {
  keepAliveMs?: number;
  maxRequestBodySize?: number;
  onerror?: (error: Error) => void;
}

const NO_SESSION_FOR_QUESTIONS =
  "This stateless MCP endpoint cannot ask the client anything (elicitation, sampling, roots need a session): " +
  "serve the server with an McpAgent for 2025 clients, or return inputRequired(...) for 2026-07-28 clients";

/**
 * 2025-era requests (initialize, then requests without a session) answered statelessly: a fresh
 * server from `factory` and a sessionless transport per request. With no session there is no way
 * back to the client, so a server-to-client request fails at once instead of waiting for its timeout.
 */
export function statelessLegacyHandler(
  factory: McpServerFactory,
  options: StatelessLegacyOptions = {},
): (request: Request, authInfo: AuthInfo | undefined, parsedBody?: unknown) => Promise<Response> {
  return async (request, authInfo, parsedBody) => {
    if (request.method !== "POST") {
      return jsonRpcError(405, -32000, "Method not allowed: this stateless MCP endpoint has no sessions (POST only)", { allow: "POST, OPTIONS" });
    }
    const server = await factory({ era: "legacy", ...(authInfo ? { authInfo } : {}), requestInfo: request });
    const low: Server = server instanceof McpServer ? server.server : server;
    if (low.transport !== undefined) throw new Error("createMcpHandler: the factory returned a server that is still serving another request; return a new one each time");
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      ...(options.keepAliveMs !== undefined ? { keepAliveMs: options.keepAliveMs } : {}),
      ...(options.maxRequestBodySize !== undefined ? { maxRequestBodySize: options.maxRequestBodySize } : {}),
    });
    const send = transport.send.bind(transport);
    transport.send = async (message, sendOptions) => {
      if (!isJSONRPCRequest(message)) return send(message, sendOptions);
      // Answered on the client's behalf, so the handler that asked learns it at once.
      transport.onmessage?.({ jsonrpc: "2.0", id: message.id, error: { code: -32603, message: NO_SESSION_FOR_QUESTIONS } });
    };
    let closed = false;
    const teardown = () => {
      if (closed) return;
      closed = true;
      request.signal.removeEventListener("abort", teardown);
      void transport.close().catch(() => {});
      void server.close().catch((error: unknown) => options.onerror?.(error instanceof Error ? error : new Error(String(error))));
    };
    try {
      await server.connect(transport);
      request.signal.addEventListener("abort", teardown, { once: true });
      // A body the caller already read (the direct-call form's `parsedBody`) is not read again.
      const response = await transport.handleRequest(request, { ...(authInfo ? { authInfo } : {}), ...(parsedBody !== undefined ? { parsedBody } : {}) });
      if (!response.headers.get("content-type")?.includes("text/event-stream")) {
        teardown();
        return response;
      }
      return watchBody(response, teardown);
    } catch (error) {
      teardown();
      throw error;
    }
  };
}
