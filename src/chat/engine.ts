/**
 * The chat side of one agent: handles each chat frame, owns the stores, the turn queue and the
 * resume handshake, and runs turns through the agent's `onChatMessage`. The agent class only
 * routes its entry points here.
 */
import { emitAgentEvent } from "../events/index.ts";
import { reportModelUsage } from "../agent/signals.ts";
import { generateId, type UIMessage } from "ai";
import type { Connection } from "../agent/connection.ts";
import { messageOf } from "../agent/rpc.ts";
import { frames as protocolFrames } from "../protocol/frames.ts";
import { ContextStore, type RequestContext } from "./context-store.ts";
import { CHAT_FRAMES, chatFrames, type ChatFrame } from "./frames.ts";
import { ConversationTooLargeError, MessageStore } from "./message-store.ts";
import { ProgrammaticTurns } from "./programmatic.ts";
import { CHAT_FIBER_PREFIX, ChatRecovery, type InterruptedFiber } from "./recovery.ts";
import { RecoveryStore } from "./recovery-store.ts";
import type { ChatRecoveryKind } from "./recovery-types.ts";
import { admitRequest } from "./requests.ts";
import { ResumeCoordinator, type LiveStream } from "./resume.ts";
import { sanitizeStoredMessage } from "./sanitize.ts";
import { ensureChatSchema } from "./schema.ts";
import { StreamStore } from "./stream-store.ts";
import { checkClientMessages, mergeIncoming, upsertMessages } from "./merge.ts";
import { awaitsClient, awaitsContinuation, type ToolAnswer } from "./tool-parts.ts";
import { applyClientAnswer, type AnswerHost } from "./client-answer.ts";
import { assembleStored, clientToolNames, runTurn, type TurnHost, type TurnSpec } from "./turn-runner.ts";
import { queueSlot, TurnQueue, type SkipReason } from "./turn-queue.ts";
import { emitTranscriptRepaired, markInterrupted } from "./transcript-repair.ts";
import { emitRecoveryEvent, emitRequestFailed, emitTurnStart, recoveryOutcome, type RecoveryEventFields, type RecoveryEventType } from "./turn-events.ts";
import type { ChatResponseResult } from "./types.ts";
import { UsageStore, type UsageEvent } from "./usage.ts";
import { validateMessages } from "./validate.ts";

import type { EngineHost } from "./engine-host.ts";
export type { EngineHost } from "./engine-host.ts";

export class ChatEngine<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly streams: StreamStore;
  readonly usage: UsageStore;
  readonly resume: ResumeCoordinator;
  readonly queue: TurnQueue;
  readonly programmatic: ProgrammaticTurns<M>;
  readonly #store: RecoveryStore;
  readonly #contexts: ContextStore;
  readonly #recovery: ChatRecovery<M>;
  readonly #host: EngineHost<M>;
  #live: LiveStream | undefined;
  /** Bumped by a clear: turns started before it store nothing and send nothing more. */
  #generation = 0;
  #gone = false;
  /** Resolved once the agent has started (onStart ran): recovery continuations wait for it. */
  readonly #started = Promise.withResolvers<void>();

  constructor(host: EngineHost<M>) {
    this.#host = host;
    ensureChatSchema(host.sql, (script) => host.execScript(script));
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
    this.#store = new RecoveryStore(host.sql, host.now);
    this.#contexts = new ContextStore(host.sql);
    this.programmatic = new ProgrammaticTurns<M>({
      messages: this.messages,
      queue: this.queue,
      generation: () => this.#generation,
      context: () => this.#context(),
      saveContext: (context) => this.#saveContext(context),
      persist: (messages) => this.persist(messages),
      turn: (spec, signal) => this.#turn(spec, signal),
    });
    this.#recovery = new ChatRecovery<M>({
      messages: this.messages,
      streams: this.streams,
      store: this.#store,
      config: () => host.recovery(),
      now: host.now,
      context: () => this.#context(),
      keepLast: host.keepLast,
      sanitize: (message) => this.#sanitize(message),
      hook: (ctx) => host.recovered(ctx),
      responded: (result) => this.#responded(result),
      report: host.report,
      broadcast: (frame) => this.#broadcast(frame),
      schedule: (spec, kind, attempt) => this.#scheduleRecovery(spec, kind, attempt),
      event: (type, fields, reason) => emitRecoveryEvent(host.agent, type, fields, reason),
      repaired: (requestId, toolCallIds) => emitTranscriptRepaired(host.agent, requestId, toolCallIds),
      settleInterrupted: (requestId) => this.#settleInterrupted(requestId),
    });
  }

  /**
   * Handles one chat frame from a client. A read-only connection chats like any other, as in the
   * Agents SDK, whose read-only flag restricts `setState` only.
   */
  async handle(connection: Connection, frame: ChatFrame): Promise<void> {
    switch (frame.type) {
      case CHAT_FRAMES.request:
        return admitRequest<M>(
          {
            messages: this.messages,
            queue: this.queue,
            limits: () => this.#host.limits(),
            keepLast: () => this.#host.keepLast(),
            concurrency: () => this.#host.concurrency(),
            checkClient: (messages, acceptNew) => this.#checkClient(messages, acceptNew),
            sanitizeNew: (messages) => this.#sanitizeNew(messages),
            saveContext: (context) => this.#saveContext(context),
            broadcast: (frame, exceptId) => this.#broadcast(frame, exceptId),
            turn: (spec, signal) => this.#turn(spec, signal),
            failed: (requestId, stage, error) => emitRequestFailed(this.#host.agent, requestId, stage, error),
          },
          connection,
          frame,
        );
      case CHAT_FRAMES.messages: {
        // Edits, reorders and drops stored messages; new messages come only with chat requests.
        const refuse = (error: string) => connection.send(protocolFrames.error(`${frame.type}: ${error}`));
        const checked = await validateMessages<M>(frame.messages, this.#host.limits());
        if (!checked.ok) return refuse(checked.error);
        const allowed = this.#checkClient(checked.messages, false);
        if (!allowed.ok) return refuse(allowed.error);
        try {
          this.messages.replaceAll(this.#sanitizeNew(mergeIncoming(allowed.messages, this.messages.list, false)), this.#host.keepLast());
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
        // The client's tools are those it declared when the call was made, not in this frame.
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
    const recovering = this.#recovery.announcement();
    if (recovering) connection.send(recovering);
    this.resume.connected(connection.id);
  }

  closed(connectionId: string): void {
    this.resume.forget(connectionId);
  }

  /**
   * Start-up, before the fibers are recovered and before onStart. A stream still marked as running
   * was cut short by a restart. With recovery on, a turn that ran in a fiber is left to
   * {@link recoverFiber}. Otherwise its model call cannot continue; the message streamed so far is
   * stored (marked `interrupted`, its unfinished server tool calls ended as errors) and the stream
   * stays replayable for clients that reconnect. A tool answer whose continuation never started, and
   * an approved tool call that no turn ran yet, get their continuation.
   */
  async startup(): Promise<void> {
    const recovering = this.#host.recovery() !== undefined && this.#store.hasTurns();
    const stored = this.streams.current();
    if (stored?.status === "streaming" && !(recovering && this.#store.turn(stored.requestId))) await this.#settleInterrupted(stored.requestId);
    if (this.queue.busy) return;
    // An answer applied whose continuation never started (the queue was full, or the process stopped in between).
    const last = this.messages.last();
    const marked = this.#contexts.continuationDue;
    if ((marked && last?.role === "assistant" && !awaitsClient(last)) || (!recovering && awaitsContinuation(last))) this.#continue(undefined);
    else if (marked) this.#contexts.continuationDue = false;
  }

  /** The agent has started: recovery continuations scheduled during start-up may run (after onStart). */
  started(): void {
    this.#started.resolve();
  }

  /** A fiber of the last process that ran a chat turn: recovered here (true), or not one of ours (false). */
  recoverFiber(fiber: InterruptedFiber): Promise<boolean> {
    return this.#recovery.recover(fiber);
  }

  async #settleInterrupted(requestId: string): Promise<void> {
    const stored = this.streams.current();
    if (stored?.requestId !== requestId || stored.status !== "streaming") return;
    const base = stored.baseId === undefined ? undefined : this.messages.find(stored.baseId);
    let repaired: string[] = [];
    const message = await assembleStored<M>(this.streams.chunks(stored.requestId), base, clientToolNames(this.#context().clientTools), true, (ids) => (repaired = ids));
    if (message && message.parts.length > 0) {
      this.messages.put(this.#sanitize(markInterrupted(message)), stored.anchorId, this.#host.keepLast());
      emitTranscriptRepaired(this.#host.agent, requestId, repaired);
    }
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
    this.#store.clearAll();
    this.#saveContext({ body: undefined, clientTools: undefined });
    this.#contexts.continuationDue = false;
    this.#live = undefined;
    this.resume.streamEnded();
    this.resume.settled();
    this.#broadcast(chatFrames.clear(), exceptId);
  }

  /**
   * Stores `messages` into the conversation (each replaces the stored one of its id, new ones are
   * appended; `exact`: they become the whole conversation) and tells every client but `excluded`.
   */
  async persist(messages: M[], options: { exact?: boolean; excluded?: ReadonlySet<string> } = {}): Promise<void> {
    const checked = await validateMessages<M>(messages, this.#host.limits());
    if (!checked.ok) throw new TypeError(`persistMessages: ${checked.error}`);
    this.messages.replaceAll(this.#sanitizeNew(upsertMessages(checked.messages, this.messages.list, options.exact === true)), this.#host.keepLast());
    this.#broadcast(chatFrames.messages(this.messages.list), undefined, options.excluded);
  }

  /**
   * Aborts the running turn (what it streamed is kept) and skips every waiting one; recoveries
   * under way end (`resetTurnState()`).
   */
  reset(): void {
    this.queue.clear(new Error("The turn state was reset"));
    this.#contexts.continuationDue = false;
    const incident = this.#store.current();
    if (incident && this.#store.close(incident.rootRequestId)) this.#broadcast(chatFrames.recovering(false, incident.requestId));
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
          const applied = applyClientAnswer(this.#answers(), connection, what, toolCallId, answer, clientTools);
          // Parallel tool calls: the turn continues once the last of them is answered.
          if (!applied || !autoContinue || awaitsClient(this.messages.list.at(-1)) || this.queue.waiting.some((job) => job.kind === "continuation")) return;
          if (this.#continue(connection.id) === "full") {
            connection.send(protocolFrames.error(`${what}: applied, but the turn cannot continue yet: too many turns are waiting (maxQueuedTurns); it continues when the agent next starts`));
          }
        } finally {
          if (this.queue.waiting.length === 0 && !this.#gone) this.resume.settled();
        }
      },
      skip: () => {},
    });
    if (admission === "full") connection.send(protocolFrames.error(`${what}: too many turns are waiting (maxQueuedTurns)`));
  }

  #answers(): AnswerHost<M> {
    return { messages: this.messages, keepLast: () => this.#host.keepLast(), broadcast: (frame) => this.#broadcast(frame) };
  }

  /** Queues the continuation after a tool answer: due in storage until it starts, so a process that stops first runs it at its next start, once. */
  #continue(originId: string | undefined): "accepted" | "dropped" | "full" {
    const requestId = generateId();
    const spec: TurnSpec = { requestId, continuation: true, originId, messageIds: undefined, ...this.#context(), trigger: "auto-continuation" };
    this.#contexts.continuationDue = true;
    const run = async (signal: AbortSignal) => void (await this.#turn(spec, signal));
    const skip = (reason: SkipReason) => {
      if (reason !== "dropped") this.#contexts.continuationDue = false; // dropped: the agent is leaving memory; its next start runs it
    };
    return this.queue.add({ id: requestId, kind: "continuation", run, skip });
  }

  /**
   * Runs a turn; with recovery on, inside a fiber whose record (with the turn's row) is committed
   * before the turn starts, so a crash or restart mid-turn hands it to {@link recoverFiber}.
   */
  async #turn(spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>> {
    if (this.#host.recovery() === undefined) return this.#execute(spec, signal);
    this.#store.begin({ requestId: spec.requestId, continuation: spec.continuation, messageIds: spec.messageIds, rootRequestId: spec.rootRequestId ?? spec.requestId });
    let started = false;
    try {
      return await this.#host.runFiber(CHAT_FIBER_PREFIX + spec.requestId, () => {
        started = true;
        return this.#execute(spec, signal);
      });
    } catch (error) {
      if (started) throw error;
      // The fiber could not start (the agent is leaving memory, or too many fibers run): the turn
      // runs without one, unless the agent is gone.
      if (this.#gone) return { requestId: spec.requestId, status: "aborted", message: undefined, continuation: spec.continuation };
      this.#store.end(spec.requestId);
      this.#host.report(new Error(`Chat turn ${spec.requestId} runs without recovery: ${messageOf(error)}`, { cause: error }));
      return this.#execute(spec, signal);
    }
  }

  /**
   * The turn that continues (or retries) one recovery found cut short. Its fiber is recorded now, in
   * the recovery's own commit, so a restart before it runs loses nothing; it then waits its turn.
   */
  #scheduleRecovery(spec: TurnSpec, kind: ChatRecoveryKind, attempt: RecoveryEventFields): void {
    this.#store.begin({ requestId: spec.requestId, continuation: spec.continuation, messageIds: spec.messageIds, rootRequestId: spec.rootRequestId ?? spec.requestId });
    const event = (type: RecoveryEventType, reason?: string) => emitRecoveryEvent(this.#host.agent, type, attempt, reason);
    event("chat:recovery:scheduled");
    const fiber = this.#host.runFiber(CHAT_FIBER_PREFIX + spec.requestId, async () => {
      // After onStart (recovery runs before it), then in the queue; the turn runs here, in the
      // fiber's own context (`this.stash()` finds it).
      await this.#started.promise;
      if (this.#gone) return;
      const slot = await queueSlot(this.queue, spec.requestId);
      if (!slot) return event("chat:recovery:skipped", "not_admitted");
      try {
        const last = this.messages.list.at(-1)?.role;
        if (last === (kind === "continue" ? "assistant" : "user")) {
          const result = await this.#execute(spec, slot.signal);
          // A turn cut short by the process leaving is the next attempt's to report.
          if (!this.#gone) recoveryOutcome(result, event);
        } else if (!this.#gone) {
          this.#ended(spec);
          event("chat:recovery:skipped", "conversation_changed");
        }
      } finally {
        slot.done();
      }
    });
    fiber.catch(() => {}); // reported by the fiber layer (onError)
  }

  async #execute(spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>> {
    // In the commit that starts it: with no continuation queued, any turn answers the stored
    // conversation, a tool result left waiting too (the queue was full); left due, the flag would
    // start a turn nobody asked for at the next start. A queued one stays due until it starts.
    if (!this.queue.waiting.some((job) => job.kind === "continuation")) this.#contexts.continuationDue = false;
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
      sanitize: (message) => this.#sanitize(message),
      stalled: (timeoutMs) => emitAgentEvent(this.#host.agent, "chat:stream:stalled", () => ({ requestId: spec.requestId, timeoutMs })),
      failed: (stage, error) => emitRequestFailed(this.#host.agent, spec.requestId, stage, error),
      repaired: (toolCallIds) => {
        if (!stale()) emitTranscriptRepaired(this.#host.agent, spec.requestId, toolCallIds);
      },
    };
    const finished = emitTurnStart(this.#host.agent, spec, generation);
    const result = await this.#host.scoped(spec.originId, () => runTurn(host, spec, signal));
    finished(result);
    if (this.#gone) return result; // cut short by the agent leaving memory: recovered at its next start
    if (this.#generation === generation) this.#ended(spec);
    if (this.queue.waiting.length === 0 && !stale()) this.resume.settled();
    if (!stale()) this.#responded(result);
    return result;
  }

  /** A turn ended here: nothing of it is left to recover, and the recovery it was part of is over. */
  #ended(spec: TurnSpec): void {
    if (this.#host.recovery() === undefined && spec.rootRequestId === undefined) return;
    this.#store.end(spec.requestId);
    if (this.#store.close(spec.rootRequestId ?? spec.requestId)) this.#broadcast(chatFrames.recovering(false, spec.requestId));
  }

  /** onChatResponse, after the turn has left the queue, so the hook may start the next one (saveMessages). */
  #responded(result: ChatResponseResult<M>): void {
    const release = this.#host.keepAlive();
    void Promise.resolve()
      .then(() => this.#host.responded(result))
      .catch((error: unknown) => this.#host.report(error))
      .finally(release);
  }

  /** The built-in cleaning, then the class's `sanitizeMessageForPersistence`. */
  #sanitize(message: M): M {
    return this.#host.sanitize(sanitizeStoredMessage(message));
  }

  /** Cleans the messages of a list that are not stored as they are (the stored ones are clean already). */
  #sanitizeNew(messages: readonly M[]): M[] {
    const stored = new Set<M>(this.messages.list);
    return messages.map((message) => (stored.has(message) ? message : this.#sanitize(message)));
  }

  #recordUsage(requestId: string, event: UsageEvent): void {
    if (this.#gone) return;
    const record = this.usage.record(requestId, event, this.#host.now());
    reportModelUsage(record.model ?? undefined, record.inputTokens ?? 0, record.outputTokens ?? 0);
    try {
      const pending = this.#host.usage(record);
      if (pending instanceof Promise) pending.catch((error: unknown) => this.#host.report(error));
    } catch (error) {
      this.#host.report(error);
    }
  }

  #context(): RequestContext {
    return this.#contexts.get();
  }

  /** The last request's body and client tools: continuations (perhaps hours later) get them again. */
  #saveContext(context: RequestContext): void {
    this.#contexts.save(context);
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
