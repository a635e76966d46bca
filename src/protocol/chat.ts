/**
 * The chat frames of the wire protocol (the `cf_agent_*` chat family of Cloudflare's Agents SDK),
 * shared by the agent and its clients: the frame types by name, how a turn ended, and the wire form
 * of a tool the client runs. No Node APIs: browsers import it too.
 */
import type { JSONSchema7 } from "ai";

/**
 * The `type` of every chat frame, by name.
 *
 * @example
 * ```ts
 * if (frame.type === CHAT_FRAME_TYPES.clear) transcript.length = 0;
 * ```
 */
export const CHAT_FRAME_TYPES = {
  /** Client → agent: a chat turn (`init.body` holds the JSON request body). */
  request: "cf_agent_use_chat_request",
  /** Agent → client: one UI message stream chunk of a turn, or its end. */
  response: "cf_agent_use_chat_response",
  /** Both ways: the whole transcript. */
  messages: "cf_agent_chat_messages",
  /** Both ways: the transcript was cleared. */
  clear: "cf_agent_chat_clear",
  /** Client → agent: stop a running turn. */
  cancel: "cf_agent_chat_request_cancel",
  /** Client → agent: is a turn streaming that this connection can join? */
  resumeRequest: "cf_agent_stream_resume_request",
  /** Agent → client: yes, turn `id`; acknowledge to receive it from the start. */
  resuming: "cf_agent_stream_resuming",
  /** Client → agent: send turn `id` from its first chunk on. */
  resumeAck: "cf_agent_stream_resume_ack",
  /** Agent → client: nothing to resume. */
  resumeNone: "cf_agent_stream_resume_none",
  /** Agent → client: a turn was accepted but has not started streaming yet; keep waiting. */
  pending: "cf_agent_stream_pending",
  /** Client → agent: the output of a tool the client ran. */
  toolResult: "cf_agent_tool_result",
  /** Client → agent: a person approved or denied a tool call. */
  toolApproval: "cf_agent_tool_approval",
  /** Agent → client: one message changed (a tool result or approval was applied). */
  messageUpdated: "cf_agent_message_updated",
  /** Agent → client: `recovering: true` while a turn cut short by a restart is being recovered, `false` once it ended. */
  recovering: "cf_agent_chat_recovering",
} as const;

/**
 * How a turn ended, as its last response frame (`done: true`) reports it: `skipped` means the turn
 * never ran (refused, or superseded while it waited).
 *
 * @example
 * ```ts
 * const outcome: ChatOutcome = "completed";
 * ```
 */
export type ChatOutcome = "completed" | "error" | "aborted" | "skipped";

/**
 * How a turn's last response frame says it ended: a {@link ChatOutcome}, or `recovering` when a
 * restart cut it short and a recovery continues it under a new request (which reports the same
 * `messageIds` when it ends).
 *
 * @example
 * ```ts
 * const ended = (outcome: ChatFrameOutcome) => outcome !== "recovering";
 * ```
 */
export type ChatFrameOutcome = ChatOutcome | "recovering";

/**
 * The wire form of a tool the client declares and runs itself: sent with chat requests (as
 * `clientTools`), without an `execute`.
 *
 * @example
 * ```ts
 * const schema: ClientToolSchema = { name: "get_location", parameters: { type: "object", properties: {} } };
 * ```
 */
export interface ClientToolSchema {
  name: string;
  description?: string;
  parameters?: JSONSchema7;
}
