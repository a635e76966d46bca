/**
 * Sub-agents: child agents inside a parent agent, each with its own database, addressed by nested URLs.
 * @module
 */
export type { SubAgentClass } from "./sub-agent-agent.ts";
export type { SubAgentInfo } from "./registry.ts";
export type { SubAgentStub } from "./stub.ts";
export { routeSubAgentRequest, getSubAgentByName } from "./routing.ts";
export { buildAgentPath, buildAgentUrl, type AgentPathStep, type BuildAgentPathOptions } from "./paths.ts";
