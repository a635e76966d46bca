import { emitAgentEvent } from "./emit.ts";

/** A server's state change, as the MCP client reports it to `onServerStateChanged` listeners. */
interface McpChange {
  readonly serverId: string;
  readonly url: string;
  readonly state: string;
  readonly error?: string;
}

/** What the MCP client knows of the server's connection (absent once it is removed). */
interface McpConnectionView {
  readonly authUrl: string | null;
  readonly record: { readonly transport: string };
  readonly catalog?: { readonly transport: string } | undefined;
}

/**
 * The SDK's `mcp:client:*` events for one state change of a mounted server: `preconnect` when an
 * attempt starts, `connect` once the transport is open, `discover` then `connect` (state `ready`)
 * once its catalog is in, `connect` with the error when it failed, `authorize` when it waits for
 * OAuth, and `close` when it is removed. Nothing is built while nobody listens.
 * @example
 * runtime.onStateChanged((change) => emitMcpEvents(agent, change, runtime.connection(change.serverId)));
 */
export function emitMcpEvents(agent: object, change: McpChange, connection: McpConnectionView | undefined): void {
  const transport = () => connection?.catalog?.transport ?? connection?.record.transport ?? "unknown";
  switch (change.state) {
    case "connecting":
      emitAgentEvent(agent, "mcp:client:preconnect", () => ({ serverId: change.serverId }));
      return;
    case "connected":
      emitAgentEvent(agent, "mcp:client:connect", () => ({ url: change.url, transport: transport(), state: change.state }));
      return;
    case "ready":
      emitAgentEvent(agent, "mcp:client:discover", () => ({ url: change.url }));
      emitAgentEvent(agent, "mcp:client:connect", () => ({ url: change.url, transport: transport(), state: change.state }));
      return;
    case "failed":
      emitAgentEvent(agent, "mcp:client:connect", () => ({ url: change.url, transport: transport(), state: change.state, error: change.error ?? "failed" }));
      return;
    case "authenticating":
      emitAgentEvent(agent, "mcp:client:authorize", () =>
        connection?.authUrl ? { serverId: change.serverId, authUrl: connection.authUrl } : undefined,
      );
      return;
    case "removed":
      emitAgentEvent(agent, "mcp:client:close", () => ({ url: change.url, state: "closed" }));
      return;
  }
}
