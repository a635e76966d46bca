/**
 * Chunks that repeat a tool call the answer already has. Some providers (OpenAI's Responses API)
 * replay the earlier tool calls of a conversation, with their original ids, at the start of a
 * continuation's stream: applied, they would add a second part for the same call (sent to the model
 * again as a duplicate call id) or move a settled call back (an approved one asking again). As the
 * Agents SDK does, such chunks are dropped before they are stored, sent or assembled.
 */
import type { UIMessage, UIMessageChunk } from "ai";

/** States of a tool part past which a repeated approval request or denial is a replay. */
const SETTLED = new Set(["output-available", "output-error", "output-denied", "approval-responded"]);

/**
 * The state of each tool call of the answer being streamed, by call id: those of the message a
 * continuation starts from, then as the stream's own chunks move them.
 * @example
 * const calls = new ToolCallStates(base);
 * if (!calls.isReplay(chunk)) { send(chunk); calls.note(chunk); }
 */
export class ToolCallStates {
  readonly #states = new Map<string, string>();

  constructor(base: UIMessage | undefined) {
    for (const part of base?.parts ?? []) {
      const { toolCallId, state } = part as { toolCallId?: unknown; state?: unknown };
      if (typeof toolCallId === "string" && typeof state === "string") this.#states.set(toolCallId, state);
    }
  }

  /** Whether `chunk` repeats a call the answer has (see the module comment). */
  isReplay(chunk: UIMessageChunk): boolean {
    const id = (chunk as { toolCallId?: unknown }).toolCallId;
    if (typeof id !== "string") return false;
    const state = this.#states.get(id);
    if (state === undefined) return false;
    switch (chunk.type) {
      case "tool-output-denied":
      case "tool-approval-request":
        return SETTLED.has(state);
      case "tool-input-start":
        return true;
      case "tool-input-delta":
      case "tool-input-available":
        return state !== "input-streaming";
      default:
        return false;
    }
  }

  /** `chunk` went out: the call it names is in the state it leaves it in. */
  note(chunk: UIMessageChunk): void {
    const id = (chunk as { toolCallId?: unknown }).toolCallId;
    if (typeof id !== "string") return;
    const state = STATE_AFTER[chunk.type];
    if (state !== undefined) this.#states.set(id, state);
  }
}

/** The state a tool part is in after each kind of tool chunk. */
const STATE_AFTER: Partial<Record<UIMessageChunk["type"], string>> = {
  "tool-input-start": "input-streaming",
  "tool-input-available": "input-available",
  "tool-input-error": "output-error",
  "tool-approval-request": "approval-requested",
  "tool-output-available": "output-available",
  "tool-output-error": "output-error",
  "tool-output-denied": "output-denied",
};
