import { isInitializeRequest, type WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/server";
import type { RpcServerTransport } from "../rpc/server-transport.ts";
import type { StoredSession } from "./session-store.ts";

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" } as const;

/** True when a body (a message or a batch) holds an `initialize` request. */
export function hasInitialize(body: unknown): boolean {
  return initializeIn(body) !== undefined;
}

/** The `initialize` request of a body (a message or a batch), if it has one. */
export function initializeIn(body: unknown): unknown {
  return (Array.isArray(body) ? body : [body]).find((message: unknown) => isInitializeRequest(message));
}

export function initializeOf(body: unknown): unknown {
  const message = initializeIn(body);
  if (message === undefined) throw new Error("No initialize request in the body that opened this session");
  return message;
}

/**
 * A new instance takes over a live Streamable HTTP session: the client's stored handshake is replayed
 * into a fresh transport (its answers go nowhere), so the server knows the session, its protocol
 * version and the client's capabilities exactly as the SDK computes them.
 */
export async function replayHandshake(transport: WebStandardStreamableHTTPServerTransport, stored: StoredSession): Promise<void> {
  const post = (body: unknown, sessionId?: string) =>
    transport.handleRequest(
      new Request("http://session.internal/mcp", {
        method: "POST",
        headers: {
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
          ...(sessionId ? { "mcp-session-id": sessionId } : {}),
        },
      }),
      { parsedBody: body },
    );
  const initialized = await post(stored.initialize);
  await initialized.text();
  if (!initialized.ok) throw new Error(`Could not restore MCP session ${stored.id}: initialize answered ${initialized.status}`);
  await (await post(INITIALIZED, stored.id)).text();
}

/** The same for a session over RPC: its last handshake, replayed into a fresh RPC transport. */
export async function replayRpcHandshake(transport: RpcServerTransport, initialize: unknown): Promise<void> {
  const answer = await transport.handle(initialize);
  const failed = (Array.isArray(answer) ? answer : [answer]).find((message) => message !== undefined && "error" in message);
  if (failed !== undefined) throw new Error(`Could not restore the MCP session over RPC: initialize failed (${JSON.stringify(failed)})`);
  await transport.handle(INITIALIZED);
}
