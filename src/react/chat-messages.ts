/**
 * Transcript helpers for `useAgentChat`: merging the agent's copy of the
 * transcript with the client's, and tool parts the client has to act on.
 */
import { getToolName, isToolUIPart, type JSONSchema7, type UIMessage } from "ai";
import type { ClientToolSchema } from "../protocol/chat.ts";

export type { ClientToolSchema } from "../protocol/chat.ts";

/**
 * A tool the client runs itself. Its schema goes to the agent with every
 * turn (as `clientTools`), so the model can call it; `useAgentChat` runs
 * `execute` when it does (unless `onToolCall` handles the call).
 *
 * @example
 * ```ts
 * const tools: Record<string, AITool> = {
 *   get_location: {
 *     description: "The user's position",
 *     parameters: { type: "object", properties: {} },
 *     execute: async () => ({ lat: 52.5, lon: 13.4 }),
 *   },
 * };
 * ```
 */
export interface AITool<Input = unknown, Output = unknown> {
  description?: string;
  /** JSON Schema of the input. */
  parameters?: JSONSchema7;
  /** @deprecated The older name of {@link parameters}, still taken (as by the Agents SDK). */
  inputSchema?: JSONSchema7;
  /** Runs the tool in the client; tools without it only have their schema sent. */
  execute?(input: Input): Output | Promise<Output>;
}

/**
 * The schemas of the client tools that can run (those with `execute`), or
 * `undefined` when there are none.
 *
 * @example
 * ```ts
 * extractClientToolSchemas({ ping: { parameters: { type: "object" }, execute: () => "pong" } });
 * // [{ name: "ping", parameters: { type: "object" } }]
 * ```
 */
export function extractClientToolSchemas(tools: Record<string, AITool> | undefined): ClientToolSchema[] | undefined {
  if (tools === undefined) return undefined;
  const schemas = Object.entries(tools)
    .filter(([, tool]) => tool.execute !== undefined)
    .map(([name, tool]) => ({
      name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      // `inputSchema` is the older name the Agents SDK still takes.
      ...((tool.parameters ?? tool.inputSchema) !== undefined ? { parameters: tool.parameters ?? tool.inputSchema } : {}),
    }));
  return schemas.length > 0 ? schemas : undefined;
}

/**
 * A tool part's state reduced to what a UI shows.
 *
 * @example
 * ```tsx
 * if (isToolUIPart(part) && getToolPartState(part) === "waiting-approval") return <ApproveButtons part={part} />;
 * ```
 */
export function getToolPartState(
  part: UIMessage["parts"][number],
): "loading" | "streaming" | "waiting-approval" | "approved" | "complete" | "error" | "denied" {
  switch ("state" in part ? part.state : undefined) {
    case "input-streaming":
      return "streaming";
    case "approval-requested":
      return "waiting-approval";
    case "approval-responded":
      return "approved";
    case "output-available":
      return "complete";
    case "output-error":
      return "error";
    case "output-denied":
      return "denied";
    default:
      return "loading";
  }
}

/**
 * The agent's transcript, keeping the client's messages of a turn still in
 * flight: those after the last message the agent knows and not known to it
 * (the user message just sent, the answer streaming in).
 */
export function mergeServerMessages<M extends UIMessage>(server: M[], local: M[], inFlight: boolean): M[] {
  if (!inFlight) return server;
  const known = new Set(server.map((message) => message.id));
  let lastKnown = -1;
  local.forEach((message, index) => {
    if (known.has(message.id)) lastKnown = index;
  });
  const tail = local.slice(lastKnown + 1).filter((message) => !known.has(message.id));
  return tail.length === 0 ? server : [...server, ...tail];
}

function toolCallIds(message: UIMessage): Set<string> {
  const ids = new Set<string>();
  for (const part of message.parts) if (isToolUIPart(part)) ids.add(part.toolCallId);
  return ids;
}

/**
 * Applies a `cf_agent_message_updated` frame: replaces the message with the
 * same id, or else the one holding the same tool calls (keeping its local id).
 */
export function applyMessageUpdate<M extends UIMessage>(local: M[], updated: M): M[] {
  let index = local.findIndex((message) => message.id === updated.id);
  if (index === -1) {
    const ids = toolCallIds(updated);
    if (ids.size > 0) index = local.findIndex((message) => [...toolCallIds(message)].some((id) => ids.has(id)));
  }
  if (index === -1) return local;
  const next = local.slice();
  next[index] = { ...updated, id: local[index]!.id };
  return next;
}

/** History loaded after the client already has messages: the ones it lacks go first. */
export function prependMissing<M extends UIMessage>(history: M[], current: M[]): M[] {
  if (current.length === 0) return history;
  const have = new Set(current.map((message) => message.id));
  const missing = history.filter((message) => !have.has(message.id));
  return missing.length === 0 ? current : [...missing, ...current];
}

/** Tool calls in the last assistant message that wait for the client (no output, no approval pending). */
export function pendingToolCalls(
  messages: readonly UIMessage[],
): Array<{ toolCallId: string; toolName: string; input: unknown }> {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "assistant") return [];
  const calls: Array<{ toolCallId: string; toolName: string; input: unknown }> = [];
  for (const part of last.parts) {
    if (isToolUIPart(part) && part.state === "input-available" && !part.providerExecuted) {
      calls.push({ toolCallId: part.toolCallId, toolName: getToolName(part), input: part.input });
    }
  }
  return calls;
}

/** Whether the last assistant message still waits for tool outputs or approvals. */
export function awaitsToolInput(messages: readonly UIMessage[]): boolean {
  const last = messages[messages.length - 1];
  if (last === undefined || last.role !== "assistant") return false;
  return last.parts.some(
    (part) => isToolUIPart(part) && (part.state === "input-available" || part.state === "approval-requested"),
  );
}

/** The tool call a tool part with approval `approvalId` belongs to, and its tool's name. */
export function findApproval(
  messages: readonly UIMessage[],
  approvalId: string,
): { toolCallId: string; toolName: string } | undefined {
  for (const message of messages) {
    for (const part of message.parts) {
      if (isToolUIPart(part) && "approval" in part && part.approval?.id === approvalId) {
        return { toolCallId: part.toolCallId, toolName: getToolName(part) };
      }
    }
  }
  return undefined;
}

/** The name of the tool of call `toolCallId`. */
export function findToolName(messages: readonly UIMessage[], toolCallId: string): string | undefined {
  for (const message of messages) {
    for (const part of message.parts) {
      if (isToolUIPart(part) && part.toolCallId === toolCallId) return getToolName(part);
    }
  }
  return undefined;
}
