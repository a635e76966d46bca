/**
 * `AIChatAgent`: an agent that holds one conversation with AI SDK v7 UI messages, speaking the chat
 * frames of Cloudflare's Agents SDK so `useAgentChat` front ends work unchanged. The machinery is in
 * engine.ts; this class routes the agent's entry points there and holds the public API.
 */
import type { UIMessage, UIMessageChunk } from "ai";
import { AGENT_RUNTIME, REPORT_ERROR } from "../agent/agent-base.ts";
import { Agent, HANDLE } from "../agent/agent.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { frames as protocolFrames } from "../protocol/frames.ts";
import type { SqlValue } from "../storage/sql.ts";
import { ChatEngine } from "./engine.ts";
import { chatFrames, parseChatFrame } from "./frames.ts";
import { resolveChatLimits, type ChatLimits } from "./limits.ts";
import { CHAT_TABLES_EXIST } from "./schema.ts";
import type { ChatConcurrency } from "./turn-queue.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions } from "./types.ts";
import type { ChatUsageRecord, ChatUsageSummary } from "./usage.ts";

/**
 * An agent with a chat: the conversation (AI SDK `UIMessage`s, one row per message in the agent's
 * own SQLite), turns streamed to every connected client and resumable after a reconnect or a
 * restart, client tools, tool approvals that may come hours later (the agent hibernates
 * meanwhile), cancellation, a concurrency policy and token accounting.
 *
 * Override {@link onChatMessage}. Front ends use `useAgentChat` (Cloudflare's `agents/chat/react`)
 * or `hearth/react`; history is also served at `GET /agents/<class>/<name>/get-messages`.
 * @example
 * import { convertToModelMessages, streamText, tool } from "ai";
 * import { AIChatAgent } from "hearth/chat";
 *
 * export class Chat extends AIChatAgent<Env> {
 *   async onChatMessage(onFinish, { abortSignal }) {
 *     return streamText({
 *       model: openai("gpt-5-mini"),
 *       messages: await convertToModelMessages(this.messages),
 *       tools: { deleteFile: tool({ inputSchema, needsApproval: true, execute: remove }) },
 *       abortSignal,
 *       onFinish,
 *     }).toUIMessageStreamResponse();
 *   }
 * }
 */
export class AIChatAgent<Env = unknown, State = unknown, Message extends UIMessage = UIMessage> extends Agent<Env, State> {
  /**
   * What a chat request does while a turn runs: wait its turn ("queue", the default), replace the
   * requests still waiting ("latest"; they end with outcome "skipped"), or be refused ("drop":
   * the sender gets the stored conversation back and a "skipped" outcome).
   */
  messageConcurrency: ChatConcurrency = "queue";
  /** Overrides of the chat limits (`CHAT_LIMITS`), e.g. `{ maxChatMessageBytes: 1 << 20 }`. */
  chatLimits: Partial<ChatLimits> = {};
  /** Keep only the newest this many messages in storage (all by default). Does not limit what the model sees. */
  maxPersistedMessages: number | undefined = undefined;
  /**
   * Accept `role: "system"` messages from clients (off by default: a client could otherwise give
   * the model instructions of its own). Server code adds them with `saveMessages` / `persistMessages`.
   */
  acceptClientSystemMessages = false;
  #engine: ChatEngine<Message> | undefined;
  #limits: { source: Partial<ChatLimits>; resolved: ChatLimits } | undefined;

  /**
   * The conversation, oldest first (a copy of the list; treat the messages as read-only).
   * @example
   * const modelMessages = await convertToModelMessages(this.messages);
   */
  get messages(): Message[] {
    return [...this.#chat.messages.list];
  }

  /**
   * Produces the reply of a turn: return `streamText(…).toUIMessageStreamResponse()` (or any
   * UI-message SSE `Response`, a plain-text `Response`, or a `ReadableStream` of UI message chunks).
   * `this.messages` already holds the request's messages. Pass `onFinish` to `streamText` to record
   * token usage. Return `undefined` for no reply.
   * @example
   * async onChatMessage(onFinish, { abortSignal, body }) {
   *   const result = streamText({ model, system: `Be ${body?.tone ?? "brief"}.`,
   *     messages: await convertToModelMessages(this.messages), abortSignal, onFinish });
   *   return result.toUIMessageStreamResponse();
   * }
   */
  async onChatMessage(_onFinish: ChatFinishCallback, _options: OnChatMessageOptions): Promise<Response | ReadableStream<UIMessageChunk> | undefined> {
    throw new Error(`${this[AGENT_RUNTIME].className} received a chat message: override onChatMessage and return a Response`);
  }

  /**
   * Called after every turn ended and its message was stored (completed, aborted or failed).
   * @example
   * onChatResponse(result) { if (result.status === "error") console.warn(result.error); }
   */
  onChatResponse(_result: ChatResponseResult<Message>): void | Promise<void> {}

  /**
   * Called with each model call's token usage, once stored (see {@link getUsage}). Forward it to
   * your metrics or logs here.
   * @example
   * onUsage(usage) { console.log(`[usage] ${this.name} in=${usage.inputTokens} out=${usage.outputTokens}`); }
   */
  onUsage(_usage: ChatUsageRecord): void | Promise<void> {}

  /**
   * Token totals of this agent since it was created, and the most recent calls (newest first).
   * @example
   * const { inputTokens, outputTokens, recent } = this.getUsage({ limit: 10 });
   */
  getUsage(options: { limit?: number } = {}): ChatUsageSummary {
    const limit = Math.max(0, Math.min(options.limit ?? 100, this.#chatLimits().maxUsageRows));
    return this.#chat.usage.summary(limit);
  }

  /**
   * Stores `messages` as the conversation (a list or a function of the current one) and runs a
   * turn on it, queued behind a running one. Every client sees the messages and the stream.
   * Resolves when the turn ended.
   * @example
   * await this.saveMessages((messages) => [...messages, { id: crypto.randomUUID(), role: "user",
   *   parts: [{ type: "text", text: "Daily summary, please." }] }]);
   */
  async saveMessages(messages: Message[] | ((current: Message[]) => Message[])): Promise<ChatResponseResult<Message>> {
    const next = typeof messages === "function" ? messages(this.messages) : messages;
    return this.#chat.save(next);
  }

  /**
   * Replaces the stored conversation without running a turn, and sends it to every client.
   * @example
   * await this.persistMessages(this.messages.filter((m) => m.role !== "system"));
   */
  async persistMessages(messages: Message[]): Promise<void> {
    await this.#chat.persist(messages);
  }

  /**
   * Cancels the running turn (or the one with `requestId`, also while queued). False when there
   * was none.
   * @example
   * @callable() stop() { return this.cancelChatTurn(); }
   */
  cancelChatTurn(requestId?: string): boolean {
    const id = requestId ?? this.#chat.queue.active?.id;
    return id === undefined ? false : this.#chat.queue.cancel(id);
  }

  /**
   * Empties the conversation (clients get `cf_agent_chat_clear`); aborts the running turn.
   * @example
   * @callable() reset() { this.clearMessages(); }
   */
  clearMessages(): void {
    this.#chat.clear();
  }

  get #chat(): ChatEngine<Message> {
    if (!this.#engine) {
      const runtime = this[AGENT_RUNTIME];
      this.#engine = new ChatEngine<Message>({
        sql: <T>(strings: TemplateStringsArray, ...values: SqlValue[]) => this.sql<T>(strings, ...values),
        execScript: (script) => runtime.db.execScript(script),
        now: () => runtime.clock.now(),
        connections: () => this.getConnections(),
        getConnection: (id) => this.getConnection(id),
        keepAlive: () => runtime.keepAlive(),
        report: (error) => this[REPORT_ERROR](error),
        reply: (onFinish, options) => this.onChatMessage(onFinish, options),
        responded: (result) => this.onChatResponse(result),
        usage: (record) => this.onUsage(record),
        concurrency: () => this.messageConcurrency,
        limits: () => this.#chatLimits(),
        keepLast: () => this.maxPersistedMessages,
        acceptSystem: () => this.acceptClientSystemMessages,
      });
    }
    return this.#engine;
  }

  #chatLimits(): ChatLimits {
    if (this.#limits?.source !== this.chatLimits) this.#limits = { source: this.chatLimits, resolved: resolveChatLimits(this.chatLimits) };
    return this.#limits.resolved;
  }

  /**
   * Start-up: a stream cut short by a restart is settled before anything else runs. An agent whose
   * chat tables do not exist yet (it never chatted) has nothing to settle: one lookup, no engine.
   */
  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    if (this.#engine || this[AGENT_RUNTIME].db.statement(CHAT_TABLES_EXIST).get() !== undefined) await this.#chat.recover();
    await super[HANDLE.start](props);
  }

  /** `GET …/get-messages` answers with the conversation, before `onRequest`. */
  override async [HANDLE.request](request: Request): Promise<Response> {
    if (request.method === "GET" && new URL(request.url).pathname.split("/").pop() === "get-messages") {
      return Response.json(this.#chat.messages.list);
    }
    return super[HANDLE.request](request);
  }

  override async [HANDLE.connect](record: SocketRecord, request: Request): Promise<void> {
    await super[HANDLE.connect](record, request);
    const connection = this.getConnection(record.id);
    if (connection && record.connected) this.#chat.connected(connection);
  }

  /** Chat frames are handled here; everything else goes on to RPC, state and `onMessage`. */
  override async [HANDLE.message](record: SocketRecord, message: string | ArrayBuffer): Promise<void> {
    if (typeof message !== "string") return super[HANDLE.message](record, message);
    const parsed = parseChatFrame(message, this.#chatLimits());
    if (parsed.kind === "other") return super[HANDLE.message](record, message);
    const connection = this.getConnection(record.id);
    if (!connection) return;
    if (parsed.kind === "invalid") {
      connection.send(
        parsed.requestId
          ? chatFrames.response({ id: parsed.requestId, body: parsed.error, done: true, error: true, outcome: "error" })
          : protocolFrames.error(parsed.error),
      );
      return;
    }
    try {
      await this.#chat.handle(connection, parsed.frame);
    } catch (error) {
      // Undo the frame's writes before the error reply leaves (output of a failed event is dropped).
      this[AGENT_RUNTIME].db.rollbackCurrent();
      const text = `${parsed.frame.type} failed: ${error instanceof Error ? error.message : String(error)}`;
      connection.send(
        parsed.frame.type === "cf_agent_use_chat_request"
          ? chatFrames.response({ id: parsed.frame.id, body: text, done: true, error: true, outcome: "error" })
          : protocolFrames.error(text),
      );
      this[REPORT_ERROR](error);
    }
  }

  override async [HANDLE.close](record: SocketRecord, code: number, reason: string, wasClean: boolean): Promise<void> {
    this.#engine?.closed(record.id);
    await super[HANDLE.close](record, code, reason, wasClean);
  }

  /** Dropped in-memory copies after a rollback. */
  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#engine?.messages.invalidate();
  }

  /** Leaving memory: a running turn stops where it is; its stored stream is settled at the next start. */
  override [HANDLE.unload](): void {
    this.#engine?.unload();
    super[HANDLE.unload]();
  }

  override async destroy(): Promise<void> {
    this.#engine?.unload();
    await super.destroy();
  }
}
