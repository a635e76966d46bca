import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";

/**
 * The runtime of the agent that owns a team run (its database, clock, identity).
 * @example const db = runtimeOf(this).db;
 */
export function runtimeOf(agent: object): AgentRuntime {
  const runtime = (agent as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  if (!runtime) throw new TypeError("A team run belongs to an agent: pass `this` from an Agent's method");
  return runtime;
}
