import { isLegacyRequest, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage } from "@modelcontextprotocol/server";
import { randomUUID } from "node:crypto";
import { hasInitialize } from "./handshake.ts";
import { readJsonBody } from "./json-body.ts";
import { jsonRpcError } from "./responses.ts";

// Reading an MCP request before it reaches a session: which session it addresses, whether it opens
// one, and its JSON body (size-checked). A Response is the refusal to answer with.

const SESSION_ID = /^[\x21-\x7e]{1,128}$/;

/** The session a request addresses (`isNew`: it opens one) and its parsed body. */
export type Route = { sessionId: string; isNew: boolean; body?: unknown };

export async function routeStreamable(request: Request, maxBytes: number): Promise<Route | Response> {
  const header = request.headers.get("mcp-session-id");
  if (header !== null && !SESSION_ID.test(header)) return jsonRpcError(400, -32000, "Bad Request: malformed Mcp-Session-Id header");
  if (request.method === "GET" || request.method === "DELETE") {
    if (header === null) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required");
    if (request.method === "GET" && !accepts(request, "text/event-stream")) {
      return jsonRpcError(406, -32000, "Not Acceptable: Client must accept text/event-stream");
    }
    return { sessionId: header, isNew: false };
  }
  if (request.method !== "POST") {
    return jsonRpcError(405, -32000, "Method not allowed: use POST, GET or DELETE", { allow: "GET, POST, DELETE, OPTIONS" });
  }
  if (!accepts(request, "application/json") || !accepts(request, "text/event-stream")) {
    return jsonRpcError(406, -32000, "Not Acceptable: Client must accept both application/json and text/event-stream");
  }
  const body = await readJson(request, maxBytes);
  if (body instanceof Response) return body;
  const messages = (Array.isArray(body) ? body : [body]) as JSONRPCMessage[];
  const initializing = hasInitialize(body);
  if (header !== null) {
    // An initialize on a session: the session's agent refuses it (a 404 first when the session is unknown or ended).
    return { sessionId: header, isNew: false, body };
  }
  if (!initializing) {
    if (!(await isLegacyRequest(request, body))) return unsupportedRevision(request, messages[0]);
    return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required (or send initialize)");
  }
  return { sessionId: randomUUID(), isNew: true, body };
}

/**
 * A request in the stateless 2026-07-28 revision (no handshake, no session). McpAgent serves MCP
 * sessions; saying so with the version error lets negotiating clients fall back to initialize.
 */
function unsupportedRevision(request: Request, message: JSONRPCMessage | undefined): Response {
  const requested = request.headers.get("mcp-protocol-version") ?? "unknown";
  const supported = SUPPORTED_PROTOCOL_VERSIONS.filter((version) => version < "2026");
  const id = message && "id" in message ? message.id : null;
  return Response.json(
    {
      jsonrpc: "2.0",
      id,
      error: {
        code: -32022,
        message: `Unsupported protocol version ${requested}: this endpoint serves MCP sessions (initialize, then Mcp-Session-Id), revisions ${supported.join(", ")}`,
        data: { supported, requested },
      },
    },
    { status: 400 },
  );
}

export async function routeSse(request: Request, url: URL, isMessage: boolean, maxBytes: number): Promise<Route | Response> {
  if (!isMessage) {
    if (request.method !== "GET") return jsonRpcError(405, -32000, "Method not allowed: open the SSE stream with GET", { allow: "GET" });
    return { sessionId: randomUUID(), isNew: true };
  }
  if (request.method !== "POST") return jsonRpcError(405, -32000, "Method not allowed: POST messages here", { allow: "POST" });
  const sessionId = url.searchParams.get("sessionId");
  if (sessionId === null || !SESSION_ID.test(sessionId)) return jsonRpcError(400, -32000, "Bad Request: missing or malformed sessionId");
  const body = await readJson(request, maxBytes);
  if (body instanceof Response) return body;
  return { sessionId, isNew: false, body };
}

async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) return jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json");
  const body = await readJsonBody(request, maxBytes, "maxRequestBytes");
  if (body instanceof Response) return body;
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0 || messages.some((message) => typeof message !== "object" || message === null || Array.isArray(message))) {
    return jsonRpcError(400, -32600, "Invalid Request: the body must be a JSON-RPC message or a non-empty array of them");
  }
  return body;
}

function accepts(request: Request, type: string): boolean {
  const accept = request.headers.get("accept") ?? "";
  return accept.includes(type) || accept.includes("*/*");
}
