/**
 * The chat side of one agent: handles each chat frame, owns the stores, the turn queue and the
 * resume handshake, and runs turns through the agent's `onChatMessage`. The agent class only
 * routes its entry points here.
 */
import { generateId, type UIMessage } from "ai";
import type { Connection } from "../agent/connection.ts";
import { frames as protocolFrames } from "../protocol/frames.ts";
import type { SqlTag } from "../storage/sql.ts";
import { CHAT_FRAMES, chatFrames, type ChatFrame, type ClientToolSchema } from "./frames.ts";
import type { ChatLimits } from "./limits.ts";
import { ConversationTooLargeError, MessageStore } from "./message-store.ts";
import { ResumeCoordinator, type LiveStream } from "./resume.ts";
import { CHAT_SCHEMA } from "./schema.ts";
import { StreamStore } from "./stream-store.ts";
import { checkClientMessages, mergeIncoming } from "./merge.ts";
import { applyToolAnswer, awaitsClient, awaitsContinuation, originMessageIds, type ToolAnswer } from "./tool-parts.ts";
import { assembleStored, clientToolNames, runTurn, type TurnHost, type TurnSpec } from "./turn-runner.ts";
import { TurnQueue, type ChatConcurrency, type TurnJob } from "./turn-queue.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions } from "./types.ts";
import type { ChatReply } from "./ui-stream.ts";
import { UsageStore, type ChatUsageRecord, type UsageEvent } from "./usage.ts";
import { validateMessages } from "./validate.ts";

/** What the engine needs from its agent. */
export interface EngineHost<M extends UIMessage> {
  readonly sql: SqlTag;
  /** Runs a script of statements without bindings (the chat schema). */
  execScript(script: string): void;
  now(): number;
  connections(): Iterable<Connection>;
  /** The connection with this id, if it is still open. */
  getConnection(id: string): Connection | undefined;
  keepAlive(): () => void;
  report(error: unknown): void;
  reply(onFinish: ChatFinishCallback, options: OnChatMessageOptions): Promise<ChatReply | undefined>;
  responded(result: ChatResponseResult<M>): void | Promise<void>;
  usage(record: ChatUsageRecord): void | Promise<void>;
  concurrency(): ChatConcurrency;
  limits(): ChatLimits;
  keepLast(): number | undefined;
  /** Clients may send `role: "system"` messages (`acceptClientSystemMessages`). */
  acceptSystem(): boolean;
}

/** Frames that change the conversation: refused from read-only connections. */
const WRITES = new Set<string>([CHAT_FRAMES.request, CHAT_FRAMES.messages, CHAT_FRAMES.clear, CHAT_FRAMES.cancel, CHAT_FRAMES.toolResult, CHAT_FRAMES.toolApproval]);

interface RequestContext {
  body: Record<string, unknown> | undefined;
  clientTools: ClientToolSchema[] | undefined;
}

export class ChatEngine<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly streams: StreamStore;
  readonly usage: UsageStore;
  readonly resume: ResumeCoordinator;
  readonly queue: TurnQueue;
  readonly #host: EngineHost<M>;
  #live: LiveStream | undefined;
  /** Bumped by a clear: turns started before it store nothing and send nothing more. */
  #generation = 0;
  #gone = false;

  constructor(host: EngineHost<M>) {
    this.#host = host;
    host.execScript(CHAT_SCHEMA);
    this.messages = new MessageStore<M>(host.sql, host.now, () => host.limits().maxConversationBytes);
    this.streams = new StreamStore(host.sql, host.now);
    this.usage = new UsageStore(host.sql, () => host.limits().maxUsageRows);
    this.resume = new ResumeCoordinator({
      streams: this.streams,
      live: () => this.#live,
      turnPending: () => this.queue.busy,
      send: (id, frame) => host.getConnection(id)?.send(frame),
    });
    this.queue = new TurnQueue({ keepAlive: host.keepAlive, report: host.report, maxQueued: () => host.limits().maxQueuedTurns });
  }

  /** Handles one chat frame from a client. */
  async handle(connection: Connection, frame: ChatFrame): Promise<void> {
    if (connection.readonly && WRITES.has(frame.type)) {
      const error = `${frame.type}: Connection is readonly`;
      connection.send(frame.type === CHAT_FRAMES.request ? chatFrames.response({ id: frame.id, body: error, done: true, error: true }) : protocolFrames.error(error));
      return;
    }
    switch (frame.type) {
      case CHAT_FRAMES.request:
        return this.#request(connection, frame);
      case CHAT_FRAMES.messages: {
        // Edits, reorders and drops stored messages; new messages come only with chat requests.
        const refuse = (error: string) => connection.send(protocolFrames.error(`${frame.type}: ${error}`));
        const checked = await validateMessages<M>(frame.messages, this.#host.limits());
        if (!checked.ok) return refuse(checked.error);
        const allowed = this.#checkClient(checked.messages, false);
        if (!allowed.ok) return refuse(allowed.error);
        try {
          this.messages.replaceAll(mergeIncoming(allowed.messages, this.messages.list, false), this.#host.keepLast());
        } catch (error) {
          if (error instanceof ConversationTooLargeError) return refuse(error.message);
          throw error;
        }
        this.#broadcast(chatFrames.messages(this.messages.list), connection.id);
        return;
      }
      case CHAT_FRAMES.clear:
        return this.clear(connection.id);
      case CHAT_FRAMES.cancel:
        this.queue.cancel(frame.id);
        return;
      case CHAT_FRAMES.resumeRequest:
        return this.resume.requested(connection.id, frame.probeId);
      case CHAT_FRAMES.resumeAck:
        return this.resume.acknowledged(connection.id, frame.id);
      case CHAT_FRAMES.toolResult: {
        // Results are taken for the tools the client declared when the call was made, not in this frame.
        const context = this.#context();
        const clientTools = clientToolNames(context.clientTools);
        if (frame.clientTools) this.#saveContext({ ...context, clientTools: frame.clientTools });
        const answer: ToolAnswer = { kind: "result", output: frame.output, failed: frame.failed, errorText: frame.errorText };
        return this.#answer(connection, frame.toolCallId, answer, frame.autoContinue, clientTools);
      }
      case CHAT_FRAMES.toolApproval:
        return this.#answer(connection, frame.toolCallId, { kind: "approval", approved: frame.approved }, frame.autoContinue, new Set());
    }
  }

  /** A chat connection opened: it gets the conversation, and the live stream if one is running. */
  connected(connection: Connection): void {
    if (!connection.record.protocol) return;
    connection.send(chatFrames.messages(this.messages.list, true));
    this.resume.connected(connection.id);
  }

  closed(connectionId: string): void {
    this.resume.forget(connectionId);
  }

  /**
   * Start-up: a stream still marked as running was cut short by a restart. Its model call cannot
   * continue; the message streamed so far is stored (marked `interrupted`, its unfinished server
   * tool calls ended as errors) and the stream stays replayable for clients that reconnect. An
   * approved tool call that no turn ran yet gets its continuation.
   */
  async recover(): Promise<void> {
    const stored = this.streams.current();
    if (stored?.status === "streaming") {
      const base = stored.baseId === undefined ? undefined : this.messages.find(stored.baseId);
      const message = await assembleStored<M>(this.streams.chunks(stored.requestId), base, clientToolNames(this.#context().clientTools));
      if (message && message.parts.length > 0) this.messages.put(markInterrupted(message), stored.anchorId, this.#host.keepLast());
      this.streams.markInterrupted(stored.requestId);
    }
    // An approval applied whose continuation never ran (the queue was full, or the process stopped in between).
    if (awaitsContinuation(this.messages.last()) && !this.queue.busy) this.#continue(undefined);
  }

  /** The agent leaves memory: the running turn stops without touching storage. */
  unload(): void {
    this.#gone = true;
    this.queue.close(new Error("The agent was unloaded"));
  }

  /** Empties the conversation and its streams; aborts the running turn and skips queued ones. */
  clear(exceptId?: string): void {
    // The running turn ends silently once the conversation is gone: its clients are told here.
    const active = this.queue.active;
    if (active && active.kind !== "answer") {
      this.#broadcast(chatFrames.response({ id: active.id, body: "", done: true, continuation: active.kind === "continuation", outcome: "aborted" }));
    }
    this.#generation++;
    this.queue.clear(new Error("The conversation was cleared"));
    this.messages.clear();
    this.streams.clearAll();
    this.#saveContext({ body: undefined, clientTools: undefined });
    this.#live = undefined;
    this.resume.streamEnded();
    this.resume.settled();
    this.#broadcast(chatFrames.clear(), exceptId);
  }

  /** Replaces the stored conversation and tells every client. */
  async persist(messages: M[]): Promise<void> {
    const checked = await validateMessages<M>(messages, this.#host.limits());
    if (!checked.ok) throw new TypeError(`persistMessages: ${checked.error}`);
    this.messages.replaceAll(mergeIncoming(checked.messages, this.messages.list, true), this.#host.keepLast());
    this.#broadcast(chatFrames.messages(this.messages.list));
  }

  /** Stores `messages` and runs a turn on them (queued behind the running one); resolves when it ends. */
  async save(messages: M[]): Promise<ChatResponseResult<M>> {
    await this.persist(messages);
    const context = this.#context();
    const requestId = generateId();
    return new Promise((resolve, reject) => {
      const spec: TurnSpec = { requestId, continuation: false, originId: undefined, messageIds: originMessageIds(this.messages.list), ...context };
      const admission = this.queue.add({
        id: requestId,
        kind: "programmatic",
        run: (signal) => this.#turn(spec, signal).then(resolve, (error: unknown) => reject(error as Error)),
        skip: () => resolve({ requestId, status: "skipped", message: undefined, continuation: false }),
      });
      if (admission !== "accepted") resolve({ requestId, status: "skipped", message: undefined, continuation: false });
    });
  }

  async #request(connection: Connection, frame: Extract<ChatFrame, { type: typeof CHAT_FRAMES.request }>): Promise<void> {
    const { id, request } = frame;
    const fail = (error: string) => connection.send(chatFrames.response({ id, body: `${CHAT_FRAMES.request}: ${error}`, done: true, error: true, outcome: "error" }));
    const limits = this.#host.limits();
    const checked = await validateMessages<M>(request.messages, limits);
    if (!checked.ok) return fail(checked.error);
    if (checked.messages.length === 0) return fail("a chat request needs at least one message");
    const allowed = this.#checkClient(checked.messages, true);
    if (!allowed.ok) return fail(allowed.error);
    const policy = this.#host.concurrency();
    if (policy === "drop" && this.queue.busy) {
      // Refused before anything is stored: the request ends, then the sender gets the stored
      // conversation back (dropping its optimistic message).
      connection.send(chatFrames.response({ id, body: "", done: true, outcome: "skipped" }));
      connection.send(chatFrames.messages(this.messages.list));
      return;
    }
    // Under "latest" the waiting requests make way for this one; other waiting jobs stay.
    const ahead = policy === "latest" ? this.queue.waiting.filter((job) => job.kind !== "request").length : this.queue.waiting.length;
    if (ahead >= limits.maxQueuedTurns) {
      return fail(`${ahead} turns are already waiting; the limit is ${limits.maxQueuedTurns} (maxQueuedTurns)`);
    }
    const incoming = mergeIncoming(allowed.messages, this.messages.list, request.trigger === "regenerate-message");
    try {
      this.messages.replaceAll(incoming, this.#host.keepLast());
    } catch (error) {
      if (error instanceof ConversationTooLargeError) return fail(error.message);
      throw error;
    }
    this.#saveContext({ body: request.body, clientTools: request.clientTools });
    this.#broadcast(chatFrames.messages(this.messages.list), connection.id);
    const spec: TurnSpec = {
      requestId: id,
      continuation: false,
      originId: connection.id,
      messageIds: originMessageIds(incoming),
      body: request.body,
      clientTools: request.clientTools,
    };
    const job: TurnJob = {
      id,
      kind: "request",
      run: async (signal) => void (await this.#turn(spec, signal)),
      skip: (reason) =>
        connection.send(chatFrames.response({ id, body: "", done: true, messageIds: spec.messageIds, outcome: reason === "cancelled" ? "aborted" : "skipped" })),
    };
    const admission = this.queue.add(job, policy);
    if (admission === "dropped") job.skip("dropped");
    if (admission === "full") fail(`too many turns are waiting; the limit is ${limits.maxQueuedTurns} (maxQueuedTurns)`);
  }

  /** A client's messages checked against the stored ones (see `checkClientMessages`). */
  #checkClient(messages: M[], acceptNew: boolean) {
    return checkClientMessages(messages, this.messages.list, {
      acceptSystem: this.#host.acceptSystem(),
      acceptNew,
      liveMessageId: this.#live?.messageId,
      pruned: this.#host.keepLast() !== undefined,
    });
  }

  /** A client's tool result or approval: applied after the running turn, then the turn continues. */
  #answer(connection: Connection, toolCallId: string, answer: ToolAnswer, autoContinue: boolean, clientTools: ReadonlySet<string>): void {
    const what = answer.kind === "result" ? CHAT_FRAMES.toolResult : CHAT_FRAMES.toolApproval;
    const admission = this.queue.add({
      id: `answer:${toolCallId}`,
      kind: "answer",
      run: async () => {
        try {
          this.#apply(connection, what, toolCallId, answer, autoContinue, clientTools);
        } finally {
          if (this.queue.waiting.length === 0 && !this.#gone) this.resume.settled();
        }
      },
      skip: () => {},
    });
    if (admission === "full") connection.send(protocolFrames.error(`${what}: too many turns are waiting (maxQueuedTurns)`));
  }

  #apply(connection: Connection, what: string, toolCallId: string, answer: ToolAnswer, autoContinue: boolean, clientTools: ReadonlySet<string>): void {
    const update = applyToolAnswer(this.messages.list, toolCallId, answer, clientTools);
    if (update.kind === "not-found") return connection.send(protocolFrames.error(`${what}: no tool call ${JSON.stringify(toolCallId)} in this conversation`));
    if (update.kind === "server-tool") {
      return connection.send(protocolFrames.error(`${what}: tool call ${JSON.stringify(toolCallId)} is of "${update.tool}", which is not one of the client's tools; its result comes from the agent`));
    }
    if (update.kind === "wrong-state") {
      return connection.send(protocolFrames.error(`${what}: tool call ${JSON.stringify(toolCallId)} is in state "${update.state}" and takes no ${answer.kind}`));
    }
    if (update.kind === "unchanged") return;
    try {
      this.messages.put(update.message, undefined, this.#host.keepLast());
    } catch (error) {
      if (error instanceof ConversationTooLargeError) return connection.send(protocolFrames.error(`${what}: ${error.message}`));
      throw error;
    }
    this.#broadcast(chatFrames.messageUpdated(update.message));
    // Parallel tool calls: the turn continues once the last of them is answered.
    if (!autoContinue || awaitsClient(this.messages.list.at(-1)) || this.queue.waiting.some((job) => job.kind === "continuation")) return;
    if (this.#continue(connection.id) === "full") {
      connection.send(protocolFrames.error(`${what}: applied, but the turn cannot continue yet: too many turns are waiting (maxQueuedTurns); it continues when the agent next starts`));
    }
  }

  #continue(originId: string | undefined): "accepted" | "dropped" | "full" {
    const requestId = generateId();
    const spec: TurnSpec = { requestId, continuation: true, originId, messageIds: undefined, ...this.#context() };
    return this.queue.add({ id: requestId, kind: "continuation", run: async (signal) => void (await this.#turn(spec, signal)), skip: () => {} });
  }

  async #turn(spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>> {
    const generation = this.#generation;
    const stale = () => this.#gone || this.#generation !== generation;
    const host: TurnHost<M> = {
      messages: this.messages,
      streams: this.streams,
      resume: this.resume,
      limits: () => this.#host.limits(),
      keepLast: () => this.#host.keepLast(),
      reply: (onFinish, options) => this.#host.reply(onFinish, options),
      recordUsage: (requestId, event) => this.#recordUsage(requestId, event),
      broadcast: (frame, except) => {
        if (!stale()) this.#broadcast(frame, except);
      },
      broadcastChunk: (frame) => {
        if (!stale()) this.#broadcast(frame, undefined, this.resume.excluded);
      },
      broadcastTerminal: (frame) => {
        if (!stale()) this.#broadcast(frame, undefined, this.resume.owed);
      },
      setLive: (live) => {
        if (!stale()) this.#live = live;
      },
      report: (error) => this.#host.report(error),
      gone: stale,
    };
    const result = await runTurn(host, spec, signal);
    if (this.queue.waiting.length === 0 && !stale()) this.resume.settled();
    // After the turn has left the queue, so the hook may start the next one (saveMessages).
    if (!stale()) {
      const release = this.#host.keepAlive();
      void Promise.resolve()
        .then(() => this.#host.responded(result))
        .catch((error: unknown) => this.#host.report(error))
        .finally(release);
    }
    return result;
  }

  #recordUsage(requestId: string, event: UsageEvent): void {
    if (this.#gone) return;
    const record = this.usage.record(requestId, event, this.#host.now());
    try {
      const pending = this.#host.usage(record);
      if (pending instanceof Promise) pending.catch((error: unknown) => this.#host.report(error));
    } catch (error) {
      this.#host.report(error);
    }
  }

  #context(): RequestContext {
    const rows = this.#host.sql<{ key: string; value: string }>`SELECT key, value FROM hearth_chat_context`;
    const context: RequestContext = { body: undefined, clientTools: undefined };
    for (const row of rows) {
      if (row.key === "body") context.body = JSON.parse(row.value) as Record<string, unknown>;
      if (row.key === "clientTools") context.clientTools = JSON.parse(row.value) as ClientToolSchema[];
    }
    return context;
  }

  /** The last request's body and client tools: continuations (perhaps hours later) get them again. */
  #saveContext(context: RequestContext): void {
    for (const key of ["body", "clientTools"] as const) {
      const value = context[key];
      if (value === undefined) this.#host.sql`DELETE FROM hearth_chat_context WHERE key = ${key}`;
      else this.#host.sql`INSERT INTO hearth_chat_context (key, value) VALUES (${key}, ${JSON.stringify(value)})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    }
  }

  /** Sends to every chat connection but `exceptId` and `excluded`. */
  #broadcast(frame: string, exceptId?: string, excluded?: ReadonlySet<string>): void {
    for (const connection of this.#host.connections()) {
      const { record } = connection;
      if (!record.protocol || !record.connected || connection.id === exceptId || excluded?.has(connection.id)) continue;
      connection.send(frame);
    }
  }
}

/** Marks a message whose stream a restart cut short (`metadata.interrupted`). */
function markInterrupted<M extends UIMessage>(message: M): M {
  const metadata = message.metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) return message;
  return { ...message, metadata: { ...(metadata as Record<string, unknown> | undefined), interrupted: true } };
}
