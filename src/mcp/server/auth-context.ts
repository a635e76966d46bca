import { AsyncLocalStorage } from "node:async_hooks";

/** The application's identity for one request to a `createMcpHandler` server. */
export interface McpAuthContext {
  /** What the caller is: `ctx.props` of the worker, the verified token's props, or `authContext`. */
  props: Record<string, unknown>;
}

const storage = new AsyncLocalStorage<McpAuthContext>();

/**
 * Inside a handler of a `createMcpHandler` server: the identity of the request being served, if any.
 * @example
 * server.registerTool("whoami", {}, async () => ({
 *   content: [{ type: "text", text: JSON.stringify(getMcpAuthContext()?.props ?? null) }],
 * }));
 */
export function getMcpAuthContext(): McpAuthContext | undefined {
  return storage.getStore();
}

/** Runs `fn` (and everything it starts) with `context` as the current identity. */
export function runWithAuthContext<T>(context: McpAuthContext | undefined, fn: () => T): T {
  return context === undefined ? fn() : storage.run(context, fn);
}
