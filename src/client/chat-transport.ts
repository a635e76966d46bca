import type { ChatTransport, UIMessage, UIMessageChunk } from "ai";
import { nextChunk } from "./chat-chunks.ts";
import { CHAT_FRAME, chatControlFrame, chatRequestFrame, readChatFrame, type ChatResponseFrame } from "./chat-protocol.ts";
import { randomId } from "./id.ts";

/**
 * What the chat transport needs from a connection: an agent socket such as
 * `AgentClient`, the socket `useAgent` returns, or the ones of the `agents`
 * package. `shouldReconnect` (a `PartySocket` property) tells a dropped
 * connection that will come back from one closed for good; a connection
 * without it (a plain `WebSocket`) is closed for good when it closes.
 *
 * @example
 * ```ts
 * const connection: ChatConnection = new AgentClient({ host: "127.0.0.1:8787", agent: "Chat" });
 * ```
 */
export interface ChatConnection {
  send(data: string): boolean | void;
  addEventListener(type: "message" | "open" | "close", listener: (event: Event) => void): void;
  removeEventListener(type: "message" | "open" | "close", listener: (event: Event) => void): void;
  readonly shouldReconnect?: boolean;
}

/**
 * What `body` receives: the request the AI SDK is about to send.
 *
 * @example
 * ```ts
 * const body = ({ messages }: ChatRequestInfo) => ({ turns: messages.length });
 * ```
 */
export interface ChatRequestInfo<M extends UIMessage = UIMessage> {
  /** The id of the AI SDK chat sending the request. */
  chatId: string;
  messages: M[];
  trigger: "submit-message" | "regenerate-message";
  messageId: string | undefined;
}

/**
 * Options for {@link AgentChatTransport}.
 *
 * @example
 * ```ts
 * const options: AgentChatTransportOptions = { agent: client, body: () => ({ timezone: "Europe/Berlin" }) };
 * ```
 */
export interface AgentChatTransportOptions<M extends UIMessage = UIMessage> {
  /** The socket to the chat agent. */
  agent: ChatConnection;
  /** Extra fields for the request body of every turn (the agent reads them as `options.body`). */
  body?(request: ChatRequestInfo<M>): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * Whether a stream the application abandons (an aborted `useChat` request, an unmounted
   * component) also stops the turn on the agent. Default false: the turn runs on and can be
   * resumed. {@link AgentChatTransport.cancel} always stops it.
   */
  cancelOnAbort?: boolean;
  /** How long to wait for an answer to a resume request, in milliseconds. Default 5000. */
  resumeTimeoutMs?: number;
  /** Response frames of turns no stream of this transport reads: turns of other tabs, continuations. */
  onUnownedFrame?(frame: ChatResponseFrame): void;
  /** Turns that a dropped connection interrupted and the agent no longer had to resume; their streams ended early. */
  onTurnLost?(ids: string[]): void;
  /**
   * A turn this transport sent ended without running (outcome `skipped`): `messageId` is the
   * message the request added (the user's new message), `messageIds` the messages the agent
   * stored for it (none when it refused the request before storing anything).
   */
  onTurnSkipped?(turn: { id: string; messageId: string | undefined; messageIds: string[] | undefined }): void;
  /** Whether the application already follows turn `id` itself (from its unowned frames); `reconnectToStream` then leaves it alone. */
  isObserved?(id: string): boolean;
  /** Start without listening to `agent`; {@link AgentChatTransport.setAgent} attaches it. Default false. */
  detached?: boolean;
}

interface Turn {
  id: string;
  controller: ReadableStreamDefaultController<UIMessageChunk>;
  /** Chunks received so far (a replay after a reconnect starts from the first one again). */
  received: number;
  /** Replayed chunks still to drop after a reconnect, for agents that do not number chunks. */
  skip: number;
  interrupted: boolean;
  /** Joined through a resume rather than started by this client. */
  adopted: boolean;
  /** The message a request of this client added, for a submitted turn. */
  messageId: string | undefined;
}

interface Probe {
  probeId: string;
  promise: Promise<string | null>;
  settle(id: string | null): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The request went out on a connection that closed before the answer came. */
  lost: boolean;
}

/** How long to keep waiting once the agent said a turn is about to start. */
const PENDING_TIMEOUT_MS = 60_000;
const RETIRED_LIMIT = 64;
const CLOSED_MID_STREAM = "WebSocket closed mid-stream";

function abortError(): Error {
  const error = new Error("Aborted");
  error.name = "AbortError";
  return error;
}

/**
 * An AI SDK `ChatTransport` over an agent's WebSocket, speaking the chat
 * protocol of `AIChatAgent`: each turn is a `cf_agent_use_chat_request`, its
 * chunks come back as `cf_agent_use_chat_response` frames. A connection that
 * drops mid-turn is re-attached when it comes back (the agent replays the
 * turn; chunks already read are skipped), and `reconnectToStream` joins a turn
 * that is already running, such as after a page reload.
 *
 * @example
 * ```ts
 * import { Chat } from "@ai-sdk/react";
 * const client = new AgentClient({ host: "127.0.0.1:8787", agent: "Chat", name: "support" });
 * const chat = new Chat({ transport: new AgentChatTransport({ agent: client }) });
 * await chat.sendMessage({ text: "Hello" });
 * ```
 */
export class AgentChatTransport<M extends UIMessage = UIMessage> implements ChatTransport<M> {
  /** A resumed turn is sent again from its first chunk. */
  readonly resumeStreamIsReplay = true;

  #agent: ChatConnection;
  readonly #options: AgentChatTransportOptions<M>;
  readonly #turns = new Map<string, Turn>();
  readonly #retired = new Set<string>();
  #probe: Probe | null = null;
  #listening = false;

  constructor(options: AgentChatTransportOptions<M>) {
    this.#options = options;
    this.#agent = options.agent;
    if (!options.detached) this.#listen(this.#agent);
  }

  /** Ids of the turns this transport is reading. */
  get activeTurnIds(): string[] {
    return [...this.#turns.keys()];
  }

  /** Whether frames of turn `id` go to a stream of this transport (or are dropped because it stopped reading). */
  owns(id: string): boolean {
    return this.#turns.has(id) || this.#retired.has(id);
  }

  /**
   * Points the transport at a socket and listens to it (again, after {@link close});
   * streams that were reading a previous socket end with an error.
   */
  setAgent(agent: ChatConnection): void {
    if (agent === this.#agent && this.#listening) return;
    if (agent !== this.#agent) {
      this.#unlisten(this.#agent);
      for (const turn of this.#turns.values()) this.#fail(turn, "Connection replaced");
      this.#probe?.settle(null);
      this.#agent = agent;
    }
    this.#listen(agent);
  }

  async sendMessages(options: Parameters<ChatTransport<M>["sendMessages"]>[0]): Promise<ReadableStream<UIMessageChunk>> {
    const { chatId, messages, trigger, messageId, abortSignal, body } = options;
    const extra = (await this.#options.body?.({ chatId, messages, trigger, messageId })) ?? {};
    if (abortSignal?.aborted) throw abortError();
    const id = randomId();
    const last = messages.at(-1);
    const added = trigger === "submit-message" && last?.role === "user" ? last.id : undefined;
    const stream = this.#open(id, false, abortSignal, added);
    this.#agent.send(chatRequestFrame(id, { messages, trigger, ...extra, ...(body as Record<string, unknown> | undefined) }));
    return stream;
  }

  async reconnectToStream(
    options: Parameters<ChatTransport<M>["reconnectToStream"]>[0],
  ): Promise<ReadableStream<UIMessageChunk> | null> {
    const id = await this.probe();
    if (id === null || options.abortSignal?.aborted || this.owns(id) || this.#options.isObserved?.(id)) return null;
    const stream = this.#open(id, true, options.abortSignal);
    this.ack(id);
    return stream;
  }

  /**
   * Asks the agent whether a turn is streaming that this connection can
   * join; resolves with its id, or `null` when there is none or no answer
   * came in time. Concurrent calls share one request.
   */
  probe(): Promise<string | null> {
    if (this.#probe !== null) return this.#probe.promise;
    let settle!: (id: string | null) => void;
    const promise = new Promise<string | null>((resolve) => (settle = resolve));
    const probe: Probe = {
      probeId: randomId(),
      promise,
      timer: undefined,
      lost: false,
      settle: (id) => {
        if (this.#probe !== probe) return;
        this.#probe = null;
        clearTimeout(probe.timer);
        settle(id);
      },
    };
    this.#probe = probe;
    this.#sendProbe(probe);
    return promise;
  }

  /** Asks the agent to send turn `id` from its first chunk, after a probe found it. */
  ack(id: string): void {
    this.#agent.send(chatControlFrame(CHAT_FRAME.resumeAck, { id }));
  }

  /**
   * Stops the turns this transport reads on the agent (`cf_agent_chat_request_cancel`);
   * returns their ids. Their streams end when the agent confirms, or when the caller aborts them.
   */
  cancel(): string[] {
    const ids = [...this.#turns.keys()];
    for (const id of ids) this.#agent.send(chatControlFrame(CHAT_FRAME.cancel, { id }));
    return ids;
  }

  /** Stops listening to the socket; open streams end with an error. */
  close(): void {
    this.#unlisten(this.#agent);
    for (const turn of this.#turns.values()) this.#fail(turn, "Transport closed");
    this.#probe?.settle(null);
  }

  #open(id: string, adopted: boolean, abortSignal: AbortSignal | undefined, messageId?: string): ReadableStream<UIMessageChunk> {
    const abandon = (): void => {
      const turn = this.#turns.get(id);
      if (turn === undefined) return;
      if (this.#options.cancelOnAbort) this.#agent.send(chatControlFrame(CHAT_FRAME.cancel, { id }));
      this.#retire(turn);
      try {
        turn.controller.error(abortError());
      } catch {
        // Already cancelled by the reader.
      }
    };
    const stream = new ReadableStream<UIMessageChunk>({
      start: (controller) => {
        this.#turns.set(id, { id, controller, received: 0, skip: 0, interrupted: false, adopted, messageId });
      },
      cancel: () => abandon(),
    });
    abortSignal?.addEventListener("abort", abandon, { once: true });
    return stream;
  }

  #deliver(turn: Turn, frame: ChatResponseFrame): void {
    if (frame.error) {
      this.#fail(turn, frame.body || "Stream error");
      return;
    }
    const chunk = nextChunk(turn, frame, turn.adopted && frame.continuation === true);
    if (chunk !== undefined) turn.controller.enqueue(chunk);
    if (frame.done) {
      this.#retire(turn);
      turn.controller.close();
      if (frame.outcome === "skipped" && !turn.adopted) {
        this.#options.onTurnSkipped?.({ id: turn.id, messageId: turn.messageId, messageIds: frame.messageIds });
      }
    }
  }

  #fail(turn: Turn, message: string): void {
    this.#retire(turn);
    try {
      turn.controller.enqueue({ type: "error", errorText: message });
      turn.controller.close();
    } catch {
      // The reader is gone.
    }
  }

  #retire(turn: Turn): void {
    this.#turns.delete(turn.id);
    this.#retired.add(turn.id);
    if (this.#retired.size > RETIRED_LIMIT) this.#retired.delete(this.#retired.values().next().value as string);
  }

  #sendProbe(probe: Probe): void {
    const sent = this.#agent.send(chatControlFrame(CHAT_FRAME.resumeRequest, { probeId: probe.probeId }));
    probe.lost = false;
    // A request buffered by a closed socket goes out when it opens; the wait starts then.
    if (sent !== false) this.#arm(probe, this.#options.resumeTimeoutMs ?? 5000);
  }

  #arm(probe: Probe, ms: number): void {
    clearTimeout(probe.timer);
    probe.timer = setTimeout(() => probe.settle(null), ms);
  }

  /** After a reconnect: re-attach to the interrupted turn the agent still runs; end the others. */
  async #reattach(): Promise<void> {
    const id = await this.probe();
    const lost: string[] = [];
    for (const turn of this.#turns.values()) {
      if (!turn.interrupted) continue;
      if (turn.id === id) {
        turn.interrupted = false;
        turn.skip = turn.received;
        this.ack(id);
      } else {
        lost.push(turn.id);
        this.#retire(turn);
        turn.controller.close();
      }
    }
    if (lost.length > 0) this.#options.onTurnLost?.(lost);
  }

  readonly #onMessage = (event: Event): void => {
    const frame = readChatFrame((event as MessageEvent).data);
    if (frame === undefined) return;
    const probe = this.#probe;
    const answersProbe = probe !== null && "probeId" in frame && (frame.probeId === undefined || frame.probeId === probe.probeId);
    switch (frame.type) {
      case CHAT_FRAME.response: {
        const turn = this.#turns.get(frame.id);
        if (turn !== undefined) this.#deliver(turn, frame);
        else if (!this.#retired.has(frame.id)) this.#options.onUnownedFrame?.(frame);
        return;
      }
      case CHAT_FRAME.resuming:
        if (answersProbe) probe.settle(frame.id);
        return;
      case CHAT_FRAME.resumeNone:
        if (answersProbe) probe.settle(null);
        return;
      case CHAT_FRAME.pending:
        if (answersProbe) this.#arm(probe, PENDING_TIMEOUT_MS);
        return;
    }
  };

  readonly #onClose = (): void => {
    // Only a connection that says it reconnects will come back; any other is closed for good.
    const reconnecting = this.#agent.shouldReconnect === true;
    for (const turn of this.#turns.values()) {
      if (reconnecting) turn.interrupted = true;
      else this.#fail(turn, CLOSED_MID_STREAM);
    }
    if (this.#probe !== null) {
      if (reconnecting) this.#probe.lost = true;
      else this.#probe.settle(null);
    }
  };

  readonly #onOpen = (): void => {
    const probe = this.#probe;
    if (probe !== null) {
      if (probe.lost) this.#sendProbe(probe);
      else this.#arm(probe, this.#options.resumeTimeoutMs ?? 5000);
    }
    if ([...this.#turns.values()].some((turn) => turn.interrupted)) void this.#reattach();
  };

  #listen(agent: ChatConnection): void {
    if (this.#listening) return;
    this.#listening = true;
    agent.addEventListener("message", this.#onMessage);
    agent.addEventListener("close", this.#onClose);
    agent.addEventListener("open", this.#onOpen);
  }

  #unlisten(agent: ChatConnection): void {
    if (!this.#listening) return;
    this.#listening = false;
    agent.removeEventListener("message", this.#onMessage);
    agent.removeEventListener("close", this.#onClose);
    agent.removeEventListener("open", this.#onOpen);
  }
}
