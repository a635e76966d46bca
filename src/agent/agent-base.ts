import { runUnloadHooks } from "./unload-hooks.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { frames, parseIncoming } from "../protocol/frames.ts";
import { runTemplate, type SqlValue } from "../storage/sql.ts";
import { callableMethods, type CallableOptions } from "./callable.ts";
import { featureFrameHandler } from "./frame-handlers.ts";
import { Connection, type SocketRecord } from "./connection.ts";
import { instrumentActorEvent, markErrorLogged } from "./instrumentation.ts";
import { pathnameOf } from "../web/url-path.ts";
import { currentScope, runInAgentScope, type AgentCaller } from "./context.ts";
import { optionsOf, type ResolvedAgentOptions } from "./options.ts";
import { retryWithBackoff, type RetryCallOptions } from "./retry.ts";
import { abandonStreams, handleRpc, messageOf } from "./rpc.ts";
import { RUNTIME, type AgentContext, type AgentContextWithRuntime, type AgentRuntime } from "./runtime.ts";
import { AGENT_OPTIONS, AGENT_RUNTIME, HANDLE, MCP_STATE, REPORT_ERROR } from "./handles.ts";
import { StateStore } from "./state-store.ts";
import { refuseAsyncValidator } from "./sync-validator.ts";
import { emitAgentEvent, genericObservability, type Observability } from "../events/index.ts";

/** Passed to connection hooks: the HTTP request that opened the WebSocket. */
export interface ConnectionContext {
  readonly request: Request;
}

/** Who changed the state: a client connection, or the agent itself. */
export type StateSource = Connection | "server";

export { AGENT_OPTIONS, AGENT_RUNTIME, HANDLE, MCP_STATE, REPORT_ERROR } from "./handles.ts";

const MAX_TAGS = 10;
const MAX_TAG_LENGTH = 256;

/**
 * The actor core of {@link Agent}: state, SQL, connections, lifecycle hooks and RPC. Extend `Agent`,
 * which adds durable time and workflows on top.
 */
export class AgentBase<Env = unknown, State = unknown> {
  /** State used until the first setState. */
  initialState?: State;
  /** Where this agent's `agents:*` events go (as in the Agents SDK); `undefined` emits none. */
  observability?: Observability = genericObservability;
  readonly ctx: AgentContext;
  readonly env: Env;
  readonly #runtime: AgentRuntime;
  readonly #state: StateStore;
  readonly #options: ResolvedAgentOptions;
  readonly #connections = new WeakMap<SocketRecord, Connection>();
  readonly #output = (send: () => void) => this.#runtime.db.output(send);
  /** `initialState` is being checked by `validateStateChange` (see {@link state}). */
  #seeding = false;

  constructor(ctx: AgentContext, env: Env) {
    const runtime = (ctx as Partial<AgentContextWithRuntime>)[RUNTIME];
    if (!runtime) {
      throw new TypeError("Agents are created by the Hearth host; use getAgentByName(env.MyAgent, name) to reach one");
    }
    this.ctx = ctx;
    this.env = env;
    this.#runtime = runtime;
    this.#state = new StateStore(runtime.db);
    this.#options = optionsOf(new.target);
  }

  /** The instance name this agent was addressed by. */
  get name(): string {
    return this.#runtime.name;
  }

  /**
   * Current state, read lazily from the agent's database. The first read of an agent that has none
   * stores `initialState` as a server change, as the Agents SDK does: `validateStateChange` sees it,
   * connected clients get it, and `onStateChanged(initialState, "server")` runs.
   */
  get state(): State {
    const stored = this.#state.read();
    if (stored) return stored.value as State;
    if (this.initialState === undefined) return undefined as State;
    // A validator that reads `this.state` while the seed is checked sees the seed, not a second seeding.
    if (this.#seeding) return this.initialState;
    this.#seeding = true;
    try {
      this.#validate(this.initialState, "server");
    } finally {
      this.#seeding = false;
    }
    this.#commitState(this.initialState, "server");
    return this.#state.read()!.value as State;
  }


  /**
   * Persists the whole state and broadcasts it to every protocol connection. Refused with "Connection
   * is readonly" while the running event came from a read-only connection (say, a callable it
   * called), so read-only clients cannot change state through methods either.
   */
  setState(state: State): void {
    const scope = currentScope();
    if (scope?.agent === this && scope.connection?.readonly) throw new Error("Connection is readonly");
    this.#validate(state, "server");
    this.#commitState(state, "server");
  }

  /** Runs validateStateChange, which must decide synchronously (see refuseAsyncValidator). */
  #validate(state: State, source: StateSource): void {
    refuseAsyncValidator(this.validateStateChange(state, source), this.#runtime.className);
  }

  /**
   * Throw to reject a state change (from a client or from the server). Synchronous: one that returns
   * a promise has the change refused with a TypeError.
   */
  validateStateChange(_nextState: State, _source: StateSource): void {}

  /** Runs after a state change was stored and broadcast. */
  onStateChanged(_state: State | undefined, _source: StateSource): void | Promise<void> {}

  /** @deprecated Older name of {@link onStateChanged}; still called when onStateChanged is not overridden. */
  onStateUpdate(_state: State | undefined, _source: StateSource): void | Promise<void> {}

  /**
   * Synchronous, parameterised SQL over the agent's own database. BLOBs come back as ArrayBuffers,
   * as on Cloudflare (`new Float32Array(row.embedding)` views the stored bytes).
   * @example
   * const rows = this.sql<{ content: string }>`SELECT content FROM turns WHERE at > ${since}`;
   */
  sql<T = Record<string, string | number | bigint | null | ArrayBuffer>>(
    strings: TemplateStringsArray,
    ...values: SqlValue[]
  ): T[] {
    return runTemplate<T>(this.#runtime.db, strings, values);
  }

  /** Called once each time the agent is created or woken, before any other event. */
  onStart(_props?: Record<string, unknown>): void | Promise<void> {}

  /** Handles plain HTTP requests to `/agents/<class>/<name>/…`. */
  onRequest(request: Request): Response | Promise<Response> {
    return new Response(`${this.#runtime.className} does not handle HTTP requests (no onRequest): ${request.method} ${pathnameOf(request.url)}`, {
      status: 404,
    });
  }

  onConnect(_connection: Connection, _ctx: ConnectionContext): void | Promise<void> {}

  /** Receives every message that is not a protocol frame (rpc, cf_agent_state). */
  onMessage(_connection: Connection, _message: string | ArrayBuffer): void | Promise<void> {}

  onClose(_connection: Connection, _code: number, _reason: string, _wasClean: boolean): void | Promise<void> {}

  /** Called with errors from handlers. The default logs them. */
  onError(connectionOrError: Connection | unknown, error?: unknown): void | Promise<void> {
    const cause = connectionOrError instanceof Connection ? error : connectionOrError;
    // In a request, the line names it too, and is the request's only one: the gateway does not log the error again.
    const request = currentScope()?.request;
    console.error(`[hearth] ${this.#runtime.className}/${this.name}${request ? ` (${request.method} ${pathnameOf(request.url)})` : ""}:`, cause);
    markErrorLogged(cause);
  }

  /** Extra tags for a new connection (the id is always the first tag). */
  getConnectionTags(_connection: Connection, _ctx: ConnectionContext): string[] | Promise<string[]> {
    return [];
  }

  shouldConnectionBeReadonly(_connection: Connection, _ctx: ConnectionContext): boolean {
    return false;
  }

  /** Return false for a raw socket that gets no identity/state frames. */
  shouldSendProtocolMessages(_connection: Connection, _ctx: ConnectionContext): boolean {
    return true;
  }

  setConnectionReadonly(connection: Connection, readonly = true): void {
    connection.record.readonly = readonly;
  }

  isConnectionReadonly(connection: Connection): boolean {
    return connection.record.readonly;
  }

  /** False for a raw connection (shouldSendProtocolMessages returned false): it gets no protocol frames. */
  isConnectionProtocolEnabled(connection: Connection): boolean {
    return connection.record.protocol;
  }

  /**
   * The methods clients may call over RPC, with their options (description, streaming, input schema).
   * @example
   * for (const [name, { description }] of this.getCallableMethods()) console.log(name, description);
   */
  getCallableMethods(): Map<string, CallableOptions> {
    return callableMethods(this);
  }

  /**
   * Runs `fn(attempt)` until it succeeds, up to `maxAttempts` attempts with jittered exponential backoff
   * between them; throws the last error. Unset options come from the class's `static options.retry`
   * (default 3 attempts, 100 ms doubling, at most 3 s apart). `shouldRetry(error, nextAttempt)`
   * returning false stops at once.
   * @example
   * const page = await this.retry(() => fetchJson(url), { maxAttempts: 5, shouldRetry: (e) => !(e instanceof AuthError) });
   */
  async retry<T>(fn: (attempt: number) => T | Promise<T>, options?: RetryCallOptions): Promise<T> {
    return retryWithBackoff(fn, options, this.#options.retry, this.#runtime.clock);
  }

  /**
   * Open connections, optionally only those carrying `tag`. A socket whose connect has not started
   * yet (the agent's `onStart` runs first) is not among them.
   */
  *getConnections<TState = unknown>(tag?: string): IterableIterator<Connection<TState>> {
    for (const record of this.#accepted()) {
      if (tag === undefined || record.tags.includes(tag)) yield this.#connection(record) as Connection<TState>;
    }
  }

  getConnection<TState = unknown>(id: string): Connection<TState> | undefined {
    const record = this.#runtime.socket(id);
    return record && record.accepting !== true ? (this.#connection(record) as Connection<TState>) : undefined;
  }

  /** Sends `message` to every open connection except those whose id is in `without`. */
  broadcast(message: string | ArrayBuffer | ArrayBufferView, without?: readonly string[]): void {
    for (const record of this.#accepted()) {
      if (!without?.includes(record.id)) this.#connection(record).send(message);
    }
  }

  /** The agent's sockets less those still waiting for their connect (see `SocketRecord.accepting`). */
  *#accepted(): IterableIterator<SocketRecord> {
    for (const record of this.#runtime.sockets()) if (record.accepting !== true) yield record;
  }

  /**
   * Keeps the agent in memory (not hibernated) until the returned function is called. Calls are
   * counted; the function also works with `using`.
   * @example
   * const release = await this.keepAlive();
   * try { await longJob(); } finally { release(); }
   */
  async keepAlive(): Promise<(() => void) & Disposable> {
    const release = this.#runtime.keepAlive();
    return Object.assign(release, { [Symbol.dispose]: release });
  }

  /** Runs `fn` while holding the agent in memory. */
  async keepAliveWhile<T>(fn: () => Promise<T>): Promise<T> {
    const release = this.#runtime.keepAlive();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Deletes the agent's database and closes its connections. The next request starts afresh. */
  async destroy(): Promise<void> {
    await this.#runtime.destroy();
    emitAgentEvent(this, "destroy");
  }

  #connection(record: SocketRecord): Connection {
    let connection = this.#connections.get(record);
    if (!connection) {
      connection = new Connection(record, this.#output, this.#runtime.name);
      this.#connections.set(record, connection);
    }
    return connection;
  }

  #commitState(state: State, source: StateSource): void {
    const json = this.#state.write(state);
    const except = source === "server" ? undefined : source.id;
    let frame: string | undefined;
    for (const record of this.#runtime.sockets()) {
      if (!record.protocol || !record.connected || record.id === except) continue;
      frame ??= json === undefined ? frames.state(undefined) : `{"type":"cf_agent_state","state":${json}}`;
      this.#connection(record).send(frame);
    }
    emitAgentEvent(this, "state:update");
    const hook = this.onStateChanged !== AgentBase.prototype.onStateChanged ? this.onStateChanged : this.onStateUpdate;
    try {
      const pending = hook.call(this, this.#state.read()?.value as State | undefined, source);
      if (pending instanceof Promise) pending.catch((error: unknown) => this.#reportError(error));
    } catch (error) {
      this.#reportError(error);
    }
  }

  /**
   * Errors of the agent's own handlers (onConnect, onMessage, a callable, a refused state) reach
   * `onError(error)`, one argument, as Cloudflare's Agent calls it for them: an override written
   * `onError(error)` gets the error, not the connection. The two-argument form is the socket's.
   */
  #reportError(error: unknown): void {
    try {
      const pending = this.onError(error);
      if (pending instanceof Promise) pending.catch((e: unknown) => console.error(`[hearth] ${this.#runtime.className}/${this.name}: onError failed:`, e));
    } catch (e) {
      console.error(`[hearth] ${this.#runtime.className}/${this.name}: onError failed:`, e);
    }
  }

  /** Dropped in-memory copies after a rollback. */
  [HANDLE.invalidate](): void {
    this.#state.invalidate();
  }

  /** @internal The runtime, for the layers of the agent built on this base. */
  get [AGENT_RUNTIME](): AgentRuntime {
    return this.#runtime;
  }

  /** @internal Sends an error to onError (and the log, if onError itself fails). */
  [REPORT_ERROR](error: unknown): void {
    this.#reportError(error);
  }

  /** @internal The content of the `cf_agent_mcp_servers` frame sent on connect (Agent has servers to report). */
  [MCP_STATE](): unknown {
    return undefined;
  }

  /**
   * @internal `ctx.storage.deleteAll()` is wiping the agent's storage, inside its transaction: the
   * layers forget what they keep of it in Hearth's own tables (the child facets are deleted by the host).
   */
  [HANDLE.wiped](): void {}

  /** @internal The agent leaves memory (hibernation, destroy, host shutdown): release what it holds. */
  [HANDLE.unload](): void {
    runUnloadHooks(this);
  }

  /** @internal The class's resolved `static options`. */
  get [AGENT_OPTIONS](): ResolvedAgentOptions {
    return this.#options;
  }

  /** @internal Runs `fn` as an event of this agent (getCurrentAgent() sees it): host-driven work such as schedules. */
  [HANDLE.scoped]<T>(fn: () => T): T {
    return this.#scope(fn);
  }

  #scope<T>(fn: () => T, extra?: { connection?: Connection; request?: Request; caller?: AgentCaller }): T {
    return runInAgentScope({ agent: this, runtime: this.#runtime, className: this.#runtime.className, name: this.#runtime.name, ...extra }, fn);
  }

  async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    await this.#scope(() => this.onStart(props));
  }

  async [HANDLE.request](request: Request): Promise<Response> {
    try {
      const response: unknown = await this.#scope(() => instrumentActorEvent(this.#runtime.className, this.#runtime.name, "onRequest", undefined, () => this.onRequest(request)), { request });
      if (!(response instanceof Response)) {
        throw new TypeError(`${this.#runtime.className}.onRequest must return a Response, got ${typeof response}`);
      }
      return response;
    } catch (error) {
      this.#reportError(error);
      throw error;
    }
  }

  async [HANDLE.connect](record: SocketRecord, request: Request): Promise<void> {
    const connection = this.#connection(record);
    // A reconnect with the same id replaced a socket the agent is not told closed: its streams end here.
    abandonStreams(this, connection.id);
    return this.#scope(() => this.#connect(connection, record, request), { connection, request });
  }

  async #connect(connection: Connection, record: SocketRecord, request: Request): Promise<void> {
    const ctx: ConnectionContext = { request };
    const extra = await this.getConnectionTags(connection, ctx);
    record.tags = normalizeTags(record.id, extra);
    record.accepting = false; // accepted: among the agent's connections from here on
    record.readonly = this.shouldConnectionBeReadonly(connection, ctx);
    record.protocol = this.shouldSendProtocolMessages(connection, ctx);
    if (record.protocol) {
      // The frames share the connect event's fate: a failing onConnect sends none of them (the client
      // sees the close, not a greeting), whether or not reading the state needed a statement.
      this.#runtime.db.joinTransaction();
      const state = this.state;
      if (this.#options.sendIdentityOnConnect) connection.send(frames.identity(this.name, camelCaseToKebabCase(this.#runtime.className), state !== undefined));
      if (state !== undefined) {
        const json = this.#state.read()?.json;
        connection.send(json === undefined ? frames.state(state) : `{"type":"cf_agent_state","state":${json}}`);
      }
      connection.send(frames.mcpServers(this[MCP_STATE]()));
    }
    record.connected = true;
    emitAgentEvent(this, "connect", () => ({ connectionId: connection.id }));
    try {
      await this.onConnect(connection, ctx);
    } catch (error) {
      this.#reportError(error);
      throw error;
    }
  }

  async [HANDLE.message](record: SocketRecord, message: string | ArrayBuffer): Promise<void> {
    const connection = this.#connection(record);
    return this.#scope(() => this.#message(connection, message), { connection });
  }

  async #message(connection: Connection, message: string | ArrayBuffer): Promise<void> {
    if (typeof message === "string") {
      const incoming = parseIncoming(message);
      if (incoming.kind === "rpc") {
        const target = {
          className: this.#runtime.className,
          instance: this,
          keepAlive: () => this.#runtime.keepAlive(),
          rollback: () => this.#runtime.db.rollbackCurrent(),
        };
        await instrumentActorEvent(target.className, this.#runtime.name, "rpc", String(incoming.frame.method), () => handleRpc(target, connection, incoming.frame)).catch((error: unknown) => {
          this.#reportError(error);
          throw error;
        });
        return;
      }
      if (incoming.kind === "state") return this.#clientState(connection, incoming.frame.state as State);
      if (incoming.kind === "invalid") {
        // Not a protocol frame to the Agents SDK either: its onMessage gets it (below), as there; a
        // class without one would drop it silently there, here the sender learns what is missing.
        if (this.onMessage === AgentBase.prototype.onMessage) {
          connection.send(incoming.id === undefined ? frames.error(incoming.error) : frames.rpcError(incoming.id, incoming.error));
          return;
        }
      } else {
        const feature = featureFrameHandler(incoming.frame);
        if (feature) return instrumentActorEvent(this.#runtime.className, this.#runtime.name, "onMessage", String(incoming.frame!.type), () => feature(this, connection, incoming.frame!));
      }
    }
    if (this.onMessage === AgentBase.prototype.onMessage) {
      connection.send(
        frames.error(`${this.#runtime.className} has no onMessage handler and this is not a protocol frame (rpc or cf_agent_state)`),
      );
      return;
    }
    try {
      await instrumentActorEvent(this.#runtime.className, this.#runtime.name, "onMessage", undefined, () => this.onMessage(connection, message));
    } catch (error) {
      this.#reportError(error);
      throw error;
    }
  }

  async [HANDLE.close](record: SocketRecord, code: number, reason: string, wasClean: boolean): Promise<void> {
    const connection = this.#connection(record);
    abandonStreams(this, connection.id);
    emitAgentEvent(this, "disconnect", () => ({ connectionId: connection.id, code, reason }));
    await this.#scope(() => this.onClose(connection, code, reason, wasClean), { connection });
  }

  /** A WebSocket error on a connection (the client broke the protocol): `onError(connection, error)`, as the SDK calls it. */
  async [HANDLE.socketError](record: SocketRecord, error: unknown): Promise<void> {
    const connection = this.#connection(record);
    await this.#scope(() => this.onError(connection, error), { connection });
  }

  async [HANDLE.invoke](method: string, args: unknown[], caller?: AgentCaller): Promise<unknown> {
    const fn = (this as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function" || method === "constructor") {
      throw new TypeError(`${this.#runtime.className} has no method "${method}"`);
    }
    return await this.#scope(() => instrumentActorEvent(this.#runtime.className, this.#runtime.name, "rpc", method, () => fn.apply(this, args)), { caller });
  }

  #clientState(connection: Connection, state: State): void {
    if (connection.readonly) {
      connection.send(frames.stateError("Connection is readonly"));
      return;
    }
    // Storing can fail too (JSON that cannot be written back, the size limit): the client hears of it either way.
    try {
      this.#validate(state, connection);
      this.#commitState(state, connection);
    } catch (error) {
      connection.send(frames.stateError("State update rejected"));
      this.#reportError(new Error(`State update rejected: ${messageOf(error)}`, { cause: error }));
    }
  }
}

function normalizeTags(id: string, extra: unknown): string[] {
  if (!Array.isArray(extra)) throw new TypeError("getConnectionTags must return an array of strings");
  const tags = [id];
  for (const tag of extra) {
    if (typeof tag !== "string" || tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
      throw new TypeError(`Connection tags must be non-empty strings of at most ${MAX_TAG_LENGTH} characters`);
    }
    if (!tags.includes(tag)) tags.push(tag);
  }
  if (tags.length > MAX_TAGS) throw new RangeError(`A connection can have at most ${MAX_TAGS} tags (the id included)`);
  return tags;
}
