/**
 * The chat frames of the agent wire protocol (JSON text over the agent's
 * WebSocket), as `AIChatAgent` speaks them: the types the clients read and
 * small builders for the frames they send.
 */
import type { UIMessage } from "ai";
import { CHAT_FRAME_TYPES, type ChatFrameOutcome } from "../protocol/chat.ts";
import { isRecord, readJsonObject } from "./frames.ts";

export type { ChatFrameOutcome, ChatOutcome } from "../protocol/chat.ts";

/**
 * The `type` of every chat frame, by name.
 *
 * @example
 * ```ts
 * if (frame.type === CHAT_FRAME.clear) transcript.length = 0;
 * ```
 */
export const CHAT_FRAME = CHAT_FRAME_TYPES;

/**
 * `cf_agent_use_chat_response`: one chunk of turn `id` (`body` is a UI message stream chunk as JSON).
 *
 * @example
 * ```ts
 * const frame: ChatResponseFrame = { type: "cf_agent_use_chat_response", id: "r1", body: '{"type":"start"}', done: false, seq: 0 };
 * ```
 */
export interface ChatResponseFrame {
  type: typeof CHAT_FRAME.response;
  id: string;
  body: string;
  done: boolean;
  /** Set on the frame that reports a failed turn; `body` is the error message. */
  error?: boolean;
  /** Set on chunks sent again after a resume acknowledgement. */
  replay?: boolean;
  /** Set on the last replayed chunk. */
  replayComplete?: boolean;
  /** Set when the turn continues the last assistant message (after a tool result or approval). */
  continuation?: boolean;
  /** Index of the chunk in its turn, when the agent numbers them. */
  seq?: number;
  /** On the last frame of a turn: how it ended (`recovering`: a restart cut it short and a recovery continues it). */
  outcome?: ChatFrameOutcome;
  /** On the last frame of a turn: the ids of the user messages the turn answered, as the agent stored them. */
  messageIds?: string[];
}

/**
 * Every chat frame an agent sends that the clients act on.
 *
 * @example
 * ```ts
 * const frame: ChatServerFrame | undefined = readChatFrame(event.data);
 * ```
 */
export type ChatServerFrame =
  | ChatResponseFrame
  | { type: typeof CHAT_FRAME.messages; messages: UIMessage[] }
  | { type: typeof CHAT_FRAME.clear }
  | { type: typeof CHAT_FRAME.messageUpdated; message: UIMessage }
  | { type: typeof CHAT_FRAME.resuming; id: string; probeId?: string }
  | { type: typeof CHAT_FRAME.resumeNone; probeId?: string; reason?: string }
  | { type: typeof CHAT_FRAME.pending; id?: string; probeId?: string }
  | { type: typeof CHAT_FRAME.recovering; recovering: boolean; id?: string };


function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

const OUTCOMES: ReadonlySet<unknown> = new Set<ChatFrameOutcome>(["completed", "error", "aborted", "skipped", "recovering"]);

function isOutcome(value: unknown): value is ChatFrameOutcome {
  return OUTCOMES.has(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function isMessage(value: unknown): value is UIMessage {
  return isRecord(value) && typeof value.id === "string" && typeof value.role === "string" && Array.isArray(value.parts);
}

/**
 * Reads a WebSocket message and returns it when it is a well-formed chat
 * frame, or `undefined` for anything else.
 *
 * @example
 * ```ts
 * const frame = readChatFrame(event.data);
 * if (frame?.type === "cf_agent_chat_messages") render(frame.messages);
 * ```
 */
export function readChatFrame(data: unknown): ChatServerFrame | undefined {
  const value = readJsonObject(data);
  if (value === undefined) return undefined;
  switch (value.type) {
    case CHAT_FRAME.response:
      if (typeof value.id !== "string") return undefined;
      return {
        type: CHAT_FRAME.response,
        id: value.id,
        body: typeof value.body === "string" ? value.body : "",
        done: value.done === true,
        ...(value.error === true ? { error: true } : {}),
        ...(value.replay === true ? { replay: true } : {}),
        ...(value.replayComplete === true ? { replayComplete: true } : {}),
        ...(value.continuation === true ? { continuation: true } : {}),
        ...(typeof value.seq === "number" ? { seq: value.seq } : {}),
        ...(value.done === true && isOutcome(value.outcome) ? { outcome: value.outcome } : {}),
        ...(value.done === true && isStringArray(value.messageIds) ? { messageIds: value.messageIds } : {}),
      };
    case CHAT_FRAME.messages:
      return Array.isArray(value.messages)
        ? { type: CHAT_FRAME.messages, messages: value.messages.filter(isMessage) }
        : undefined;
    case CHAT_FRAME.clear:
      return { type: CHAT_FRAME.clear };
    case CHAT_FRAME.messageUpdated:
      return isMessage(value.message) ? { type: CHAT_FRAME.messageUpdated, message: value.message } : undefined;
    case CHAT_FRAME.resuming:
      return typeof value.id === "string"
        ? { type: CHAT_FRAME.resuming, id: value.id, probeId: optionalString(value.probeId) }
        : undefined;
    case CHAT_FRAME.resumeNone:
      return { type: CHAT_FRAME.resumeNone, probeId: optionalString(value.probeId), reason: optionalString(value.reason) };
    case CHAT_FRAME.pending:
      return { type: CHAT_FRAME.pending, id: optionalString(value.id), probeId: optionalString(value.probeId) };
    case CHAT_FRAME.recovering:
      return { type: CHAT_FRAME.recovering, recovering: value.recovering === true, ...(typeof value.id === "string" ? { id: value.id } : {}) };
    default:
      return undefined;
  }
}

/**
 * Serialises a chat turn request; `body` becomes the JSON string in `init.body`.
 *
 * @example
 * ```ts
 * socket.send(chatRequestFrame("r1", { messages, trigger: "submit-message" }));
 * ```
 */
export function chatRequestFrame(id: string, body: Record<string, unknown>): string {
  return JSON.stringify({ type: CHAT_FRAME.request, id, init: { method: "POST", body: JSON.stringify(body) } });
}

/**
 * Serialises a frame that carries only a type and, for some types, a turn id:
 * cancel and resume acknowledgement take `id`, a resume request takes `probeId`.
 *
 * @example
 * ```ts
 * socket.send(chatControlFrame("cf_agent_chat_request_cancel", { id: "r1" }));
 * socket.send(chatControlFrame("cf_agent_chat_clear"));
 * ```
 */
export function chatControlFrame(
  type:
    | typeof CHAT_FRAME.cancel
    | typeof CHAT_FRAME.resumeAck
    | typeof CHAT_FRAME.resumeRequest
    | typeof CHAT_FRAME.clear,
  fields: { id?: string; probeId?: string } = {},
): string {
  return JSON.stringify({ type, ...fields });
}

/**
 * Serialises the whole transcript, sent when the client replaces its messages.
 *
 * @example
 * ```ts
 * socket.send(chatMessagesFrame(messages));
 * ```
 */
export function chatMessagesFrame(messages: readonly UIMessage[]): string {
  return JSON.stringify({ type: CHAT_FRAME.messages, messages });
}

/**
 * What a client sends when it ran a tool itself, or when a tool call failed or was refused on its side.
 *
 * @example
 * ```ts
 * const input: ToolResultInput = { toolCallId: "c1", toolName: "ping", output: "pong", autoContinue: true };
 * ```
 */
export interface ToolResultInput {
  toolCallId: string;
  toolName: string;
  output?: unknown;
  /** `"output-error"` reports a failure or refusal; `errorText` says why. */
  state?: "output-available" | "output-error";
  errorText?: string;
  /** Whether the agent should continue the turn once the result is applied. */
  autoContinue: boolean;
  /** Schemas of the tools the client runs, so a continuation can offer them again. */
  clientTools?: unknown[];
}

/**
 * Serialises a client tool result.
 *
 * @example
 * ```ts
 * socket.send(toolResultFrame({ toolCallId, toolName: "get_location", output: { lat, lon }, autoContinue: true }));
 * ```
 */
export function toolResultFrame(input: ToolResultInput): string {
  return JSON.stringify({ type: CHAT_FRAME.toolResult, ...input });
}

/**
 * Serialises an approval (or denial) of a tool call that needs one.
 *
 * @example
 * ```ts
 * socket.send(toolApprovalFrame({ toolCallId, approved: true, autoContinue: true }));
 * ```
 */
export function toolApprovalFrame(input: { toolCallId: string; approved: boolean; autoContinue: boolean }): string {
  return JSON.stringify({ type: CHAT_FRAME.toolApproval, ...input });
}
