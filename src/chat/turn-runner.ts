/**
 * One turn: calls `onChatMessage`, reads the UI message stream it returns, stores each chunk and
 * broadcasts it as a `cf_agent_use_chat_response` frame, assembles the assistant message with the
 * AI SDK's `readUIMessageStream`, and stores that message when the stream ends (also when it is
 * aborted or fails: what was produced is kept). The stored chunks are dropped in the same commit.
 */
import { generateId, readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { messageOf } from "../agent/rpc.ts";
import { chatFrames, type ChatOutcome, type ClientToolSchema } from "./frames.ts";
import { conversationTooLarge, type ChatLimits } from "./limits.ts";
import { ConversationTooLargeError, type MessageStore } from "./message-store.ts";
import type { LiveStream, ResumeCoordinator } from "./resume.ts";
import type { StreamStore } from "./stream-store.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions } from "./types.ts";
import { settleInterruptedToolCalls } from "./tool-parts.ts";
import { repairedToolCalls } from "./transcript-repair.ts";
import { readReply, type ChatReply } from "./ui-stream.ts";
import type { UsageEvent } from "./usage.ts";
import { tooLarge } from "./validate.ts";
import type { TurnAdmission, TurnTrigger } from "./turn-events.ts";
import { setTimeout } from "node:timers"; // the runtime's own: never an actor's timer (host/actor-timers.ts)
import { ToolCallStates } from "./replayed-chunks.ts";

export interface TurnHost<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly streams: StreamStore;
  readonly resume: ResumeCoordinator;
  limits(): ChatLimits;
  keepLast(): number | undefined;
  /** The user's `onChatMessage`. */
  reply(onFinish: ChatFinishCallback, options: OnChatMessageOptions): Promise<ChatReply | undefined>;
  recordUsage(requestId: string, event: UsageEvent): void;
  /** Sends to every chat connection except `except`. */
  broadcast(frame: string, except?: string): void;
  /** Sends a chunk of the live stream: not to connections offered it that have not acknowledged yet. */
  broadcastChunk(frame: string): void;
  /** Sends the stream's terminal frame: not to connections that get it with the replay when they acknowledge. */
  broadcastTerminal(frame: string): void;
  setLive(live: LiveStream | undefined): void;
  report(error: unknown): void;
  /** The agent left memory: its storage is closed; nothing more may be written or sent. */
  gone(): boolean;
  /** The built-in cleaning and `sanitizeMessageForPersistence`, before the answer is stored. */
  sanitize(message: M): M;
  /** The reply produced nothing for `timeoutMs` and is being aborted (`chat:stream:stalled`). */
  stalled(timeoutMs: number): void;
  /** These tool calls of the cut-short answer were settled before it is stored (`chat:transcript:repaired`). */
  repaired(toolCallIds: string[]): void;
  /** The turn failed (`chat:request:failed`): storage, the reply function, or its stream. */
  failed(stage: "persist" | "turn" | "stream", error: string): void;
}

export interface TurnSpec {
  requestId: string;
  /** Continues the last answer after a client's tool result or approval: frames carry `continuation`. */
  continuation: boolean;
  /** The connection that sent the request: it has the conversation already. */
  originId: string | undefined;
  messageIds: string[] | undefined;
  body: Record<string, unknown> | undefined;
  clientTools: ClientToolSchema[] | undefined;
  /** The request a recovery chain began with, for a turn that recovers an interrupted one. */
  rootRequestId?: string;
  /** What started the turn, for its `chat:turn:*` events (default: from `continuation`; see turn-events.ts). */
  trigger?: TurnTrigger;
  /** The concurrency strategy it was admitted under, for its events (default "queue"). */
  admission?: TurnAdmission;
  /** Gets every chunk of the turn, as JSON (an agent-tool run records them under its run). */
  observe?: (body: string) => void;
}

export async function runTurn<M extends UIMessage>(host: TurnHost<M>, spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>> {
  const { requestId, continuation } = spec;
  const end = (status: ChatOutcome, message: M | undefined, error?: string): ChatResponseResult<M> => ({
    requestId,
    status,
    message,
    continuation,
    ...(error !== undefined ? { error } : {}),
  });
  const limits = host.limits();
  // Opt-in (0 is off, as in the Agents SDK): a reply that produces nothing for maxTurnIdleMs is
  // aborted, so a hung provider does not hold the queue and the agent's memory forever. Off, a
  // slow server tool keeps its result; what a turn buffers stays bounded by the byte limits.
  const idleMs = limits.maxTurnIdleMs;
  const idle = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    if (idleMs <= 0) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      host.stalled(idleMs);
      idle.abort(new Error(`the reply produced nothing for ${idleMs} ms; the limit is ${idleMs} (maxTurnIdleMs)`));
    }, idleMs);
  };
  const state = { terminalSent: false, streaming: false };
  touch();
  try {
    return await turn(host, spec, AbortSignal.any([signal, idle.signal]), idle.signal, touch, state, end);
  } catch (error) {
    // Storage failed (or another fault outside the reply): the turn still ends with a terminal frame.
    if (host.gone()) return end("aborted", undefined);
    host.report(error);
    const message = messageOf(error);
    host.failed("persist", message);
    const closing = chatFrames.response({ id: requestId, body: message, done: true, error: true, continuation, messageIds: spec.messageIds, outcome: "error" });
    if (state.streaming) {
      host.setLive(undefined);
      host.resume.streamEnded({ requestId, continuation, outcome: "error", messageIds: spec.messageIds, bodies: [], terminal: closing });
    }
    if (!state.terminalSent) host.broadcast(closing);
    return end("error", undefined, message);
  } finally {
    clearTimeout(timer);
  }
}

async function turn<M extends UIMessage>(
  host: TurnHost<M>,
  spec: TurnSpec,
  signal: AbortSignal,
  idleSignal: AbortSignal,
  touch: () => void,
  state: { terminalSent: boolean; streaming: boolean },
  end: (status: ChatOutcome, message: M | undefined, error?: string) => ChatResponseResult<M>,
): Promise<ChatResponseResult<M>> {
  const { requestId, continuation } = spec;
  const last = host.messages.list.at(-1);
  // A turn after a tool answer (or a request whose last message is the assistant's) continues that message.
  const base = last?.role === "assistant" ? last : undefined;
  const idleError = () => (idleSignal.aborted ? messageOf(idleSignal.reason) : undefined);
  const terminal = (status: ChatOutcome, error?: string) =>
    error === undefined
      ? chatFrames.response({ id: requestId, body: "", done: true, continuation, messageIds: spec.messageIds, outcome: status })
      : chatFrames.response({ id: requestId, body: error, done: true, error: true, continuation, messageIds: spec.messageIds, outcome: "error" });
  const sendTerminal = (frame: string) => {
    state.terminalSent = true;
    host.broadcastTerminal(frame);
  };
  const stream = { requestId, continuation, messageIds: spec.messageIds, anchorId: last?.id, baseId: base?.id };
  /** A failure before anything streamed: kept for clients that reconnect, then sent. */
  const failEarly = (message: string) => {
    host.streams.fail(stream, message);
    sendTerminal(terminal("error", message));
    return end("error", undefined, message);
  };
  // This turn's outcome supersedes the last one's error.
  host.streams.dropFailed();

  let reply: ChatReply | undefined;
  try {
    const pending = host.reply(async (event) => host.recordUsage(requestId, event), {
      abortSignal: signal,
      body: spec.body,
      clientTools: spec.clientTools,
      requestId,
      continuation,
    });
    reply = await untilAborted(pending, signal);
  } catch (error) {
    if (host.gone()) return end("aborted", undefined);
    const stalled = idleError();
    if (signal.aborted && stalled === undefined) {
      sendTerminal(terminal("aborted"));
      return end("aborted", undefined);
    }
    if (stalled === undefined) host.report(error);
    const message = stalled ?? messageOf(error);
    host.failed("turn", message);
    return failEarly(message);
  }
  if (host.gone()) return end("aborted", undefined);
  if (reply === undefined || signal.aborted) {
    const status = reply === undefined ? "completed" : "aborted";
    discard(reply);
    sendTerminal(terminal(status));
    return end(status, undefined);
  }
  if (reply instanceof Response && !reply.ok) {
    const text = (await reply.text().catch(() => "")).slice(0, 1000);
    const message = `onChatMessage answered HTTP ${reply.status}${text ? `: ${text}` : ""}`;
    if (host.gone()) return end("aborted", undefined);
    host.failed("turn", message);
    return failEarly(message);
  }

  state.streaming = true;
  host.streams.start(stream);
  host.setLive({ requestId, continuation });
  host.resume.streamStarted(requestId);

  const assembler = new Assembler<M>(base);
  const toolCalls = new ToolCallStates(base);
  const limits = host.limits();
  const baseBytes = base ? Buffer.byteLength(JSON.stringify(base)) : 0;
  // The reply also fits the conversation: clients never show what the agent will not store.
  // A continuation's stored message is replaced by itself plus what streams: the room is what the
  // conversation has left, its base counted in both.
  const room = limits.maxConversationBytes - host.messages.bytes;
  const budget = Math.min(limits.maxChatMessageBytes - baseBytes, room);
  let streamed = 0;
  let first = true;
  let status: ChatOutcome = "completed";
  let failure: string | undefined;
  let failedStoring = false;
  /** The reply was assembled but not stored (too large): no client may keep what streamed of it. */
  let notStored = false;
  let errorSent = false;
  // Reading stops when the turn is aborted, or here when the reply grows past the limit.
  const reading = new AbortController();
  /** Stores, sends and assembles a chunk; false, doing none of it, when it would take the reply past the limit. */
  const emit = (chunk: UIMessageChunk): boolean => {
    if (toolCalls.isReplay(chunk)) return true; // a provider repeating an earlier call: nothing to store or send
    const body = JSON.stringify(chunk);
    const bytes = Buffer.byteLength(body);
    // Checked before anything goes out: one huge chunk (a tool's result) would otherwise reach
    // every client and leave an answer too large to store, of which nothing would be kept.
    if (streamed + bytes > budget) {
      status = "error";
      failure =
        streamed + bytes > limits.maxChatMessageBytes - baseBytes
          ? tooLarge("The reply", streamed + bytes + baseBytes, limits)
          : conversationTooLarge(limits.maxConversationBytes - room + streamed + bytes, limits.maxConversationBytes, "The reply");
      reading.abort(new Error(failure));
      return false;
    }
    streamed += bytes;
    const seq = host.streams.append(requestId, body);
    spec.observe?.(body);
    host.broadcastChunk(chatFrames.response({ id: requestId, body, done: false, seq, continuation }));
    assembler.push(chunk);
    toolCalls.note(chunk);
    return true;
  };
  const stopReading = () => reading.abort(signal.reason);
  signal.addEventListener("abort", stopReading, { once: true });
  try {
    for await (const chunk of readReply(reply, reading.signal)) {
      if (host.gone()) return end("aborted", undefined);
      touch();
      if (first) {
        first = false;
        // Clients and the stored message agree on the answer's id: a fresh answer gets one; a
        // continuation keeps the message the client already shows (its start carries no id).
        const id = base?.id ?? generateId();
        if (chunk.type !== "start" && !continuation) {
          host.setLive({ requestId, continuation, messageId: id });
          if (!emit({ type: "start", messageId: id })) break;
        }
        if (chunk.type === "start") {
          const { messageId, ...rest } = chunk;
          host.setLive({ requestId, continuation, messageId: continuation ? id : (messageId ?? id) });
          if (!emit(continuation ? rest : { ...rest, messageId: messageId ?? id })) break;
          continue;
        }
      }
      if (!emit(chunk)) break;
      if (chunk.type === "error") {
        // Clients stop reading the request at this frame; the turn goes on to its end.
        host.broadcastChunk(chatFrames.response({ id: requestId, body: chunk.errorText, done: false, error: true, continuation }));
        status = "error";
        failure ??= chunk.errorText;
        errorSent = true;
      }
    }
    if (signal.aborted && status !== "error") status = "aborted";
  } catch (error) {
    if (host.gone()) return end("aborted", undefined);
    if (signal.aborted) status = "aborted";
    else {
      status = "error";
      failure = messageOf(error);
      host.report(error);
    }
  } finally {
    signal.removeEventListener("abort", stopReading);
  }
  const stalled = idleError();
  if (stalled !== undefined && status !== "completed") {
    status = "error";
    failure ??= stalled;
  }

  let message = await assembler.finish();
  if (host.gone()) return end("aborted", undefined);
  if (message && status !== "completed") {
    const streamed = message;
    message = settleInterruptedToolCalls(withoutUnfinishedToolCalls(message), clientToolNames(spec.clientTools));
    host.repaired(repairedToolCalls(streamed, message));
  }
  if (message) message = host.sanitize(message);
  if (message && message.parts.length > 0) {
    const bytes = Buffer.byteLength(JSON.stringify(message));
    if (bytes > limits.maxChatMessageBytes) {
      status = "error";
      failure = tooLarge(`The reply ${JSON.stringify(message.id)}`, bytes, limits);
      message = undefined;
      notStored = true;
    } else {
      try {
        host.messages.put(message, last?.id, host.keepLast());
      } catch (error) {
        if (!(error instanceof ConversationTooLargeError)) throw error;
        status = "error";
        failure = `The reply ${JSON.stringify(message.id)} was not stored: ${error.message}`;
        failedStoring = true;
        notStored = true;
        message = undefined;
      }
    }
  } else message = undefined;
  // Connections offered the stream that have not acknowledged yet get it whole when they do.
  const owed = host.resume.excluded.size > 0 ? [...host.streams.chunks(requestId)] : [];
  // An error stays replayable until the next turn: a client away when it happened learns of it.
  // (Without what streamed when the reply was not stored: a client replaying it would keep a copy the agent refuses.)
  if (status === "error") host.streams.fail(stream, failure ?? "the reply ended with an error", notStored ? "drop" : "keep");
  else host.streams.finish(requestId);
  host.setLive(undefined);
  const closing = errorSent
    ? chatFrames.response({ id: requestId, body: "", done: true, continuation, messageIds: spec.messageIds, outcome: "error" })
    : terminal(status, failure);
  // Before the end goes out, so every connection gets it (and the conversation after it).
  host.resume.streamEnded({ requestId, continuation, outcome: status, messageIds: spec.messageIds, bodies: owed, terminal: closing });
  sendTerminal(closing);
  if (message) host.broadcast(chatFrames.messages(host.messages.list), continuation ? undefined : spec.originId);
  // Not stored after all: every client, the sender too, drops its copy of what streamed.
  else if (notStored) host.broadcast(chatFrames.messages(host.messages.list));
  if (status === "error") host.failed(failedStoring ? "persist" : "stream", failure ?? "the reply ended with an error");
  return end(status, message, failure);
}

/** The names of the client's tools. */
export function clientToolNames(clientTools: readonly ClientToolSchema[] | undefined): ReadonlySet<string> {
  return new Set((clientTools ?? []).map((tool) => tool.name));
}

/**
 * Rebuilds the message from a stored stream (after a restart cut it short); `settle`: its unfinished
 * tool calls are made consistent (see `settleInterruptedToolCalls`), as a stored message needs, and
 * `repaired` is told which.
 */
export async function assembleStored<M extends UIMessage>(
  chunks: Iterable<string>,
  base: M | undefined,
  clientTools: ReadonlySet<string>,
  settle = true,
  repaired?: (toolCallIds: string[]) => void,
): Promise<M | undefined> {
  const assembler = new Assembler<M>(base);
  for (const body of chunks) {
    try {
      assembler.push(JSON.parse(body) as UIMessageChunk);
    } catch {
      // A chunk that cannot be read is skipped; the rest still makes the message.
    }
  }
  const message = await assembler.finish();
  if (!message || !settle) return message;
  const settled = settleInterruptedToolCalls(withoutUnfinishedToolCalls(message), clientTools);
  repaired?.(repairedToolCalls(message, settled));
  return settled;
}

/** Feeds chunks to the AI SDK's `readUIMessageStream` and keeps its latest message. */
class Assembler<M extends UIMessage> {
  readonly #controller: ReadableStreamDefaultController<UIMessageChunk>;
  readonly #done: Promise<void>;
  #latest: M | undefined;

  constructor(base: M | undefined) {
    let controller!: ReadableStreamDefaultController<UIMessageChunk>;
    const stream = new ReadableStream<UIMessageChunk>({ start: (c) => void (controller = c) });
    this.#controller = controller;
    // The SDK updates the message it starts from in place: give it a copy, not the stored one.
    this.#latest = base ? structuredClone(base) : undefined;
    const messages = readUIMessageStream<M>({ message: this.#latest, stream, onError: () => {} });
    this.#done = (async () => {
      for await (const message of messages) this.#latest = message;
    })();
  }

  push(chunk: UIMessageChunk): void {
    try {
      this.#controller.enqueue(chunk);
    } catch {
      // The SDK stopped reading after a chunk it could not apply; the message stays as it was then.
    }
  }

  async finish(): Promise<M | undefined> {
    try {
      this.#controller.close();
    } catch {
      // Already closed by the SDK.
    }
    await this.#done.catch(() => {});
    return this.#latest;
  }
}

/**
 * A message whose stream was cut short, made consistent: tool calls whose input never finished
 * cannot be sent to a model again and are dropped; text and reasoning still "streaming" are done.
 */
function withoutUnfinishedToolCalls<M extends UIMessage>(message: M): M {
  let changed = false;
  const parts: M["parts"] = [];
  for (const part of message.parts) {
    const state = (part as { state?: unknown }).state;
    if (state === "input-streaming") {
      changed = true;
      continue;
    }
    if ((part.type === "text" || part.type === "reasoning") && state === "streaming") {
      changed = true;
      parts.push({ ...part, state: "done" });
      continue;
    }
    parts.push(part);
  }
  return changed ? { ...message, parts } : message;
}

/**
 * Waits for `onChatMessage`, but no longer than the turn lives: a cancel ends the turn even when
 * the code ignores its signal (a reply that still comes is cancelled unread).
 */
function untilAborted(pending: Promise<ChatReply | undefined>, signal: AbortSignal): Promise<ChatReply | undefined> {
  if (signal.aborted) {
    void pending.then(discard, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      void pending.then(discard, () => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (reply) => {
        signal.removeEventListener("abort", onAbort);
        resolve(reply);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function discard(reply: ChatReply | undefined): void {
  if (reply instanceof Response) void reply.body?.cancel().catch(() => {});
  else if (reply) void reply.cancel().catch(() => {});
}
