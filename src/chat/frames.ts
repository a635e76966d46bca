/**
 * The chat frames of the wire protocol (the `cf_agent_*` chat family of Cloudflare's Agents SDK),
 * parsed and checked without throwing, and the frames the agent sends back. All frames are JSON text.
 */
import { CHAT_FRAME_TYPES, type ChatFrameOutcome, type ChatOutcome, type ClientToolSchema } from "../protocol/chat.ts";
import { isRecord, readJsonObject } from "../client/frames.ts";
import type { ChatLimits } from "./limits.ts";

export type { ChatFrameOutcome, ChatOutcome, ClientToolSchema };

/**
 * The `type` of every chat frame (shared with the clients: `src/protocol/chat.ts`). Client → agent:
 * `request`, `messages` (edits, reorders or drops stored messages; adds none), `clear`, `cancel`,
 * `resumeRequest`, `resumeAck`, `toolResult`, `toolApproval`; agent → client: `response`,
 * `messages`, `clear`, `resuming`, `resumeNone`, `pending`, `messageUpdated`, `recovering`.
 * @example
 * if (frame.type === CHAT_FRAMES.toolApproval) applyApproval(frame);
 */
export const CHAT_FRAMES = CHAT_FRAME_TYPES;

const INCOMING = new Set<string>([
  CHAT_FRAMES.request,
  CHAT_FRAMES.messages,
  CHAT_FRAMES.clear,
  CHAT_FRAMES.cancel,
  CHAT_FRAMES.resumeRequest,
  CHAT_FRAMES.resumeAck,
  CHAT_FRAMES.toolResult,
  CHAT_FRAMES.toolApproval,
]);


/** How a chat request asks for a reply: a new user message, or regenerating the last answer. */
export type ChatTrigger = "submit-message" | "regenerate-message";

/** The JSON body of a chat request, split into what the runtime reads and the application's rest. */
export interface ChatRequestBody {
  /** Not yet validated as UIMessages: see validate.ts. */
  messages: unknown[];
  trigger: ChatTrigger;
  clientTools: ClientToolSchema[] | undefined;
  /** Every other field of the body (from the client's `body` / `prepareSendMessagesRequest`). */
  body: Record<string, unknown> | undefined;
}

export type ChatFrame =
  | { type: typeof CHAT_FRAMES.request; id: string; request: ChatRequestBody }
  | { type: typeof CHAT_FRAMES.messages; messages: unknown[] }
  | { type: typeof CHAT_FRAMES.clear }
  | { type: typeof CHAT_FRAMES.cancel; id: string }
  | { type: typeof CHAT_FRAMES.resumeRequest; probeId: string | undefined }
  | { type: typeof CHAT_FRAMES.resumeAck; id: string }
  | {
      type: typeof CHAT_FRAMES.toolResult;
      toolCallId: string;
      output: unknown;
      errorText: string | undefined;
      failed: boolean;
      autoContinue: boolean;
      clientTools: ClientToolSchema[] | undefined;
    }
  | { type: typeof CHAT_FRAMES.toolApproval; toolCallId: string; approved: boolean; autoContinue: boolean };

export type ParsedChatFrame =
  | { kind: "chat"; frame: ChatFrame }
  /** A chat frame that cannot be accepted; `requestId` is set when a chat response can carry the error. */
  | { kind: "invalid"; error: string; requestId?: string }
  /** Not a chat frame: the agent's other handlers decide. */
  | { kind: "other" };

/** Classifies a text frame without throwing: a chat frame, a malformed one, or something else. */
export function parseChatFrame(text: string, limits: ChatLimits): ParsedChatFrame {
  // Cheap filter: only JSON objects that mention the chat family are parsed here.
  if (!text.includes('"cf_agent_')) return { kind: "other" };
  const value = readJsonObject(text.trimStart());
  if (value === undefined || typeof value.type !== "string" || !INCOMING.has(value.type)) return { kind: "other" };
  try {
    return { kind: "chat", frame: toFrame(value, limits) };
  } catch (error) {
    if (!(error instanceof FrameError)) throw error;
    const requestId = value.type === CHAT_FRAMES.request && validId(value.id, limits) ? value.id : undefined;
    return { kind: "invalid", error: `${value.type}: ${error.message}`, ...(requestId ? { requestId } : {}) };
  }
}

class FrameError extends Error {}

function toFrame(value: Record<string, unknown>, limits: ChatLimits): ChatFrame {
  switch (value.type) {
    case CHAT_FRAMES.request: {
      const id = requireId(value, "id", limits);
      const init = value.init;
      if (!isRecord(init)) throw new FrameError('needs an "init" object');
      if (init.method !== undefined && init.method !== "POST") throw new FrameError(`init.method must be "POST", got ${JSON.stringify(init.method)}`);
      if (typeof init.body !== "string") throw new FrameError('init.body must be a JSON string with "messages"');
      return { type: CHAT_FRAMES.request, id, request: parseRequestBody(init.body, limits) };
    }
    case CHAT_FRAMES.messages:
      return { type: CHAT_FRAMES.messages, messages: requireMessages(value.messages, "messages", limits) };
    case CHAT_FRAMES.clear:
      return { type: CHAT_FRAMES.clear };
    case CHAT_FRAMES.cancel:
      return { type: CHAT_FRAMES.cancel, id: requireId(value, "id", limits) };
    case CHAT_FRAMES.resumeRequest: {
      const probeId = value.probeId;
      if (probeId !== undefined && !validId(probeId, limits)) throw new FrameError(`"probeId" must be a string of 1-${limits.maxChatIdLength} characters`);
      return { type: CHAT_FRAMES.resumeRequest, probeId };
    }
    case CHAT_FRAMES.resumeAck:
      return { type: CHAT_FRAMES.resumeAck, id: requireId(value, "id", limits) };
    case CHAT_FRAMES.toolResult: {
      const toolCallId = requireId(value, "toolCallId", limits);
      const state = value.state;
      if (state !== undefined && state !== "output-available" && state !== "output-error") {
        throw new FrameError(`"state" must be "output-available" or "output-error", got ${JSON.stringify(state)}`);
      }
      if (value.errorText !== undefined && typeof value.errorText !== "string") throw new FrameError('"errorText" must be a string');
      return {
        type: CHAT_FRAMES.toolResult,
        toolCallId,
        // A tool that returned `undefined` arrives without "output" (JSON drops it): null.
        output: value.output ?? null,
        errorText: value.errorText as string | undefined,
        failed: state === "output-error",
        autoContinue: optionalBoolean(value, "autoContinue"),
        clientTools: parseClientTools(value.clientTools, limits),
      };
    }
    case CHAT_FRAMES.toolApproval: {
      const toolCallId = requireId(value, "toolCallId", limits);
      if (typeof value.approved !== "boolean") throw new FrameError('"approved" must be true or false');
      return { type: CHAT_FRAMES.toolApproval, toolCallId, approved: value.approved, autoContinue: optionalBoolean(value, "autoContinue") };
    }
  }
  throw new FrameError("unknown chat frame");
}

function parseRequestBody(text: string, limits: ChatLimits): ChatRequestBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FrameError(`init.body is not JSON: ${(error as Error).message}`);
  }
  if (!isRecord(parsed)) throw new FrameError("init.body must be a JSON object");
  const { messages, trigger, clientTools, messageId: _messageId, ...rest } = parsed;
  if (trigger !== undefined && trigger !== "submit-message" && trigger !== "regenerate-message") {
    throw new FrameError(`"trigger" must be "submit-message" or "regenerate-message", got ${JSON.stringify(trigger)}`);
  }
  return {
    messages: requireMessages(messages, "init.body.messages", limits),
    trigger: trigger ?? "submit-message",
    clientTools: parseClientTools(clientTools, limits),
    body: Object.keys(rest).length > 0 ? rest : undefined,
  };
}

function requireMessages(value: unknown, field: string, limits: ChatLimits): unknown[] {
  if (!Array.isArray(value)) throw new FrameError(`"${field}" must be an array of UI messages`);
  if (value.length > limits.maxChatRequestMessages) {
    throw new FrameError(`"${field}" has ${value.length} messages; the limit is ${limits.maxChatRequestMessages} (maxChatRequestMessages)`);
  }
  return value;
}

function parseClientTools(value: unknown, limits: ChatLimits): ClientToolSchema[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new FrameError('"clientTools" must be an array');
  if (value.length > limits.maxClientTools) {
    throw new FrameError(`"clientTools" has ${value.length} tools; the limit is ${limits.maxClientTools} (maxClientTools)`);
  }
  for (const tool of value) {
    if (!isRecord(tool) || typeof tool.name !== "string" || tool.name.length === 0) throw new FrameError('every client tool needs a "name"');
    if (tool.description !== undefined && typeof tool.description !== "string") throw new FrameError(`client tool "${tool.name}": "description" must be a string`);
    if (tool.parameters !== undefined && !isRecord(tool.parameters)) throw new FrameError(`client tool "${tool.name}": "parameters" must be a JSON schema object`);
  }
  return value.length > 0 ? (value as ClientToolSchema[]) : undefined;
}

function requireId(value: Record<string, unknown>, field: string, limits: ChatLimits): string {
  const id = value[field];
  if (!validId(id, limits)) throw new FrameError(`"${field}" must be a string of 1-${limits.maxChatIdLength} characters`);
  return id;
}

function validId(id: unknown, limits: ChatLimits): id is string {
  return typeof id === "string" && id.length > 0 && id.length <= limits.maxChatIdLength;
}

function optionalBoolean(value: Record<string, unknown>, field: string): boolean {
  const flag = value[field];
  if (flag !== undefined && typeof flag !== "boolean") throw new FrameError(`"${field}" must be a boolean`);
  return flag === true;
}



/** Fields of a `cf_agent_use_chat_response` frame besides its type. */
export interface ResponseFrameFields {
  id: string;
  body: string;
  done: boolean;
  error?: boolean;
  continuation?: boolean;
  replay?: boolean;
  replayComplete?: boolean;
  seq?: number;
  messageIds?: string[];
  outcome?: ChatFrameOutcome;
}

/** Builders of the frames the agent sends. */
export const chatFrames = {
  response: (fields: ResponseFrameFields): string => {
    const frame: Record<string, unknown> = { type: CHAT_FRAMES.response, id: fields.id, body: fields.body, done: fields.done };
    if (fields.error) frame.error = true;
    if (fields.continuation) frame.continuation = true;
    if (fields.replay) frame.replay = true;
    if (fields.replayComplete) frame.replayComplete = true;
    if (fields.seq !== undefined) frame.seq = fields.seq;
    if (fields.messageIds?.length && (fields.done || fields.error)) frame.messageIds = fields.messageIds;
    if (fields.outcome && fields.done) frame.outcome = fields.outcome;
    return JSON.stringify(frame);
  },
  messages: (messages: readonly unknown[], connect = false): string =>
    JSON.stringify(connect ? { type: CHAT_FRAMES.messages, messages, connect: true } : { type: CHAT_FRAMES.messages, messages }),
  clear: (): string => JSON.stringify({ type: CHAT_FRAMES.clear }),
  messageUpdated: (message: unknown): string => JSON.stringify({ type: CHAT_FRAMES.messageUpdated, message }),
  resuming: (id: string, probeId?: string): string => JSON.stringify({ type: CHAT_FRAMES.resuming, id, ...(probeId ? { probeId } : {}) }),
  resumeNone: (probeId?: string): string => JSON.stringify({ type: CHAT_FRAMES.resumeNone, reason: "idle", ...(probeId ? { probeId } : {}) }),
  pending: (probeId?: string): string => JSON.stringify({ type: CHAT_FRAMES.pending, ...(probeId ? { probeId } : {}) }),
  recovering: (recovering: boolean, id?: string): string => JSON.stringify({ type: CHAT_FRAMES.recovering, recovering, ...(id ? { id } : {}) }),
};
