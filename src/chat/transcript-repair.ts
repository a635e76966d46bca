/**
 * `chat:transcript:repaired`: a turn cut short (cancelled, failed, stalled, or interrupted by a
 * restart) leaves tool calls without a result; before its message is stored they are made
 * consistent (a call whose input never finished is dropped, a server call that was running or
 * approved ends as `output-error`; see `settleInterruptedToolCalls`). This reports which.
 */
import type { UIMessage } from "ai";
import { emitAgentEvent } from "../events/index.ts";

type ToolRecord = { toolCallId?: unknown; state?: unknown; type?: unknown };

/**
 * The ids of the tool calls of `before` that `after` dropped or whose state it changed.
 * @example
 * const ids = repairedToolCalls(streamed, settled); // ["call_1"]
 */
export function repairedToolCalls(before: UIMessage, after: UIMessage): string[] {
  if (before === after) return [];
  const states = new Map<string, unknown>();
  for (const part of after.parts) {
    const tool = toolOf(part);
    if (tool) states.set(tool.id, tool.state);
  }
  const ids: string[] = [];
  for (const part of before.parts) {
    const tool = toolOf(part);
    if (tool && (!states.has(tool.id) || states.get(tool.id) !== tool.state)) ids.push(tool.id);
  }
  return ids;
}

/**
 * Emits `chat:transcript:repaired` for the tool calls repaired in the answer of `requestId`, if any.
 * Hearth never rewrites tool inputs, so `normalizedInputs` is always 0.
 * @example
 * emitTranscriptRepaired(agent, requestId, ["call_1"]);
 */
export function emitTranscriptRepaired(agent: object, requestId: string, toolCallIds: readonly string[]): void {
  if (toolCallIds.length === 0) return;
  emitAgentEvent(agent, "chat:transcript:repaired", () => ({ requestId, removedToolCalls: toolCallIds.length, normalizedInputs: 0, toolCallIds: [...toolCallIds] }));
}

function toolOf(part: UIMessage["parts"][number]): { id: string; state: unknown } | undefined {
  const record = part as ToolRecord;
  if (typeof record.type !== "string" || (!record.type.startsWith("tool-") && record.type !== "dynamic-tool")) return undefined;
  return typeof record.toolCallId === "string" ? { id: record.toolCallId, state: record.state } : undefined;
}

/** Marks a message whose stream a restart cut short (`metadata.interrupted`). */
export function markInterrupted<M extends UIMessage>(message: M): M {
  const metadata = message.metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) return message;
  return { ...message, metadata: { ...(metadata as Record<string, unknown> | undefined), interrupted: true } };
}
