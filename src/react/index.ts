/**
 * React binding for Hearth agents, compatible with `agents/react`, and
 * `useAgentChat` for chat agents (needs `@ai-sdk/react`).
 *
 * @example
 * ```tsx
 * import { useAgent, useAgentChat } from "hearth/react";
 * import type { Counter } from "../server";
 * function CounterButton() {
 *   const agent = useAgent<Counter>({ agent: "Counter", name: "room-1" });
 *   return <button onClick={() => agent.stub.increment(1)}>{agent.state?.count ?? "…"}</button>;
 * }
 * ```
 * @module
 */
export { useAgent } from "./use-agent.ts";
export type { AgentPathStep, AgentSocket, AgentSocketWith, UseAgentOptions } from "./use-agent.ts";
export type { AgentQuery } from "./query-cache.ts";
export type { AgentTransport } from "../client/socket-options.ts";
export { useAgentChat } from "./use-agent-chat.ts";
export type {
  AddToolOutputOptions,
  AgentChatConnection,
  AgentToolCall,
  ChatTurnEndEvent,
  UseAgentChatOptions,
  UseAgentChatResult,
} from "./use-agent-chat.ts";
export { extractClientToolSchemas, getToolPartState } from "./chat-messages.ts";
export type { AITool, ClientToolSchema } from "./chat-messages.ts";
export { AgentChatTransport } from "../client/chat-transport.ts";
export { getAgentMessages } from "../client/chat-history.ts";
export { useTeamRun, type TeamRunView } from "./use-team-run.ts";
