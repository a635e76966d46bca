/** A JSON-RPC error as an HTTP response (what MCP clients expect from an endpoint that refuses). */
export function jsonRpcError(status: number, code: number, message: string, headers?: Record<string, string>): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers });
}

/** The answer for a session id nobody can use (unknown, expired, ended, or someone else's). */
export function sessionNotFound(): Response {
  return jsonRpcError(404, -32001, "Session not found: start a new one with initialize");
}
