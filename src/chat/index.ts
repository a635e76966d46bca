/**
 * hearth/chat: `AIChatAgent`, a chat agent on the Vercel AI SDK v7 whose wire protocol is that of
 * Cloudflare's Agents SDK (`useAgentChat` front ends work unchanged); plus model selection from the
 * environment and an offline demo model.
 * @example
 * import { convertToModelMessages, streamText } from "ai";
 * import { AIChatAgent, chatModelFromEnv } from "hearth/chat";
 *
 * const { model } = await chatModelFromEnv();
 * export class Chat extends AIChatAgent {
 *   async onChatMessage(onFinish, { abortSignal }) {
 *     return streamText({ model, messages: await convertToModelMessages(this.messages), abortSignal, onFinish })
 *       .toUIMessageStreamResponse();
 *   }
 * }
 * @packageDocumentation
 */
export { AIChatAgent } from "./ai-chat-agent.ts";
export { createToolsFromClientSchemas } from "./client-tools.ts";
export { CHAT_FRAMES, type ChatFrameOutcome, type ChatOutcome, type ClientToolSchema } from "./frames.ts";
export { CHAT_LIMITS, type ChatLimits } from "./limits.ts";
export type { ChatConcurrency, MessageConcurrency } from "./submit-policy.ts";
export type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions, SaveMessagesOptions, SaveMessagesResult } from "./types.ts";
export type {
  ChatRecoveryConfig,
  ChatRecoveryContext,
  ChatRecoveryExhaustedContext,
  ChatRecoveryKind,
  ChatRecoveryOptions,
  ChatRecoveryProgressContext,
  MessagePart,
  ResolvedChatRecoveryConfig,
} from "./recovery-types.ts";
export { CHAT_RECOVERY_DEFAULTS } from "./recovery-config.ts";
export type { ChatUsageRecord, ChatUsageSummary, UsageEvent } from "./usage.ts";
export { createDemoModel, DEMO_MODEL_ID, DEMO_NOTICE, DEMO_PROVIDER, DEMO_SHORT_NOTICE, type DemoModelOptions } from "./demo-model.ts";
export { createDemoCodeModel } from "./demo-codemode.ts";
export { agentTool, type AgentToolFactoryOptions } from "./agent-tool.ts";
export { AGENT_TOOL_EVENT_FRAME } from "./agent-tool-frames.ts";
export { AGENT_TOOL_LIMITS } from "./agent-tool-limits.ts";
export type {
  AgentToolDisplayMetadata,
  AgentToolEvent,
  AgentToolEventMessage,
  AgentToolFailure,
  AgentToolInterruptedReason,
  AgentToolPull,
  AgentToolReplayOptions,
  AgentToolRunInfo,
  AgentToolRunInspection,
  AgentToolRunStatus,
  AgentToolStoredChunk,
  AgentToolTerminalStatus,
  ClearAgentToolRunsOptions,
  RunAgentToolOptions,
  RunAgentToolResult,
} from "./agent-tool-types.ts";
export { chatModelFromEnv, DEFAULT_CHAT_MODELS, describeModelChoice, OFFLINE_LABEL, type ChatModelChoice, type ChatModelFromEnvOptions } from "./models.ts";
