import { emitAgentEvent } from "./emit.ts";

/** A client's chat frame, as far as its event needs it. */
interface ChatFrameLike {
  readonly type: string;
  readonly id?: string;
  readonly toolCallId?: string;
  readonly approved?: boolean;
}

/** A stored message's parts, for finding the name of a tool call. */
interface MessageLike {
  readonly parts: ReadonlyArray<{ readonly type: string; readonly toolCallId?: string; readonly toolName?: string }>;
}

/**
 * The SDK's `agents:message` event of a client chat frame: `message:clear`, `message:cancel`,
 * `tool:result` (with the tool's name, found in the stored messages) and `tool:approval`. Other
 * frames have none (`message:request` is emitted when the turn's reply starts).
 * @example
 * emitChatFrame(this, parsed.frame, () => this.messages);
 */
export function emitChatFrame(agent: object, frame: ChatFrameLike, messages: () => readonly MessageLike[]): void {
  switch (frame.type) {
    case "cf_agent_chat_clear":
      emitAgentEvent(agent, "message:clear");
      return;
    case "cf_agent_chat_request_cancel":
      emitAgentEvent(agent, "message:cancel", () => ({ requestId: String(frame.id) }));
      return;
    case "cf_agent_tool_result":
      emitAgentEvent(agent, "tool:result", () => ({ toolCallId: String(frame.toolCallId), toolName: toolNameOf(messages(), String(frame.toolCallId)) }));
      return;
    case "cf_agent_tool_approval":
      emitAgentEvent(agent, "tool:approval", () => ({ toolCallId: String(frame.toolCallId), approved: frame.approved === true }));
      return;
  }
}

/**
 * The event of a finished chat turn: `message:response` when it completed, `message:error` with the
 * error when it failed; an aborted turn has none (as in the SDK).
 * @example
 * emitChatResult(this, result);
 */
export function emitChatResult(agent: object, result: { readonly status: string; readonly error?: string }): void {
  if (result.status === "completed") emitAgentEvent(agent, "message:response");
  else if (result.status === "error") emitAgentEvent(agent, "message:error", () => ({ error: result.error ?? "error" }));
}

/** The name of the tool of `toolCallId`: a `tool-<name>` part, or a dynamic tool's `toolName`. */
function toolNameOf(messages: readonly MessageLike[], toolCallId: string): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    for (const part of messages[i]!.parts) {
      if (part.toolCallId !== toolCallId) continue;
      if (part.toolName) return part.toolName;
      if (part.type.startsWith("tool-")) return part.type.slice("tool-".length);
    }
  }
  return "unknown";
}
