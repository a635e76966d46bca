/**
 * The `agent-tool-event` frames (Cloudflare's shape) a parent sends its clients, and the event that
 * ends a run for each way it can end.
 */
import type { AgentToolEvent, AgentToolEventMessage, AgentToolRunInfo, RunAgentToolResult } from "./agent-tool-types.ts";

/** The frame's type, as Cloudflare names it. */
export const AGENT_TOOL_EVENT_FRAME = "agent-tool-event";

export function agentToolFrame(parentToolCallId: string | undefined, sequence: number, event: AgentToolEvent, replay = false): string {
  const message: AgentToolEventMessage = { type: AGENT_TOOL_EVENT_FRAME, sequence, event };
  if (parentToolCallId !== undefined) message.parentToolCallId = parentToolCallId;
  if (replay) message.replay = true;
  return JSON.stringify(message);
}

export function startedEvent(run: AgentToolRunInfo): AgentToolEvent {
  return {
    kind: "started",
    runId: run.runId,
    agentType: run.agentType,
    order: run.displayOrder,
    ...(run.inputPreview !== undefined ? { inputPreview: run.inputPreview } : {}),
    ...(run.display !== undefined ? { display: run.display } : {}),
  };
}

export function terminalEvent(result: RunAgentToolResult): AgentToolEvent | undefined {
  const { runId } = result;
  switch (result.status) {
    case "completed":
      return { kind: "finished", runId, summary: result.summary ?? "" };
    case "error":
      return { kind: "error", runId, error: result.error ?? "Agent tool run failed" };
    case "aborted":
      return { kind: "aborted", runId, ...(result.error !== undefined ? { reason: result.error } : {}) };
    case "interrupted":
      return {
        kind: "interrupted",
        runId,
        error: result.error ?? "Agent tool run was interrupted",
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
        ...(result.childStillRunning !== undefined ? { childStillRunning: result.childStillRunning } : {}),
      };
  }
}
