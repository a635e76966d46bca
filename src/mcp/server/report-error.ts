import { AGENT_RUNTIME, AgentBase, REPORT_ERROR } from "../../agent/agent-base.ts";
import { currentScope } from "../../agent/context.ts";
import { markErrorLogged, wasErrorLogged } from "../../agent/instrumentation.ts";
import { pathnameOf } from "../../web/url-path.ts";

/**
 * Reports an error of the MCP layer: the agent's `onError(error)` hears it, and the log has it with
 * the agent's class and name even when an override of `onError` prints nothing useful (Cloudflare's
 * examples print only its second argument): the 500 the client gets says "logged by the server".
 * `request`: the HTTP request it failed, named in the line.
 */
export function reportMcpError(agent: AgentBase<unknown, unknown>, error: unknown, request?: Request): void {
  agent[REPORT_ERROR](error);
  // The default onError logs the error with the agent and the request itself; so does an override that called super.onError.
  if (agent.onError === AgentBase.prototype.onError || wasErrorLogged(error)) return;
  const who = `${agent[AGENT_RUNTIME].className}/${agent.name}`;
  const during = request ?? currentScope()?.request;
  console.error(`[hearth] ${who}${during ? ` (${during.method} ${pathnameOf(during.url)})` : ""}: MCP error:`, error);
  markErrorLogged(error);
}
