import { PartySocket } from "partysocket";
import type { PartySocketOptions } from "partysocket";
import { readClientFrame, stateFrame, type McpServersState } from "./frames.ts";
import { Handshake } from "./handshake.ts";
import type { Identity } from "./handshake.ts";
import { camelCaseToKebabCase } from "./kebab.ts";
import { PendingCalls } from "./pending-calls.ts";
import type { CallOptionsInput } from "./pending-calls.ts";
import { createStub } from "./stub.ts";
import type { AgentStub, UntypedMethods } from "./stub.ts";
import { agentPath, resolveHost } from "./url.ts";

/**
 * Options for {@link AgentClient}; other PartySocket options (`query`, `path`,
 * `maxRetries`, `WebSocket`, `startClosed`, ...) pass through.
 *
 * @example
 * ```ts
 * const options: AgentClientOptions<{ count: number }> = {
 *   host: "https://agents.example.com",
 *   agent: "Counter",
 *   name: "team/α",
 *   query: { token },
 *   onStateUpdate: (state, source) => console.log(source, state.count),
 * };
 * ```
 */
export type AgentClientOptions<State = unknown> = Omit<
  PartySocketOptions,
  "party" | "room" | "host" | "prefix" | "protocol"
> &
  AgentSocketOptions<State> & {
    /** `"host:port"`, or a URL such as `"http://127.0.0.1:8787"`. */
    host: string;
    onOpen?(event: Event): void;
    onClose?(event: CloseEvent): void;
    onError?(event: Event): void;
  };

/** What {@link AgentClient} and `useAgent` share: the agent's address and the protocol callbacks. */
export interface AgentSocketOptions<State = unknown> {
  /** Agent class name, `"ChatRoom"`, or its URL form `"chat-room"`. */
  agent: string;
  /** Instance name, any string; defaults to `"default"`. */
  name?: string;
  /** First path segment(s); defaults to `"agents"`, `""` for none. */
  prefix?: string;
  /** Defaults to the scheme in `host`, else ws for local addresses and wss otherwise. */
  protocol?: "ws" | "wss";
  /** Timeout in milliseconds for calls without stream callbacks; none by default. */
  defaultCallTimeout?: number;
  /** The agent's state changed: sent by the server, or set by this client. */
  onStateUpdate?(state: State, source: "server" | "client"): void;
  /** The server refused a `setState` from this client. */
  onStateUpdateError?(error: string): void;
  /** The server announced which instance this socket reached. */
  onIdentity?(name: string, agent: string): void;
  /** The agent's remote MCP servers changed (also called once on connect). */
  onMcpUpdate?(mcp: McpServersState): void;
}

const CLOSED = "Connection closed";

/**
 * A reconnecting WebSocket to one agent instance, speaking the agent
 * protocol: RPC calls (`call`, `stub`), state sync (`setState`,
 * `onStateUpdate`) and the identity handshake. It is a `PartySocket`, so
 * `send`, `close`, `reconnect` and `message` listeners work as usual; every
 * frame, handled or not, still reaches `message` listeners unchanged.
 *
 * @example
 * ```ts
 * const client = new AgentClient<{ count: number }>({
 *   host: "127.0.0.1:8787",
 *   agent: "Counter",
 *   name: "room-1",
 *   onStateUpdate: (state) => console.log(state.count),
 * });
 * await client.ready;
 * await client.call("increment", [2]);
 * await client.stub.increment(2);
 * client.close();
 * ```
 */
export class AgentClient<State = unknown, Methods extends object = UntypedMethods> extends PartySocket {
  /** The agent class in URL form, `"chat-room"`; updated by the server's identity frame. */
  agent: string;
  /** The last state received or set, `undefined` until then. */
  state: State | undefined = undefined;
  /** True between the identity handshake and the next close. */
  identified = false;
  /** Methods of the agent as functions: `await client.stub.increment(2)`. */
  readonly stub: AgentStub<Methods> = createStub<Methods>((method, args) => this.call(method, args));

  readonly #options: AgentClientOptions<State>;
  readonly #calls = new PendingCalls();
  readonly #handshake = new Handshake();
  #closed = false;
  #ready!: Promise<void>;
  #resolveReady: (() => void) | null = null;

  constructor(options: AgentClientOptions<State>) {
    const {
      agent,
      name,
      host,
      prefix,
      protocol,
      defaultCallTimeout: _timeout,
      onStateUpdate: _state,
      onStateUpdateError: _stateError,
      onIdentity: _identity,
      onMcpUpdate: _mcp,
      onOpen,
      onClose,
      onError,
      ...socketOptions
    } = options;
    const resolved = resolveHost(host, protocol);
    super({
      ...socketOptions,
      host: resolved.host,
      protocol: resolved.secure ? "wss" : "ws",
      basePath: socketOptions.basePath ?? agentPath({ agent, name, prefix }).slice(1),
    });
    this.#options = options;
    this.agent = camelCaseToKebabCase(agent);
    this.name = name || "default";
    this.#newReady();
    this.addEventListener("message", (event) => this.#onMessage(event.data));
    this.addEventListener("open", () => this.#calls.markSent(this));
    this.addEventListener("close", () => this.#onClose());
    if (onOpen) this.addEventListener("open", (event) => onOpen(event));
    if (onClose) this.addEventListener("close", (event) => onClose(event));
    if (onError) this.addEventListener("error", (event) => onError(event));
  }

  /**
   * Settles once the server identified the instance (and, when it announced
   * one, sent the state); a new promise replaces it after each disconnect.
   */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Calls a method of the agent and resolves with its result. With stream
   * callbacks, chunks of a streaming method go to `onChunk` and the call
   * resolves with the final value. Rejects with the agent's error message,
   * or with "Connection closed" when the socket closes before the reply.
   */
  call<T = unknown>(method: string, args: unknown[] = [], options?: CallOptionsInput<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new Error(CLOSED));
    return this.#calls.start<T>(
      (request) => (this.send(request) ? this : null),
      method,
      args,
      options,
      this.#options.defaultCallTimeout,
    );
  }

  /** Replaces the agent's state; other clients receive it, and `onStateUpdate` runs with source "client". */
  setState(state: State): void {
    this.send(stateFrame(state));
    this.state = state;
    this.#options.onStateUpdate?.(state, "client");
  }

  /** Closes the socket for good and rejects the calls still waiting. */
  override close(code?: number, reason?: string): void {
    this.#closed = true;
    this.#calls.rejectAll(CLOSED);
    super.close(code, reason);
  }

  /** Closes the current connection, if any, and connects again. */
  override reconnect(code?: number, reason?: string): void {
    this.#closed = false;
    super.reconnect(code, reason);
  }

  #onMessage(data: unknown): void {
    const frame = readClientFrame(data);
    if (frame === undefined) return;
    switch (frame.type) {
      case "cf_agent_identity": {
        const identity = this.#handshake.identity(frame);
        if (identity) this.#identify(identity);
        return;
      }
      case "cf_agent_state": {
        this.state = frame.state as State;
        try {
          this.#options.onStateUpdate?.(frame.state as State, "server");
        } finally {
          const identity = this.#handshake.state();
          if (identity) this.#identify(identity);
        }
        return;
      }
      case "cf_agent_state_error":
        this.#options.onStateUpdateError?.(frame.error);
        return;
      case "cf_agent_mcp_servers":
        this.#options.onMcpUpdate?.(frame.mcp);
        return;
      case "rpc":
        this.#calls.settle(frame);
        return;
    }
  }

  #identify(identity: Identity): void {
    this.name = identity.name;
    this.agent = identity.agent;
    this.identified = true;
    this.#resolveReady?.();
    this.#resolveReady = null;
    this.#options.onIdentity?.(identity.name, identity.agent);
  }

  #onClose(): void {
    this.identified = false;
    this.#handshake.reset();
    if (this.#resolveReady === null) this.#newReady();
    this.#calls.rejectSentOn(this, CLOSED);
    if (!this.shouldReconnect) this.#calls.rejectAll(CLOSED);
  }

  #newReady(): void {
    this.#ready = new Promise((resolve) => {
      this.#resolveReady = resolve;
    });
  }
}
