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
import { MessageStore } from "./message-store.ts";
import { ResumeCoordinator, type LiveStream } from "./resume.ts";
import { StreamStore } from "./stream-store.ts";
import { mergeIncoming } from "./merge.ts";
import { applyToolAnswer, awaitsClient, originMessageIds, type ToolAnswer } from "./tool-parts.ts";
import { assembleStored, runTurn, type TurnHost, type TurnSpec } from "./turn-runner.ts";
import { TurnQueue, type ChatConcurrency, type TurnJob } from "./turn-queue.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions } from "./types.ts";
import type { ChatReply } from "./ui-stream.ts";
import { UsageStore, type ChatUsageRecord, type UsageEvent } from "./usage.ts";
import { validateMessages } from "./validate.ts";

/** What the engine needs from its agent. */
export interface EngineHost<M extends UIMessage> {
  readonly sql: SqlTag;
  now(): number;
  connections(): Iterable<Connection>;
  keepAlive(): () => void;
  report(error: unknown): void;
  reply(onFinish: ChatFinishCallback, options: OnChatMessageOptions): Promise<ChatReply | undefined>;
  responded(result: ChatResponseResult<M>): void | Promise<void>;
  usage(record: ChatUsageRecord): void | Promise<void>;
  concurrency(): ChatConcurrency;
  limits(): ChatLimits;
  keepLast(): number | undefined;
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
    this.messages = new MessageStore<M>(host.sql, host.now);
    this.streams = new StreamStore(host.sql, host.now);
    this.usage = new UsageStore(host.sql, () => host.limits().maxUsageRows);
    host.sql`CREATE TABLE IF NOT EXISTS hearth_chat_context (key TEXT PRIMARY KEY, value TEXT NOT NULL)`;
    this.resume = new ResumeCoordinator({
      streams: this.streams,
      live: () => this.#live,
      turnPending: () => this.queue.busy,
      send: (id, frame) => this.#connection(id)?.send(frame),
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
        const checked = await validateMessages<M>(frame.messages, this.#host.limits());
        if (!checked.ok) return connection.send(protocolFrames.error(`${frame.type}: ${checked.error}`));
        this.messages.replaceAll(mergeIncoming(checked.messages, this.messages.list, false), this.#host.keepLast());
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
      case CHAT_FRAMES.toolResult:
        if (frame.clientTools) this.#saveContext({ ...this.#context(), clientTools: frame.clientTools });
        return this.#answer(connection, frame.toolCallId, { kind: "result", output: frame.output, failed: frame.failed, errorText: frame.errorText }, frame.autoContinue);
      case CHAT_FRAMES.toolApproval:
        return this.#answer(connection, frame.toolCallId, { kind: "approval", approved: frame.approved }, frame.autoContinue);
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
   * continue; the message streamed so far is stored (marked `interrupted`) and the stream stays
   * replayable for clients that reconnect.
   */
  async recover(): Promise<void> {
    const stored = this.streams.current();
    if (stored?.status !== "streaming") return;
    const base = stored.baseId === undefined ? undefined : this.messages.find(stored.baseId);
    const message = await assembleStored<M>(this.streams.chunks(stored.requestId), base);
    if (message && message.parts.length > 0) this.messages.put(markInterrupted(message), stored.anchorId, this.#host.keepLast());
    this.streams.markInterrupted(stored.requestId);
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
    const policy = this.#host.concurrency();
    if (policy === "drop" && this.queue.busy) {
      // Refused before anything is stored: the sender drops its optimistic message.
      connection.send(chatFrames.messages(this.messages.list));
      connection.send(chatFrames.response({ id, body: "", done: true, outcome: "skipped" }));
      return;
    }
    if (policy === "queue" && this.queue.waiting.length >= limits.maxQueuedTurns) {
      return fail(`${this.queue.waiting.length} turns are already waiting; the limit is ${limits.maxQueuedTurns} (maxQueuedTurns)`);
    }
    const incoming = mergeIncoming(checked.messages, this.messages.list, request.trigger === "regenerate-message");
    this.messages.replaceAll(incoming, this.#host.keepLast());
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

  /** A client's tool result or approval: applied after the running turn, then the turn continues. */
  #answer(connection: Connection, toolCallId: string, answer: ToolAnswer, autoContinue: boolean): void {
    const what = answer.kind === "result" ? CHAT_FRAMES.toolResult : CHAT_FRAMES.toolApproval;
    const admission = this.queue.add({
      id: `answer:${toolCallId}`,
      kind: "answer",
      run: async () => {
        try {
          this.#apply(connection, what, toolCallId, answer, autoContinue);
        } finally {
          if (this.queue.waiting.length === 0 && !this.#gone) this.resume.settled();
        }
      },
      skip: () => {},
    });
    if (admission === "full") connection.send(protocolFrames.error(`${what}: too many turns are waiting (maxQueuedTurns)`));
  }

  #apply(connection: Connection, what: string, toolCallId: string, answer: ToolAnswer, autoContinue: boolean): void {
    const update = applyToolAnswer(this.messages.list, toolCallId, answer);
    if (update.kind === "not-found") return connection.send(protocolFrames.error(`${what}: no tool call ${JSON.stringify(toolCallId)} in this conversation`));
    if (update.kind === "wrong-state") {
      return connection.send(protocolFrames.error(`${what}: tool call ${JSON.stringify(toolCallId)} is in state "${update.state}" and takes no ${answer.kind}`));
    }
    if (update.kind === "unchanged") return;
    this.messages.put(update.message, undefined, this.#host.keepLast());
    this.#broadcast(chatFrames.messageUpdated(update.message));
    // Parallel tool calls: the turn continues once the last of them is answered.
    if (!autoContinue || awaitsClient(this.messages.list.at(-1)) || this.queue.waiting.some((job) => job.kind === "continuation")) return;
    this.#continue(connection.id);
  }

  #continue(originId: string): void {
    const requestId = generateId();
    const spec: TurnSpec = { requestId, continuation: true, originId, messageIds: undefined, ...this.#context() };
    this.queue.add({ id: requestId, kind: "continuation", run: async (signal) => void (await this.#turn(spec, signal)), skip: () => {} });
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

  #broadcast(frame: string, exceptId?: string): void {
    const excluded = this.resume.excluded;
    for (const connection of this.#host.connections()) {
      const { record } = connection;
      if (!record.protocol || !record.connected || connection.id === exceptId || excluded.has(connection.id)) continue;
      connection.send(frame);
    }
  }

  #connection(id: string): Connection | undefined {
    for (const connection of this.#host.connections()) if (connection.id === id) return connection;
    return undefined;
  }
}

/** Marks a message whose stream a restart cut short (`metadata.interrupted`). */
function markInterrupted<M extends UIMessage>(message: M): M {
  const metadata = message.metadata;
  if (metadata !== undefined && (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))) return message;
  return { ...message, metadata: { ...(metadata as Record<string, unknown> | undefined), interrupted: true } };
}
