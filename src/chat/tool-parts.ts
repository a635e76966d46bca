/**
 * Tool parts of UI messages: applying a client's tool result or approval to the stored
 * conversation, settling the calls a cut-short turn left unfinished, keeping the server's newer tool state when a client sends an older copy, and
 * telling whether the last answer still waits for a client.
 */
import type { UIMessage } from "ai";

type Part = UIMessage["parts"][number];
type PartRecord = Record<string, unknown> & { type: string; toolCallId: string; state: string };

/** Progress of a tool part: a client copy never moves a part backwards. */
const RANK: Record<string, number> = {
  "input-streaming": 0,
  "input-available": 1,
  "approval-requested": 2,
  "approval-responded": 3,
  "output-available": 4,
  "output-error": 4,
  "output-denied": 4,
};

function asToolPart(part: Part): PartRecord | undefined {
  const record = part as Record<string, unknown>;
  if (typeof record.type !== "string" || (!record.type.startsWith("tool-") && record.type !== "dynamic-tool")) return undefined;
  if (typeof record.toolCallId !== "string" || typeof record.state !== "string") return undefined;
  return record as PartRecord;
}

/** The tool a part calls: `tool-<name>`, or a dynamic tool's `toolName`. */
function toolNameOf(part: PartRecord): string {
  return part.type === "dynamic-tool" ? String(part.toolName) : part.type.slice("tool-".length);
}

/** True when the message has any tool part. */
export function hasToolParts(message: UIMessage): boolean {
  return message.parts.some((part) => asToolPart(part) !== undefined);
}

/** A tool call the client runs: declared in the client's tools, not executed by the provider. */
function runsOnClient(part: PartRecord, clientTools: ReadonlySet<string>): boolean {
  return part.providerExecuted !== true && clientTools.has(toolNameOf(part));
}

/**
 * A tool call whose result a client may give: one the server cannot run itself. That is a call of
 * one of the client's tools, or a stored call still waiting for its output (`input-available`): a
 * turn ends every call of a tool the server executes with its output, or as an error when it is
 * cut short, so a call stays waiting only when the server declares the tool without `execute`.
 */
function answerableByClient(part: PartRecord, clientTools: ReadonlySet<string>): boolean {
  return part.providerExecuted !== true && (clientTools.has(toolNameOf(part)) || part.state === "input-available");
}

/** The error text of a tool call a cancel, an error or a restart cut short. */
export const INTERRUPTED_TOOL = "interrupted before the tool finished";

/**
 * A message whose turn was cut short, made consistent: server tool calls that were running
 * (`input-available`) or approved but not run (`approval-responded`) end as `output-error`, so
 * the next turn can send the conversation to a model. Client tool calls keep waiting.
 */
export function settleInterruptedToolCalls<M extends UIMessage>(message: M, clientTools: ReadonlySet<string>): M {
  let changed = false;
  const parts = message.parts.map((part) => {
    const tool = asToolPart(part);
    if (!tool || (tool.state !== "input-available" && tool.state !== "approval-responded")) return part;
    if (tool.state === "input-available" && runsOnClient(tool, clientTools)) return part;
    changed = true;
    const { output: _o, preliminary: _p, ...rest } = tool;
    return { ...rest, state: "output-error", errorText: INTERRUPTED_TOOL } as Part;
  });
  return changed ? { ...message, parts } : message;
}

/** The result of applying a client's answer to a tool call. */
export type ToolUpdate<M extends UIMessage> =
  | { kind: "updated"; message: M }
  /** The part already holds a final state: the first answer wins, nothing changes. */
  | { kind: "unchanged"; message: M }
  | { kind: "not-found" }
  | { kind: "wrong-state"; state: string }
  /** A result for a call the server runs itself (its tool has an `execute`, or the provider ran it). */
  | { kind: "server-tool"; tool: string };

export type ToolAnswer = { kind: "result"; output: unknown; failed: boolean; errorText: string | undefined } | { kind: "approval"; approved: boolean };

/**
 * Applies a tool result or an approval to the message holding the call. A result is taken only
 * for a call the server cannot run itself (see `answerableByClient`) waiting for its output
 * (`input-available`); an approval only for a call waiting for one (`approval-requested`).
 */
export function applyToolAnswer<M extends UIMessage>(messages: readonly M[], toolCallId: string, answer: ToolAnswer, clientTools: ReadonlySet<string>): ToolUpdate<M> {
  for (let m = messages.length - 1; m >= 0; m--) {
    const message = messages[m]!;
    const index = message.parts.findIndex((part) => asToolPart(part)?.toolCallId === toolCallId);
    if (index < 0) continue;
    const part = asToolPart(message.parts[index]!)!;
    const next = answer.kind === "result" ? withResult(part, answer, clientTools) : withApproval(part, answer.approved);
    if (next === "final") return { kind: "unchanged", message };
    if (next === "server") return { kind: "server-tool", tool: toolNameOf(part) };
    if (next === undefined) return { kind: "wrong-state", state: part.state };
    const parts = [...message.parts];
    parts[index] = next as Part;
    return { kind: "updated", message: { ...message, parts } };
  }
  return { kind: "not-found" };
}

function withResult(part: PartRecord, answer: Extract<ToolAnswer, { kind: "result" }>, clientTools: ReadonlySet<string>): PartRecord | "final" | "server" | undefined {
  if (!answerableByClient(part, clientTools)) return "server";
  if (RANK[part.state] === 4) return "final";
  if (part.state !== "input-available") return undefined;
  const { errorText: _e, output: _o, ...rest } = part;
  return answer.failed
    ? { ...rest, state: "output-error", errorText: answer.errorText ?? "Tool execution failed on the client" }
    : { ...rest, state: "output-available", output: answer.output, preliminary: false };
}

function withApproval(part: PartRecord, approved: boolean): PartRecord | "final" | undefined {
  if (RANK[part.state] === 4 || part.state === "approval-responded") return "final";
  if (part.state !== "approval-requested") return undefined;
  const previous = typeof part.approval === "object" && part.approval !== null ? (part.approval as Record<string, unknown>) : {};
  const approval = { ...previous, id: typeof previous.id === "string" ? previous.id : part.toolCallId, approved };
  return { ...part, state: approved ? "approval-responded" : "output-denied", approval };
}

/**
 * A client's copy of the conversation, with the server's tool parts kept wherever the server's
 * are further along (a result or approval that reached the server after the client's snapshot).
 */
export function keepServerToolState<M extends UIMessage>(incoming: readonly M[], server: readonly M[]): M[] {
  const serverParts = new Map<string, PartRecord>();
  for (const message of server) {
    for (const part of message.parts) {
      const tool = asToolPart(part);
      if (tool) serverParts.set(tool.toolCallId, tool);
    }
  }
  if (serverParts.size === 0) return [...incoming];
  return incoming.map((message) => {
    let changed = false;
    const parts = message.parts.map((part) => {
      const tool = asToolPart(part);
      const known = tool && serverParts.get(tool.toolCallId);
      if (!tool || !known || (RANK[known.state] ?? 0) <= (RANK[tool.state] ?? 0)) return part;
      changed = true;
      return known as Part;
    });
    return changed ? { ...message, parts } : message;
  });
}

/** True while an assistant message waits on a client: an approval, or a result the client runs. */
export function awaitsClient(message: UIMessage | undefined): boolean {
  if (message?.role !== "assistant") return false;
  return message.parts.some((part) => {
    const tool = asToolPart(part);
    return tool !== undefined && (tool.state === "approval-requested" || (tool.state === "input-available" && tool.providerExecuted !== true));
  });
}

/** True when an assistant message holds an approved call no turn has run yet (its continuation is due). */
export function awaitsContinuation(message: UIMessage | undefined): boolean {
  if (message?.role !== "assistant" || awaitsClient(message)) return false;
  return message.parts.some((part) => asToolPart(part)?.state === "approval-responded");
}

/** Ids of the trailing user messages of a request: the sends this reply belongs to. */
export function originMessageIds(messages: readonly UIMessage[]): string[] | undefined {
  const ids: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === "user"; i--) ids.unshift(messages[i]!.id);
  return ids.length > 0 ? ids : undefined;
}
