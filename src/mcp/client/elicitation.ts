/**
 * Elicitation: a server asks the agent's user for input in the middle of a call
 * (`elicitation/create`). The agent answers through the handlers given to
 * `this.mcp.configureElicitationHandlers` (memory only: set them in `onStart`); a connection
 * advertises the modes that have a handler, unless the server was mounted with explicit
 * `client.capabilities`, which win and are stored.
 */
import type { ClientCapabilities, ElicitRequest, ElicitResult } from "@modelcontextprotocol/client";
import type { McpElicitationHandlers } from "./types.ts";

/**
 * What a connection advertises at its handshake.
 * @example
 * clientCapabilities(undefined, { form: handler }); // { elicitation: { form: {} } }
 */
export function clientCapabilities(stored: ClientCapabilities | undefined, handlers: McpElicitationHandlers): ClientCapabilities {
  if (stored !== undefined) return stored;
  const modes = { ...(handlers.form ? { form: {} } : {}), ...(handlers.url ? { url: {} } : {}) };
  return Object.keys(modes).length > 0 ? { elicitation: modes } : {};
}

/**
 * The answer to one `elicitation/create`: the handler of its mode (`form` when none is given), or a
 * decline when there is none (a server asking for a mode it was not offered).
 */
export async function answerElicitation(handlers: McpElicitationHandlers, request: ElicitRequest, serverId: string): Promise<ElicitResult> {
  const mode = request.params.mode === "url" ? "url" : "form";
  const handler = handlers[mode];
  if (!handler) return { action: "decline" };
  return handler(request, serverId);
}

/**
 * Checks handlers given to `configureElicitationHandlers`.
 * @throws TypeError for anything but `{ form?, url? }` functions
 */
export function checkElicitationHandlers(handlers: unknown): McpElicitationHandlers {
  if (typeof handlers !== "object" || handlers === null) throw new TypeError("configureElicitationHandlers: expected { form?, url? }");
  for (const [key, value] of Object.entries(handlers)) {
    if (key !== "form" && key !== "url") throw new TypeError(`configureElicitationHandlers: unknown mode ${JSON.stringify(key)}; expected form or url`);
    if (value !== undefined && typeof value !== "function") throw new TypeError(`configureElicitationHandlers: ${key} must be a function`);
  }
  return { ...(handlers as McpElicitationHandlers) };
}
