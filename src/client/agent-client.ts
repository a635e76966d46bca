import { PartySocket } from "partysocket";
import type { PartySocketOptions } from "partysocket";
import type {
  AgentClassGuard,
  ClientCall,
  ClientState,
  ClientStub,
  DefaultClientState,
  UntypedAgentCall,
  UntypedAgentStub,
} from "./agent-types.ts";
import { AgentConnectionError, ClosePolicy } from "./connection-error.ts";
import { readClientFrame, stateFrame } from "./frames.ts";
import { Handshake } from "./handshake.ts";
import type { Identity } from "./handshake.ts";
import { IdentityHistory } from "./identity-change.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { PendingCalls } from "./pending-calls.ts";
import type { CallOptionsInput } from "./pending-calls.ts";
import { ReadySignal } from "./ready.ts";
import { partySocketOptions, socketPath } from "./socket-options.ts";
import type { AgentSocketOptions, ReplacedPartySocketOption } from "./socket-options.ts";
import { createStubProxy } from "./stub.ts";
import { agentSteps, resolveHost } from "./url.ts";
import type { AgentPathStep } from "./url.ts";

export type { AgentSocketOptions } from "./socket-options.ts";

/**
 * Options for {@link AgentClient}; other PartySocket options (`query`,
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
export type AgentClientOptions<State = unknown> = Omit<PartySocketOptions, ReplacedPartySocketOption | "host"> &
  AgentSocketOptions<State> & {
    /** `"host:port"`, or a URL such as `"http://127.0.0.1:8787"`. */
    host: string;
    onOpen?(event: Event): void;
    onClose?(event: CloseEvent): void;
    onError?(event: Event): void;
  };

const CLOSED = "Connection closed";

/** What `send` accepts. */
type Message = Parameters<PartySocket["send"]>[0];

/**
 * The class behind {@link AgentClient}: a reconnecting WebSocket to one
 * agent instance, speaking the agent protocol. Its type parameters are the
 * resolved state, stub and call types; write `AgentClient<…>` instead.
 */
class AgentClientSocket<State = unknown, Stub = UntypedAgentStub, Call = UntypedAgentCall> extends PartySocket {
  /**
   * The agent class in URL form, `"chat-room"`: the last `sub` step's when
   * connected to a sub-agent; updated by the server's identity frame.
   */
  agent: string;
  /**
   * The last state received or set, `undefined` until then; back to
   * `undefined` when `updateProperties` readdresses the client.
   */
  state: State | undefined = undefined;
  /** True between the identity handshake and the next close. */
  identified = false;
  /** Why the connection ended for good (see `onConnectionError`); cleared when a connection opens. */
  connectionError: AgentConnectionError | null = null;
  /** Methods of the agent as functions: `await client.stub.increment(2)`. */
  readonly stub: Stub;
  /**
   * Calls a method of the agent and resolves with its result. With stream
   * callbacks, chunks of a streaming method go to `onChunk` and the call
   * resolves with the final value. Rejects with the agent's error message,
   * "RPC call to … timed out after …ms", or "Connection closed".
   */
  readonly call: Call;

  readonly #options: AgentClientOptions<State>;
  readonly #calls = new PendingCalls();
  readonly #handshake = new Handshake();
  readonly #ready = new ReadySignal();
  readonly #identities = new IdentityHistory();
  readonly #policy: ClosePolicy;
  /** The address, root first; `updateProperties` may change it. */
  #steps: ReadonlyArray<AgentPathStep>;
  /** The `prefix` option; `updateProperties` may change it. */
  #prefix: string | undefined;
  #closed = false;
  /** Whether the current connection attempt opened, for the message of a terminal close. */
  #opened = false;

  constructor(options: AgentClientOptions<State>) {
    const { address, rest } = partySocketOptions(options, ["host", "onOpen", "onClose", "onError"]);
    const { onOpen, onClose, onError } = options;
    const resolved = resolveHost(options.host, options.protocol);
    const self: { socket: PartySocket | null } = { socket: null };
    const policy = new ClosePolicy(
      () => self.socket,
      () => options.shouldReconnectOnClose?.bind(options),
      () => options.maxRetries,
    );
    super({
      ...rest,
      host: resolved.host,
      protocol: resolved.secure ? "wss" : "ws",
      ...address,
      shouldReconnectOnClose: policy.decide,
    });
    self.socket = this;
    this.#policy = policy;
    this.#options = options;
    this.#steps = frozenSteps(options);
    this.#prefix = options.prefix;
    const leaf = this.#steps[this.#steps.length - 1]!;
    this.agent = camelCaseToKebabCase(leaf.agent);
    this.name = leaf.name;
    this.room = this.#room();
    this.stub = createStubProxy<Stub>((method, args) => this.#call(method, args));
    const call: UntypedAgentCall = (method, args, callOptions) => this.#call(method, args, callOptions);
    this.call = call as Call;
    this.addEventListener("message", (event) => this.#onMessage(event.data));
    this.addEventListener("open", () => {
      this.#opened = true;
      this.connectionError = null;
      // Calls, state updates and frames sent while the socket was not open, in the order they were made.
      this.#calls.flush(this, (data) => this.#transmit(data));
    });
    this.addEventListener("close", (event) => this.#onClose(event));
    if (onOpen) this.addEventListener("open", (event) => onOpen(event));
    if (onClose) this.addEventListener("close", (event) => onClose(event));
    if (onError) this.addEventListener("error", (event) => onError(event));
  }

  /**
   * The address as given, root first: the top-level `{ agent, name }`, then
   * each `sub` step. (PartySocket's `path` is the URL sub-path.)
   */
  get agentPath(): ReadonlyArray<AgentPathStep> {
    return this.#steps;
  }

  /**
   * Settles once the server identified the instance (and, when it announced
   * one, sent the state); a new promise replaces it after each disconnect.
   */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /**
   * PartySocket's, keeping one order with calls: while the socket is not
   * open, the frame waits with the calls made meanwhile and goes out after
   * the ones made before it (PartySocket's own buffer would send it first).
   * Returns true when the frame went out at once.
   */
  override send(data: Message): boolean {
    if (this.readyState === this.OPEN && !this.#calls.queued) return super.send(data);
    const limit = this.#options.maxEnqueuedMessages ?? Number.POSITIVE_INFINITY;
    if (this.#calls.heldFrameCount < limit) this.#calls.hold(data);
    return false;
  }

  /** PartySocket's, counting the frames waiting for the socket to open too. */
  override get bufferedAmount(): number {
    return super.bufferedAmount + this.#calls.heldFrameBytes;
  }

  /** PartySocket's: the frames passed to `send` and not transmitted yet (waiting calls stay). */
  override drainQueuedMessages(): Message[] {
    return [...super.drainQueuedMessages(), ...this.#calls.drainFrames()];
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

  /**
   * PartySocket's: changes options for the next connection (`reconnect()`
   * makes one now). `room` (the instance name), `party` (the agent class,
   * URL form) and `prefix` readdress the client, as in the Agents SDK, unless
   * it has a `basePath`; calls not sent yet are then discarded, since they
   * were meant for the previous instance, and `state` is `undefined` until
   * the new instance sends its own.
   */
  override updateProperties(update: Partial<PartySocketOptions>): void {
    const { room, party, prefix, ...rest } = update;
    const readdress =
      (room !== undefined || party !== undefined || prefix !== undefined) &&
      rest.basePath === undefined &&
      !this.#options.basePath;
    const { agent, name } = this;
    const previousRoom = this.room;
    let basePath = rest.basePath;
    if (readdress) {
      // Hearth always hands PartySocket a basePath, which PartySocket prefers to room, party and prefix.
      const [root, ...sub] = this.#steps;
      const next = { agent: party ?? root!.agent, name: room ?? root!.name, prefix: prefix ?? this.#prefix, sub };
      basePath = socketPath(next).basePath;
      this.#steps = frozenSteps(next);
      this.#prefix = next.prefix;
    }
    // PartySocket keeps `path` with its leading slash, and refuses it so when it rebuilds the URL.
    super.updateProperties({ ...rest, basePath, path: (rest.path ?? this.path).replace(/^\/+/, "") });
    if (readdress) {
      this.#identities.reset();
      this.#calls.rejectUnsent("Call discarded: the client was readdressed before it could be sent");
      const leaf = this.#steps[this.#steps.length - 1]!;
      this.agent = camelCaseToKebabCase(leaf.agent);
      this.name = leaf.name;
      this.room = this.#room();
      // The previous instance's state is not the new one's.
      this.state = undefined;
    } else {
      // PartySocket sets `name` to its party name: the instance name stays.
      this.agent = agent;
      this.name = name;
      this.room = previousRoom;
    }
  }

  /** Closes the current connection, if any, and connects again. */
  override reconnect(code?: number, reason?: string): void {
    this.#closed = false;
    super.reconnect(code, reason);
  }

  #call<T>(method: string, args: unknown[] = [], options?: CallOptionsInput<T>): Promise<T> {
    if (this.#closed || (this.connectionError !== null && this.readyState === this.CLOSED)) {
      return Promise.reject(new Error(CLOSED));
    }
    // A call is sent only on an open socket, never left in PartySocket's send buffer: the buffer
    // would still deliver it after the call timed out or close() rejected it. Calls waiting here
    // go out when the socket opens (see the "open" listener), in one order with the frames `send`
    // held meanwhile; while any wait, a new call waits behind them.
    return this.#calls.start<T>(
      (request) => (this.readyState === this.OPEN && !this.#calls.queued && this.#transmit(request) ? this : null),
      method,
      args,
      options,
      this.#options.defaultCallTimeout,
    );
  }

  /** Sends on the open socket, past the ordering of {@link AgentClientSocket.send}. */
  #transmit(data: Message): boolean {
    return super.send(data);
  }

  /**
   * PartySocket's `room`, as in the Agents SDK: the (top-level) instance
   * name; undefined with `basePath`, where the server picks the instance.
   */
  #room(): string | undefined {
    return this.#options.basePath ? undefined : this.#steps[0]!.name;
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
    this.#identities.record(identity, this.#options.onIdentityChange);
    this.name = identity.name;
    this.agent = identity.agent;
    this.identified = true;
    this.#ready.resolve();
    this.#options.onIdentity?.(identity.name, identity.agent);
  }

  #onClose(event: CloseEvent): void {
    const final = this.#policy.takeFinal();
    const opened = this.#opened;
    this.#opened = false;
    this.identified = false;
    this.#handshake.reset();
    this.#ready.reset();
    this.#calls.rejectSentOn(this, CLOSED);
    if (this.shouldReconnect && !final) return;
    this.#calls.rejectAll(CLOSED);
    if (!final) return;
    const error = new AgentConnectionError(event, opened);
    this.connectionError = error;
    this.#options.onConnectionError?.(error);
  }
}

/** The steps of an address, root first, frozen: `agentPath` hands them out. */
function frozenSteps(address: Pick<AgentSocketOptions, "agent" | "name" | "sub">): ReadonlyArray<AgentPathStep> {
  return Object.freeze(agentSteps(address).map((step) => Object.freeze(step)));
}

/**
 * An {@link AgentClient} with its type arguments resolved. `AgentClient<A, B>`
 * takes the Agents SDK's order, `<MyAgent, MyState>` (a typed `stub` and
 * `call` from the agent class), and also `<MyState>` and Hearth's earlier
 * `<MyState, MyMethods>` (a stub typed from an interface of methods).
 *
 * @example
 * ```ts
 * const typed: AgentClient<Counter> = new AgentClient<Counter>({ host, agent: "Counter" });
 * const untyped: AgentClient<{ count: number }> = new AgentClient({ host, agent: "Counter" });
 * ```
 */
export type AgentClient<A = unknown, B = DefaultClientState<A>> = AgentClientSocket<
  ClientState<A, B>,
  ClientStub<A, B>,
  ClientCall<A>
>;

/**
 * The constructor of {@link AgentClient}: one signature per way of writing
 * the type arguments, so each form gets its state type in the callbacks.
 */
export interface AgentClientConstructor extends Omit<typeof PartySocket, "prototype"> {
  /** `new AgentClient(options)`, `new AgentClient<MyState>(…)` or `new AgentClient<MyAgent>(…)`. */
  new <A = unknown>(options: AgentClientOptions<ClientState<A, DefaultClientState<A>>>): AgentClient<A>;
  /** The Agents SDK's order: `new AgentClient<MyAgent, MyState>(…)`. */
  new <AgentT, State = DefaultClientState<AgentT>>(
    options: AgentClientOptions<State> & AgentClassGuard<AgentT>,
  ): AgentClient<AgentT, State>;
  /** Hearth's earlier order: `new AgentClient<MyState, MyMethods>(…)`. */
  new <State, Methods extends object>(options: AgentClientOptions<State>): AgentClient<State, Methods>;
  readonly prototype: AgentClient;
}

/**
 * A reconnecting WebSocket to one agent instance, speaking the agent
 * protocol: RPC calls (`call`, `stub`), state sync (`setState`,
 * `onStateUpdate`), the identity handshake (`ready`, `identified`,
 * `onIdentity`, `onIdentityChange`) and terminal closes (`connectionError`,
 * `onConnectionError`). It is a `PartySocket`, so `send`, `close`,
 * `reconnect` and `message` listeners work as usual; every frame, handled
 * or not, still reaches `message` listeners unchanged.
 *
 * Pass the agent class to type `stub` and `call`, as with the Agents SDK:
 * `new AgentClient<Counter, CounterState>(…)`. With `sub`, the client talks
 * to a sub-agent through its parents, and its type arguments name the
 * sub-agent's class: `new AgentClient<ChatThread>({ agent: "Inbox", name,
 * sub: [{ agent: "ChatThread", name: "t1" }] })`.
 *
 * @example
 * ```ts
 * import type { Counter } from "./server";
 * const client = new AgentClient<Counter>({
 *   host: "127.0.0.1:8787",
 *   agent: "Counter",
 *   name: "room-1",
 *   onStateUpdate: (state) => console.log(state.count),
 * });
 * await client.ready;
 * await client.call("increment", [2]);
 * const next: number = await client.stub.increment(2);
 * client.close();
 * ```
 */
export const AgentClient = AgentClientSocket as unknown as AgentClientConstructor;
