import { SubAgentAgent } from "../sub-agents/sub-agent-agent.ts";
import "./observability.ts"; // observability's wrappers around every agent's events

export { HANDLE, type ConnectionContext, type StateSource } from "../agent/agent-base.ts";

/**
 * Base class of every agent: an addressable actor with its own SQLite database, state synced to
 * clients, WebSockets that survive hibernation, and RPC (the core, `agent-base.ts`); with the
 * capabilities of the Agents SDK layered on top, each from its own folder: durable time
 * (`schedule/`), workflows (`workflow/`), the MCP client (`mcp/client/`), fibers (`fiber/`),
 * email (`email/`) and sub-agents (`sub-agents/`).
 * @example
 * export class Counter extends Agent<Env, { count: number }> {
 *   initialState = { count: 0 };
 *   @callable() increment(by: number) {
 *     this.setState({ count: this.state.count + by });
 *     return this.state.count;
 *   }
 * }
 */
export class Agent<Env = unknown, State = unknown> extends SubAgentAgent<Env, State> {}
