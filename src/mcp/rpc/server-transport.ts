import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  parseJSONRPCMessage,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
  type Transport,
  type TransportSendOptions,
} from "@modelcontextprotocol/server";
import { messageOf } from "../../agent/rpc.ts";
import { systemClock, type Clock } from "../../time/clock.ts";

/** How long one RPC call waits for the server's answer (option `timeout`, ms). */
export const MCP_RPC_TIMEOUT_MS = 60_000;
/** Server messages tied to no pending call, held for the client's next call; older ones are dropped. */
export const MAX_MCP_RPC_OUTBOX = 100;
/**
 * Requests given up on (timed out or cancelled) whose late answers are still expected and dropped
 * quietly; past this many the oldest is forgotten (its late answer, if any, is reported to `onerror`).
 */
export const MAX_MCP_RPC_ABANDONED = 1_000;

/** What one RPC call returns to the client: the messages the server sent for it. */
export type McpRpcReply = JSONRPCMessage | JSONRPCMessage[] | undefined;

/**
 * Options of {@link RpcServerTransport}.
 * @example
 * new RpcServerTransport({ timeout: 10_000 });
 */
export interface RpcServerTransportOptions {
  /** Longest wait of one RPC call for the server's answer, in ms. Default 60 s. */
  timeout?: number;
  /** The time the timeout is measured in. Default the system clock; an McpAgent passes its agent's (virtual in tests). */
  clock?: Clock;
}

interface Waiter {
  resolve(reply: McpRpcReply): void;
  cancelTimer(): void;
}

/** A client request the server is working on. */
interface Exchange {
  readonly id: RequestId;
  /** Sent for it and not yet returned (progress, logging, server-to-client requests, the result). */
  readonly messages: JSONRPCMessage[];
  /** The RPC call that will carry them back; none while the client answers a server request. */
  waiter?: Waiter;
  /** A server-to-client request is among `messages`: the call waiting should return now. */
  ready: boolean;
  /** Keys of the requests its handler sent the client (forgotten with the exchange). */
  readonly serverRequests: string[];
}

/**
 * The server side of MCP over an agent binding. RPC is call and return, so whatever the server sends
 * travels back as the return value of a client's call: a request's result with the notifications sent
 * for it, or — when its handler asks the client something (elicitation, sampling) — that request,
 * after which the client's answer is itself a call that returns what the handler sends next.
 * Messages tied to no pending call (a list_changed notification) wait for the client's next call.
 * One transport serves one client session; `McpAgent` creates it for agents named `rpc:…`.
 * @example
 * // Inside an agent that serves MCP over RPC by hand (McpAgent does this for you):
 * const transport = new RpcServerTransport({ timeout: 30_000 });
 * await server.connect(transport); // an McpServer of the official SDK
 * const reply = await transport.handle({ jsonrpc: "2.0", id: 1, method: "ping" }); // → { jsonrpc: "2.0", id: 1, result: {} }
 */
export class RpcServerTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  /** Told whenever the number of client requests in progress changes (the agent stays in memory meanwhile). */
  onpending?: (count: number) => void;
  sessionId?: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #exchanges = new Map<string, Exchange>();
  /** A request the server sent → the client request whose handler sent it. */
  readonly #serverRequests = new Map<string, string>();
  /** Requests given up on (timeout, cancel): what the server still sends for them is dropped. Oldest first. */
  readonly #abandoned = new Set<string>();
  #outbox: JSONRPCMessage[] = [];
  #closed = false;

  constructor(options: RpcServerTransportOptions = {}) {
    const timeout = options.timeout ?? MCP_RPC_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError(`The RPC transport's timeout must be a positive number of ms, got ${timeout}`);
    this.#timeoutMs = timeout;
    this.#clock = options.clock ?? systemClock;
  }

  /** @internal What the transport holds now (in-progress requests, their server requests, given-up ids, held messages). */
  get held(): { exchanges: number; serverRequests: number; abandoned: number; outbox: number } {
    return { exchanges: this.#exchanges.size, serverRequests: this.#serverRequests.size, abandoned: this.#abandoned.size, outbox: this.#outbox.length };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const exchange of this.#exchanges.values()) {
      if (exchange.waiter) this.#finish(exchange, [errorResponse(exchange.id, -32000, "The MCP server closed (its agent left memory); retry the request")]);
    }
    this.#exchanges.clear();
    this.#serverRequests.clear();
    this.#abandoned.clear();
    this.onpending?.(0);
    this.onclose?.();
  }

  /** Handles one RPC call: a message (or batch) from the client; resolves with what goes back. */
  async handle(input: unknown): Promise<McpRpcReply> {
    if (this.#closed) throw new Error("The MCP server's RPC transport is closed");
    if (!Array.isArray(input)) return this.#handleOne(input);
    if (input.length === 0) return errorResponse(null, -32600, "Invalid Request: an empty batch");
    const replies = await Promise.all(input.map((message: unknown) => this.#handleOne(message)));
    return collect(replies.flatMap((reply) => (reply === undefined ? [] : Array.isArray(reply) ? reply : [reply])));
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.#closed) throw new Error("The MCP server's RPC transport is closed");
    if (isJSONRPCResultResponse(message) || isJSONRPCErrorResponse(message)) {
      const key = keyOf(message.id ?? null);
      const exchange = this.#exchanges.get(key);
      if (exchange === undefined) {
        if (!this.#abandoned.delete(key)) this.onerror?.(new Error(`MCP over RPC: a response to no pending request (${key})`));
        return;
      }
      exchange.messages.push(message);
      this.#forget(key, exchange);
      // Nobody waits (the client has not answered a question yet): the next call carries it.
      if (exchange.waiter) this.#finish(exchange, exchange.messages.splice(0));
      else this.#hold(exchange.messages.splice(0));
      return;
    }
    const relatedKey = options?.relatedRequestId === undefined ? undefined : keyOf(options.relatedRequestId);
    const related = relatedKey === undefined ? undefined : this.#exchanges.get(relatedKey);
    if (related === undefined) {
      this.#hold([message]);
      return;
    }
    related.messages.push(message);
    if (isJSONRPCRequest(message)) {
      const requestKey = keyOf(message.id);
      this.#serverRequests.set(requestKey, relatedKey!);
      related.serverRequests.push(requestKey);
      related.ready = true;
      if (related.waiter) this.#finish(related, related.messages.splice(0));
    }
  }

  async #handleOne(raw: unknown): Promise<McpRpcReply> {
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(raw);
    } catch (error) {
      return errorResponse(idOf(raw), -32600, `Invalid Request: ${messageOf(error)}`);
    }
    if (isJSONRPCRequest(message)) {
      const key = keyOf(message.id);
      if (this.#exchanges.has(key)) return errorResponse(message.id, -32600, `Invalid Request: request id ${key} is already in progress`);
      this.#abandoned.delete(key);
      this.#exchanges.set(key, { id: message.id, messages: [], ready: false, serverRequests: [] });
      this.onpending?.(this.#exchanges.size);
      const reply = this.#wait(key);
      this.onmessage?.(message);
      return reply;
    }
    if (isJSONRPCNotification(message)) {
      this.onmessage?.(message);
      if (message.method === "notifications/cancelled") this.#cancelled(message.params?.requestId);
      return this.#drain();
    }
    // The client's answer to a server request: the call waits for what its handler sends next.
    const answered = keyOf(message.id ?? null);
    const origin = this.#serverRequests.get(answered);
    this.#serverRequests.delete(answered);
    const exchange = origin === undefined ? undefined : this.#exchanges.get(origin);
    const asked = exchange?.serverRequests.indexOf(answered) ?? -1;
    if (asked >= 0) exchange!.serverRequests.splice(asked, 1);
    const reply = exchange !== undefined && exchange.waiter === undefined ? this.#wait(origin!) : undefined;
    this.onmessage?.(message);
    return reply ?? this.#drain();
  }

  #wait(key: string): Promise<McpRpcReply> {
    const exchange = this.#exchanges.get(key)!;
    return new Promise((resolve) => {
      const cancelTimer = this.#clock.setTimer(this.#clock.now() + this.#timeoutMs, () => {
        if (exchange.waiter?.resolve !== resolve) return;
        this.#abandon(key, exchange);
        const message = `Request timed out: no answer from the MCP server within ${this.#timeoutMs} ms (RPC transport timeout)`;
        this.#finish(exchange, [...exchange.messages.splice(0), errorResponse(exchange.id, -32001, message)]);
      });
      exchange.waiter = { resolve, cancelTimer };
      if (exchange.ready) this.#finish(exchange, exchange.messages.splice(0));
    });
  }

  /** Ends the waiting call of `exchange` with `messages` (and whatever waited for any call). */
  #finish(exchange: Exchange, messages: JSONRPCMessage[]): void {
    const waiter = exchange.waiter;
    if (waiter === undefined) return;
    exchange.waiter = undefined;
    exchange.ready = false;
    waiter.cancelTimer();
    const held = this.#outbox.splice(0);
    waiter.resolve(collect([...held, ...messages]));
  }

  #cancelled(requestId: unknown): void {
    if (typeof requestId !== "string" && typeof requestId !== "number") return;
    const key = keyOf(requestId);
    const exchange = this.#exchanges.get(key);
    if (exchange === undefined) return;
    // The server stops the handler and sends nothing more for it.
    this.#abandon(key, exchange);
    this.#finish(exchange, exchange.messages.splice(0));
  }

  /** The exchange is over: it and the questions its handler asked are forgotten. */
  #forget(key: string, exchange: Exchange): void {
    this.#exchanges.delete(key);
    for (const requestKey of exchange.serverRequests.splice(0)) this.#serverRequests.delete(requestKey);
    this.onpending?.(this.#exchanges.size);
  }

  /** Given up on before its answer: a late answer is dropped quietly, for the newest few only. */
  #abandon(key: string, exchange: Exchange): void {
    this.#forget(key, exchange);
    this.#abandoned.delete(key);
    this.#abandoned.add(key);
    if (this.#abandoned.size > MAX_MCP_RPC_ABANDONED) this.#abandoned.delete(this.#abandoned.values().next().value!);
  }

  #hold(messages: JSONRPCMessage[]): void {
    this.#outbox.push(...messages);
    const excess = this.#outbox.length - MAX_MCP_RPC_OUTBOX;
    if (excess > 0) {
      this.#outbox.splice(0, excess);
      this.onerror?.(new Error(`MCP over RPC: ${excess} server message(s) dropped, no client call came to carry them (MAX_MCP_RPC_OUTBOX ${MAX_MCP_RPC_OUTBOX})`));
    }
  }

  #drain(): McpRpcReply {
    return collect(this.#outbox.splice(0));
  }
}

function collect(messages: JSONRPCMessage[]): McpRpcReply {
  return messages.length === 0 ? undefined : messages.length === 1 ? messages[0] : messages;
}

/** Ids 1 and "1" are different requests. */
function keyOf(id: RequestId | null): string {
  return typeof id === "string" ? `s:${id}` : `n:${String(id)}`;
}

function idOf(raw: unknown): RequestId | null {
  const id: unknown = typeof raw === "object" && raw !== null && "id" in raw ? raw.id : null;
  return typeof id === "string" || typeof id === "number" ? id : null;
}

function errorResponse(id: RequestId | null, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code, message } } as JSONRPCMessage;
}
