/**
 * `AIChatAgent`: an agent that holds one conversation with AI SDK v7 UI messages, speaking the chat
 * frames of Cloudflare's Agents SDK so `useAgentChat` front ends work unchanged. The machinery is in
 * engine.ts; this class routes the agent's entry points there and holds the public API.
 */
import type { UIMessage, UIMessageChunk } from "ai";
import { AGENT_RUNTIME, REPORT_ERROR } from "../agent/agent-base.ts";
import { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { currentScope, runInAgentScope } from "../agent/context.ts";
import { traceInvokeAgent } from "../observability/traces/hooks.ts";
import { instrumentActorEvent } from "../agent/instrumentation.ts";
import { RUN_FEATURE_FIBER } from "../fiber/feature-recovery.ts";
import { RECOVER_OWN_FIBER } from "../fiber/fiber-agent.ts";
import type { FiberRecoveryContext } from "../fiber/types.ts";
import { emitAgentEvent, emitChatFrame, emitChatResult } from "../events/index.ts";
import { frames as protocolFrames } from "../protocol/frames.ts";
import type { SqlValue } from "../storage/sql.ts";
import { AGENT_TOOL_TURN, AgentToolHost } from "./agent-tool-host.ts";
import { ChatEngine } from "./engine.ts";
import { chatFrames, parseChatFrame } from "./frames.ts";
import { resolveChatLimits, type ChatLimits } from "./limits.ts";
import { CHAT_FIBER_PREFIX } from "./recovery.ts";
import { resolveChatRecovery } from "./recovery-config.ts";
import type { ChatRecoveryConfig, ChatRecoveryContext, ChatRecoveryOptions, ResolvedChatRecoveryConfig } from "./recovery-types.ts";
import { CHAT_STREAMS_TABLE } from "./schema.ts";
import type { MessageConcurrency } from "./submit-policy.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions, SaveMessagesOptions, SaveMessagesResult } from "./types.ts";
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
export class AIChatAgent<Env = unknown, State = unknown, Message extends UIMessage = UIMessage> extends AgentToolHost<Env, State, Message> {
  /**
   * What a new message does while a turn runs or waits: wait its turn ("queue", the default),
   * replace the requests still waiting ("latest"; they end with outcome "skipped", their messages
   * stay unanswered), do that and merge their messages with its own ("merge"), wait for a quiet
   * period first (`{ strategy: "debounce", debounceMs }`, default 750 ms), or be refused ("drop":
   * the sender gets the stored conversation back and a "skipped" outcome). Regenerations, tool
   * continuations and `saveMessages` always queue.
   */
  messageConcurrency: MessageConcurrency = "queue";
  /**
   * Recovery of a turn a restart or a crash cut short: every turn runs in a fiber, and the next
   * start hands it to {@link onChatRecovery} (default: keep the partial answer and continue it).
   * `true`, or budgets: `{ maxAttempts, noProgressTimeoutMs, maxRecoveryWork, terminalMessage,
   * shouldKeepRecovering, onExhausted }`. Off by default: the partial answer is then replayed and
   * ended as interrupted. Set it as a class field (recovery runs before `onStart`).
   */
  chatRecovery: ChatRecoveryConfig = false;
  /**
   * Before each `onChatMessage`, wait for the MCP servers this agent mounted to finish connecting,
   * so `this.mcp.getAITools()` is complete: at most `timeout` ms (default `{ timeout: 10_000 }`),
   * `true` without limit, `false` not at all.
   */
  waitForMcpConnections: boolean | { timeout: number } = { timeout: 10_000 };
  /** Overrides of the chat limits (`CHAT_LIMITS`), e.g. `{ maxChatMessageBytes: 1 << 20 }`. */
  chatLimits: Partial<ChatLimits> = {};
  /**
   * Keep only the newest this many messages in storage (all by default). `this.messages` is the
   * stored conversation, so `onChatMessage` gets these only, as with Cloudflare's AIChatAgent. The
   * older messages a client still holds and sends back are not stored again.
   */
  maxPersistedMessages: number | undefined = undefined;
  /**
   * Accept `role: "system"` messages from clients (off by default: a client could otherwise give
   * the model instructions of its own). Server code adds them with `saveMessages` / `persistMessages`.
   */
  acceptClientSystemMessages = false;
  #engine: ChatEngine<Message> | undefined;
  #limits: { source: Partial<ChatLimits>; resolved: ChatLimits } | undefined;
  #recovery: { source: ChatRecoveryConfig; resolved: ResolvedChatRecoveryConfig | undefined } | undefined;
  /** Start-up (onStart included) is over. */
  #up = false;
  /** What {@link messages} gives: the stored list it was copied from (or set over), and the array. */
  #view: { stored: readonly Message[]; messages: Message[] } | undefined;

  /**
   * The conversation, oldest first, as the Agents SDK's `messages` field: one array until the stored
   * conversation changes, which code may change or replace in memory; `persistMessages` stores it.
   * @example
   * const modelMessages = await convertToModelMessages(this.messages);
   * this.messages.push(note);
   * await this.persistMessages(this.messages);
   */
  get messages(): Message[] {
    const stored = this.#chat.messages.list;
    if (this.#view?.stored !== stored) this.#view = { stored, messages: [...stored] };
    return this.#view.messages;
  }

  set messages(messages: Message[]) {
    if (!Array.isArray(messages)) throw new TypeError("messages must be an array of UI messages");
    this.#view = { stored: this.#chat.messages.list, messages };
  }

  /** @internal The headless turn of an agent-tool run: `saveMessages` with the run's input, its chunks observed. */
  protected [AGENT_TOOL_TURN](message: () => Message, signal: AbortSignal, observe: (body: string) => void): Promise<SaveMessagesResult> {
    return this.#chat.programmatic.save((current) => [...current, message()], { signal }, observe);
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
   * Runs a turn from the server, queued behind the running one: `messages` (a list) is stored now
   * as the conversation; a function gets the conversation when the turn starts and returns the new
   * one. Every client sees the messages and the stream. Resolves when the turn ended, with
   * `{ requestId, status, error? }`; `options.signal` cancels it (status "aborted").
   * @example
   * await this.saveMessages((messages) => [...messages, { id: crypto.randomUUID(), role: "user",
   *   parts: [{ type: "text", text: "Daily summary, please." }] }]);
   */
  async saveMessages(messages: Message[] | ((current: Message[]) => Message[]), options?: SaveMessagesOptions): Promise<SaveMessagesResult> {
    return this.#chat.programmatic.save(messages, options);
  }

  /**
   * Continues the last assistant message: `onChatMessage` runs again (`continuation: true`) with the
   * last request's body (merged with `body`) and its stream is appended to that message. Skipped
   * (`requestId: ""`) when the conversation does not end with an assistant message.
   * @example
   * await this.continueLastTurn({ hint: "finish the list" }, { signal: AbortSignal.timeout(60_000) });
   */
  protected async continueLastTurn(body?: Record<string, unknown>, options?: SaveMessagesOptions): Promise<SaveMessagesResult> {
    return this.#chat.programmatic.continueLast(body, options);
  }

  /**
   * Called at start-up for a turn a restart or a crash cut short (with `chatRecovery` on), before
   * `onStart`. Return `{}` to store its partial answer and continue it, `{ continue: false }` to
   * store it only, `{ persist: false, continue: false }` to handle it yourself (`ctx.recoveryData` is
   * the turn's last `this.stash()`).
   * @example
   * async onChatRecovery(ctx: ChatRecoveryContext) {
   *   return Date.now() - ctx.createdAt > 120_000 ? { continue: false } : {};
   * }
   */
  protected onChatRecovery(_ctx: ChatRecoveryContext): Promise<ChatRecoveryOptions> | ChatRecoveryOptions {
    return {};
  }

  /**
   * Resolves true once no turn runs or waits and no tool call waits for a result or an approval;
   * false when `timeout` ms pass first. Call it before acting on `this.messages` from a schedule or
   * a webhook, always with a timeout (an approval may never come).
   * @example
   * if (await this.waitUntilStable({ timeout: 30_000 })) await this.saveMessages((m) => [...m, note]);
   */
  protected async waitUntilStable(options?: { timeout?: number }): Promise<boolean> {
    return this.#chat.programmatic.waitUntilStable(options?.timeout);
  }

  /**
   * Aborts the running turn (what it streamed is kept), skips the waiting ones (tool answers
   * included) and ends a recovery under way. For code that switches context or clears in its own way.
   * @example
   * switchWorkflow(id: string) { this.resetTurnState(); this.workflowId = id; }
   */
  protected resetTurnState(): void {
    this.#chat.reset();
  }

  /**
   * True when an assistant message has a tool call waiting for a result or an approval.
   * @example
   * if (this.hasPendingInteraction()) connection.send(JSON.stringify({ type: "status", waiting: true }));
   */
  protected hasPendingInteraction(): boolean {
    return this.#chat.programmatic.hasPendingInteraction();
  }

  /**
   * Transforms a message before it is stored, after the built-in cleaning (OpenAI's `itemId` and
   * `reasoningEncryptedContent` stripped from provider metadata, long strings in provider-executed
   * tool payloads truncated, empty reasoning parts dropped). Default: unchanged.
   * @example
   * protected sanitizeMessageForPersistence(message: UIMessage) {
   *   return { ...message, parts: message.parts.filter((part) => part.type !== "data-debug") };
   * }
   */
  protected sanitizeMessageForPersistence(message: Message): Message {
    return message;
  }

  /**
   * Stores messages without running a turn, as the Agents SDK does: each replaces the stored message
   * of its id where it is, new ones are appended, nothing else is dropped; then the conversation goes
   * to every client (but the connections in `excludeBroadcastIds`). With `_deleteStaleRows` the list
   * becomes the whole conversation (what is not in it is deleted).
   * @example
   * await this.persistMessages([...this.messages, note]);
   * await this.persistMessages(this.messages.filter((m) => m.role !== "system"), [], { _deleteStaleRows: true });
   */
  async persistMessages(messages: Message[], excludeBroadcastIds: string[] = [], options: { _deleteStaleRows?: boolean } = {}): Promise<void> {
    await this.#chat.persist(messages, { exact: options._deleteStaleRows === true, excluded: new Set(excludeBroadcastIds) });
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
        agent: this,
        sql: <T>(strings: TemplateStringsArray, ...values: SqlValue[]) => this.sql<T>(strings, ...values),
        execScript: (script) => runtime.db.execScript(script),
        now: () => runtime.clock.now(),
        connections: () => this.getConnections(),
        getConnection: (id) => this.getConnection(id),
        keepAlive: () => runtime.keepAlive(),
        report: (error) => this[REPORT_ERROR](error),
        reply: async (onFinish, options) => {
          await this.#waitForMcp();
          emitAgentEvent(this, "message:request");
          return this.onChatMessage(onFinish, options);
        },
        responded: (result) => {
          emitChatResult(this, result);
          return this.onChatResponse(result);
        },
        usage: (record) => this.onUsage(record),
        concurrency: () => this.messageConcurrency,
        limits: () => this.#chatLimits(),
        keepLast: () => this.maxPersistedMessages,
        acceptSystem: () => this.acceptClientSystemMessages,
        recovery: () => this.#chatRecovery(),
        runFiber: (name, fn) => this[RUN_FEATURE_FIBER](name, () => fn()),
        recovered: (ctx) => this.onChatRecovery(ctx),
        sanitize: (message) => this.sanitizeMessageForPersistence(message),
        scoped: (connectionId, fn) => {
          // A turn runs in its agent's scope (tools call getCurrentAgent(), agentTool needs it),
          // with the connection that asked for it; one already in that scope keeps it (and its caller).
          const scope = currentScope();
          const connection = connectionId === undefined ? undefined : this.getConnection(connectionId);
          const turn = () => traceInvokeAgent(runtime.className, this.name, this.name, fn); // the conversation is the instance
          if (scope?.agent === this && (connection === undefined || scope.connection?.id === connection.id)) return turn();
          return runInAgentScope({ agent: this, runtime, className: runtime.className, name: this.name, ...(connection ? { connection } : {}) }, turn);
        },
      });
      if (this.#up) this.#engine.started();
    }
    return this.#engine;
  }

  #chatRecovery(): ResolvedChatRecoveryConfig | undefined {
    if (this.#recovery === undefined || this.#recovery.source !== this.chatRecovery) {
      this.#recovery = { source: this.chatRecovery, resolved: resolveChatRecovery(this.chatRecovery) };
    }
    return this.#recovery.resolved;
  }

  async #waitForMcp(): Promise<void> {
    const wait = this.waitForMcpConnections;
    if (wait === false) return;
    if (wait !== true && (typeof wait !== "object" || wait === null || typeof wait.timeout !== "number" || !(wait.timeout >= 0))) {
      throw new TypeError(`waitForMcpConnections must be true, false or { timeout: <ms> }, got ${JSON.stringify(wait)}`);
    }
    await this.mcp.waitForConnections(wait === true ? undefined : { timeout: wait.timeout });
  }

  #chatLimits(): ChatLimits {
    if (this.#limits?.source !== this.chatLimits) this.#limits = { source: this.chatLimits, resolved: resolveChatLimits(this.chatLimits) };
    return this.#limits.resolved;
  }

  /**
   * Start-up: a stream cut short by a restart is settled (or left to its recovery) before anything
   * else runs; recovery continuations wait until onStart has run. An agent whose chat tables do not
   * exist yet (it never chatted) has nothing to settle: one lookup, no engine.
   */
  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    this.#chatRecovery(); // a bad chatRecovery fails here, loudly, not in the middle of a recovery
    if (this.#engine || this[AGENT_RUNTIME].db.hasTable(CHAT_STREAMS_TABLE)) await this.#chat.startup();
    try {
      await super[HANDLE.start](props);
    } finally {
      this.#up = true;
      this.#engine?.started();
    }
  }

  /** The fibers of chat turns are recovered by the chat (see `chatRecovery`), not by onFiberRecovered. */
  override async [RECOVER_OWN_FIBER](ctx: FiberRecoveryContext): Promise<boolean> {
    if (!ctx.name.startsWith(CHAT_FIBER_PREFIX)) return super[RECOVER_OWN_FIBER](ctx);
    return this.#chat.recoverFiber(ctx);
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
      emitChatFrame(this, parsed.frame, () => this.messages);
      const frame = parsed.frame;
      await instrumentActorEvent(this[AGENT_RUNTIME].className, this.name, "onMessage", frame.type, () => this.#chat.handle(connection, frame));
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
