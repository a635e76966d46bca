/**
 * Browser and Node client for Hearth agents, wire-compatible with the
 * Cloudflare Agents SDK.
 *
 * @example
 * ```ts
 * import { AgentClient, agentFetch } from "hearth/client";
 * import type { Counter } from "./server";
 * const client = new AgentClient<Counter>({ host: "127.0.0.1:8787", agent: "Counter", name: "room-1" });
 * console.log(await client.stub.increment(1));
 * ```
 * @module
 */
export { AgentClient } from "./agent-client.ts";
export type { AgentClientConstructor, AgentClientOptions, AgentSocketOptions } from "./agent-client.ts";
export type { AgentTransport } from "./socket-options.ts";
export { agentFetch, agentUrl } from "./agent-fetch.ts";
export type { AgentClientFetchOptions, AgentFetchOptions, AgentUrlOptions, QueryParams } from "./agent-fetch.ts";
export type {
  AgentBaseMember,
  AgentLike,
  AgentMethods,
  AgentPromiseReturnType,
  AgentStub,
  ClientParameters,
  ClientState,
  OptionalAgentMethods,
  RequiredAgentMethods,
  TypedAgentCall,
  UntypedAgentCall,
  UntypedAgentStub,
  UntypedMethods,
} from "./agent-types.ts";
export { AgentConnectionError, isTerminalCloseEvent } from "./connection-error.ts";
export type { IdentityChangeHandler } from "./identity-change.ts";
export { camelCaseToKebabCase } from "../protocol/kebab.ts";
export { AgentCallError, DEFAULT_CALL_TIMEOUT_MS, splitCallOptions } from "./pending-calls.ts";
export type { McpServerInfo, McpServersState } from "./frames.ts";
export type { CallOptions, CallOptionsInput, StreamCallbacks, StreamOptions } from "./pending-calls.ts";
export { createStubProxy } from "./stub.ts";
export { agentPath, encodeInstanceName, subAgentPath, SUB_AGENT_SEGMENT } from "./url.ts";
export type { AgentAddress, AgentPathStep } from "./url.ts";
export { AgentChatTransport } from "./chat-transport.ts";
export type { AgentChatTransportOptions, ChatConnection, ChatRequestInfo } from "./chat-transport.ts";
export { getAgentMessages } from "./chat-history.ts";
export type { AgentMessagesOptions } from "./chat-history.ts";
export { CHAT_FRAME, readChatFrame } from "./chat-protocol.ts";
export type { ChatResponseFrame, ChatServerFrame } from "./chat-protocol.ts";
export { watchTeamRun, TEAM_RUN_END_EVENTS, type TeamRunEvent, type TeamRunSocket, type WatchTeamRunOptions } from "./team-run.ts";
