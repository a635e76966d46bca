/**
 * `this.mcp.mcpConnections`: each mounted server as the Agents SDK's `MCPClientConnection` shows it
 * to user code (`client`, `connectionState`, `tools`, …), read live from the connection.
 */
import type { McpConnection } from "./connection.ts";
import type { McpClientConnection } from "./types.ts";

/** One view per connection, so `mcpConnections[id]` is the same object from one read to the next. */
const views = new WeakMap<McpConnection, McpClientConnection>();

/**
 * The live view of `connection`.
 * @example
 * connectionView(connection).connectionState; // "ready"
 */
export function connectionView(connection: McpConnection): McpClientConnection {
  let view = views.get(connection);
  if (view === undefined) {
    view = Object.freeze({
      get url() {
        return new URL(connection.record.url);
      },
      get client() {
        return connection.client;
      },
      get connectionState() {
        return connection.state;
      },
      get connectionError() {
        return connection.error;
      },
      get instructions() {
        return connection.catalog?.instructions ?? undefined;
      },
      get tools() {
        return connection.catalog?.tools ?? [];
      },
      get prompts() {
        return connection.catalog?.prompts ?? [];
      },
      get resources() {
        return connection.catalog?.resources ?? [];
      },
      get resourceTemplates() {
        return connection.catalog?.resourceTemplates ?? [];
      },
      get serverCapabilities() {
        return connection.catalog?.capabilities ?? undefined;
      },
    });
    views.set(connection, view);
  }
  return view;
}
