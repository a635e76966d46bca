/**
 * The public types of `useAgentChat`: its options, what it returns, and the connection it needs.
 */
import type { UseChatHelpers } from "@ai-sdk/react";
import type { ChatInit, UIMessage } from "ai";
import type { ChatConnection } from "../client/chat-transport.ts";
import type { AITool } from "./chat-messages.ts";
import type { ChatTurnEndEvent } from "./chat-turn-status.ts";

/**
 * The agent connection `useAgentChat` talks through: what `useAgent` returns
 * (from `hearth/react` or `agents/react`), or an `AgentClient`.
 *
 * @example
 * ```ts
 * const agent: AgentChatConnection = useAgent({ agent: "Chat", name: "support" });
 * ```
 */
export type AgentChatConnection = ChatConnection & {
  agent?: string;
  name?: string;
  /** The socket's URL without query (a `PartySocket` property). */
  roomUrl?: string;
  /** The socket's URL with its query (a `PartySocket` property); the HTTP history URL is derived from it. */
  url?: string;
  /** The agent's HTTP URL, where sockets offer it. */
  getHttpUrl?(): string;
};

/**
 * A tool output the client reports with `addToolOutput`.
 *
 * @example
 * ```ts
 * const output: AddToolOutputOptions = { toolCallId: part.toolCallId, output: { lat: 52.5, lon: 13.4 } };
 * const refusal: AddToolOutputOptions = { toolCallId: part.toolCallId, state: "output-error", errorText: "No access" };
 * ```
 */
export interface AddToolOutputOptions {
  toolCallId: string;
  /** Found from the transcript when left out. */
  toolName?: string;
  output?: unknown;
  /** `"output-error"` reports a failure or a refusal; `errorText` says why. */
  state?: "output-available" | "output-error";
  errorText?: string;
}

/**
 * What `onToolCall` receives for a tool call that waits for the client.
 *
 * @example
 * ```ts
 * const onToolCall = async ({ toolCall, addToolOutput }: AgentToolCall) => {
 *   if (toolCall.toolName === "get_location") addToolOutput({ output: await locate() });
 * };
 * ```
 */
export interface AgentToolCall {
  toolCall: { toolCallId: string; toolName: string; input: unknown };
  addToolOutput(options: Omit<AddToolOutputOptions, "toolName" | "toolCallId"> & { toolCallId?: string }): void;
}

/**
 * Options for {@link useAgentChat}; the AI SDK's `useChat` options (`onFinish`,
 * `onError`, `onData`, `generateId`, `sendAutomaticallyWhen`, …) pass through.
 * `onData` gets the data parts of every turn shown, also of those this tab did
 * not start: continuations, other tabs' turns and the agent's own.
 *
 * @example
 * ```ts
 * const options: UseAgentChatOptions = { agent, body: { timezone: "Europe/Berlin" }, resume: true };
 * ```
 */
export type UseAgentChatOptions<M extends UIMessage = UIMessage> = Omit<
  ChatInit<M>,
  "id" | "transport" | "messages" | "onToolCall"
> & {
  /** The agent's socket, from `useAgent`. */
  agent: AgentChatConnection;
  /** Messages to start with when no history is loaded (`getInitialMessages: null`). */
  messages?: M[];
  /**
   * How to load the stored transcript: by default `GET …/get-messages` on the agent's URL;
   * `null` skips loading (the agent's transcript frames still arrive).
   */
  getInitialMessages?: ((options: { agent: string; name: string; url: string | undefined }) => Promise<M[]>) | null;
  /** For the default history request. */
  credentials?: RequestCredentials;
  /** For the default history request. */
  headers?: HeadersInit;
  /** Extra fields in every request body (the agent reads them as `options.body`). */
  body?: Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);
  /** Adds fields to a request body from the messages and trigger of the request. */
  prepareSendMessagesRequest?(options: {
    id: string;
    messages: M[];
    trigger: "submit-message" | "regenerate-message";
    messageId: string | undefined;
  }): { body?: Record<string, unknown> } | Promise<{ body?: Record<string, unknown> }>;
  /** Tools the client runs; their schemas go to the agent as `clientTools`. */
  tools?: Record<string, AITool>;
  /** Called once a turn ended, for each tool call that waits for the client; report with `addToolOutput`. */
  onToolCall?(call: AgentToolCall): void | Promise<void>;
  /** Whether the agent continues the turn after a tool output or approval (default true); otherwise the client sends a new request. */
  autoContinueAfterToolResult?: boolean;
  /** Join a turn that is running when the page connects or reconnects (default true). */
  resume?: boolean;
  /** Whether abandoning a stream (unmount) also stops the turn on the agent (default false; `stop()` always does). */
  cancelOnClientAbort?: boolean;
  /** Whether `setMessages` sends the new transcript to the agent (default true). */
  syncMessagesToServer?: boolean;
  /** Milliseconds to coalesce renders while streaming (default 50); `false` renders every chunk. */
  throttle?: number | false;
  /** @deprecated Use `throttle`, which wins when both are given. */
  experimental_throttle?: number;
  /**
   * Called once for each chat request that ends: this tab's (once `status` has settled, so it may
   * call `sendMessage`), another tab's, the agent's own, and ends replayed after a reconnect. Not
   * for a request a recovery continues under a new id: that one reports the same `messageIds`.
   */
  onTurnEnd?(event: ChatTurnEndEvent): void;
};

/**
 * What {@link useAgentChat} returns: the AI SDK chat helpers, wired to the agent.
 *
 * @example
 * ```ts
 * const { messages, sendMessage, isStreaming, clearHistory }: UseAgentChatResult = useAgentChat({ agent });
 * ```
 */
export type UseAgentChatResult<M extends UIMessage = UIMessage> = Omit<
  UseChatHelpers<M>,
  "addToolOutput" | "addToolResult" | "addToolApprovalResponse"
> & {
  /** Reports the output of a tool the client ran (or its failure); the agent continues the turn. */
  addToolOutput(options: AddToolOutputOptions): void;
  /** @deprecated Use `addToolOutput`. The AI SDK's shape: `{ tool, toolCallId, output }`. */
  addToolResult(options: { tool?: string; toolCallId: string; output?: unknown; state?: "output-available" | "output-error"; errorText?: string }): void;
  /** Approves or denies a tool call that needs approval; `id` is the part's `approval.id`. */
  addToolApprovalResponse(options: { id: string; approved: boolean; reason?: string }): void;
  /** Empties the transcript here and on the agent. */
  clearHistory(): void;
  /** A turn this client did not request is streaming (a continuation, another tab), or a client tool is running. */
  isServerStreaming: boolean;
  /** `status === "streaming"` or `isServerStreaming`. */
  isStreaming: boolean;
  /** The stored transcript is still being loaded. */
  isLoadingHistory: boolean;
  /**
   * The agent is recovering a turn a restart cut short (`cf_agent_chat_recovering`): it is not
   * streaming yet. Most UIs treat `isStreaming || isRecovering` as busy.
   */
  isRecovering: boolean;
};
