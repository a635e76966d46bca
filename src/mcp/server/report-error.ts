import { AgentBase } from "../../agent/agent-base.ts";
import { currentScope } from "../../agent/context.ts";
import { markErrorLogged, wasErrorLogged } from "../../agent/instrumentation.ts";
import { pathnameOf } from "../../web/url-path.ts";

/**
 * Reports an error of the MCP layer: the agent's `onError(error)` hears it, and the log has it with
 * the agent's class and name even when an override of `onError` prints nothing useful (Cloudflare's
 * examples print only its second argument): the 500 the client gets says "logged by the server".
 * `request`: the HTTP request it failed, named in the line.
 */
export function reportMcpError(agent: AgentBase<unknown, unknown>, who: string, error: unknown, request?: Request): void {
  // The default onError logs the error with the agent and the request itself.
  if (agent.onError === AgentBase.prototype.onError) {
    agent.onError(error);
    return;
  }
  try {
    const pending = agent.onError(error);
    if (pending instanceof Promise) pending.catch((failure: unknown) => console.error(`[hearth] ${who}: onError failed:`, failure));
  } catch (failure) {
    console.error(`[hearth] ${who}: onError failed:`, failure);
  }
  // An override that called super.onError has logged it already.
  if (wasErrorLogged(error)) return;
  const during = request ?? currentScope()?.request;
  console.error(`[hearth] ${who}${during ? ` (${during.method} ${pathnameOf(during.url)})` : ""}: MCP error:`, error);
  markErrorLogged(error);
}
