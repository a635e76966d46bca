import {
  WebStandardStreamableHTTPServerTransport,
  type ElicitRequestFormParams,
  type ElicitRequestURLParams,
  type ElicitResult,
  type JSONRPCMessage,
  type RequestId,
} from "@modelcontextprotocol/server";
import { Agent, HANDLE } from "../../platform/agent.ts";
import { AGENT_RUNTIME } from "../../agent/agent-base.ts";
import type { SocketRecord } from "../../agent/connection.ts";
import { RPC_AGENT_PREFIX } from "../rpc/client-transport.ts";
import { RpcServerTransport, type McpRpcReply, type RpcServerTransportOptions } from "../rpc/server-transport.ts";
import { SqlEventStore } from "./event-store.ts";
import { hasInitialize, initializeIn, initializeOf, replayHandshake, replayRpcHandshake } from "./handshake.ts";
import { mcpContextOf, type McpRequestContext } from "./request-context.ts";
import { currentMcpRequestId, extendRequestContext, trackCurrentRequest } from "./request-extra.ts";
import { createAgentMcpEndpoint, type McpHandler, type McpServeOptions } from "./serve.ts";
import { mcpSessionEnded } from "./session-limit.ts";
import { SessionStore, type StoredSession } from "./session-store.ts";
import { jsonRpcError, sessionNotFound } from "./responses.ts";
import { assertMcpServer, isSdkV1Server, lowLevelServerOf, type AnyMcpServer } from "./server-generation.ts";
import { SseServerTransport } from "./sse-transport.ts";
import { reportMcpError } from "./report-error.ts";
import { watchBody } from "./streaming.ts";

/**
 * How often a legacy SSE session checks that its stream is still open. The session is its stream: one
 * whose stream a restart ended can never be used again, and is removed at its next check.
 */
export const MCP_SSE_SESSION_CHECK_MS = 10 * 60_000;

/** Any McpAgent subclass, as `serve()` receives it. */
type McpAgentClass = abstract new (...args: never[]) => McpAgent<unknown, unknown, Record<string, unknown>>;

/**
 * An agent that is an MCP server. Each MCP session gets its own instance — with its own state, SQL,
 * schedules — created at `initialize` and addressed by the session id afterwards, so per-session data
 * survives hibernation and restarts. Register tools, resources and prompts in `init()` with the
 * official SDK's `McpServer`.
 * @example
 * export class Notes extends McpAgent<Env, { count: number }> {
 *   server = new McpServer({ name: "notes", version: "1.0.0" });
 *   initialState = { count: 0 };
 *   async init() {
 *     this.server.registerTool("add_note", { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => {
 *       this.sql`INSERT INTO notes (text) VALUES (${text})`;
 *       this.setState({ count: this.state.count + 1 });
 *       return { content: [{ type: "text", text: `${this.state.count} notes` }] };
 *     });
 *   }
 * }
 * export default Notes.serve("/mcp");
 */
export abstract class McpAgent<
  Env = unknown,
  State = unknown,
  Props extends Record<string, unknown> = Record<string, unknown>,
> extends Agent<Env, State> {
  /**
   * The MCP server of this session: `McpServer` (or the SDK's low-level `Server`) from `hearth/mcp`,
   * or from `@modelcontextprotocol/sdk` v1.x as Cloudflare's examples build it.
   */
  abstract server: AnyMcpServer;
  /** The caller's identity: the worker's `ctx.props`, the verified token, or the RPC client's props; kept with the session. */
  props: Props | undefined;
  #sessionStore: SessionStore | undefined;
  #started: Promise<void> | undefined;
  #openStreams = 0;
  #unloaded = false;
  /** Ended (DELETE, or an initialize the SDK refused) and about to be destroyed: its session answers 404. */
  #ended = false;
  #streamable: Promise<WebStandardStreamableHTTPServerTransport> | undefined;
  #sse: SseServerTransport | undefined;
  #rpc: Promise<RpcServerTransport> | undefined;
  #rpcHold: (() => void) | undefined;

  /** Registers tools, resources and prompts; runs once each time the session's agent wakes. */
  abstract init(): void | Promise<void>;

  /**
   * Scheduled when a session opens: removes the session and its storage once it has been idle for its
   * time-to-live (`serve({ sessionTtl })`), else checks again when it next could be. A legacy SSE
   * session goes as soon as its stream is found gone (a restart ended it).
   */
  async expireIdleMcpSession(): Promise<void> {
    const session = this.#sessions.read();
    if (session === undefined || session.ttlMs === 0) return;
    if (session.transport === "sse") {
      if (this.#openStreams === 0) await this.destroy();
      else await this.schedule(new Date(this.#now() + sseCheckDelay(session.ttlMs)), "expireIdleMcpSession");
      return;
    }
    const idleUntil = session.lastSeen + session.ttlMs;
    // A stream still open (a client listening for server messages) is use, not idleness.
    const now = this.#now();
    if (now < idleUntil || this.#openStreams > 0) {
      await this.schedule(new Date(Math.max(idleUntil, now + session.ttlMs / 10)), "expireIdleMcpSession");
      return;
    }
    await this.destroy();
  }

  /** Removes the session with its storage; the endpoint that counted it (`maxSessions`) frees its place. */
  override async destroy(): Promise<void> {
    try {
      await super.destroy();
    } finally {
      mcpSessionEnded(this.name);
    }
  }

  /** The MCP session id this instance serves (for an RPC server: `<name>:<session>`). */
  getSessionId(): string {
    return this.name.slice(this.name.indexOf(":") + 1);
  }

  /**
   * Stores `props` as this session's `this.props` (an RPC client passes its props this way).
   * @example
   * await env.MyMcp.getByName("rpc:docs:Assistant/alice").updateProps({ userId: "u1" });
   */
  async updateProps(props?: Props): Promise<void> {
    this.props = props;
    if (this.#sessions.read() !== undefined) this.#sessions.saveProps(props);
    else if (this.name.startsWith(RPC_AGENT_PREFIX)) this.#createRpcSession(null);
  }

  /**
   * Asks the client for input (MCP elicitation) and resolves with its answer. Called from a handler, the
   * question travels with the request being handled (its SSE stream, or the reply of an RPC call).
   * Rejects when the client does not support elicitation or does not answer within `timeout` (60 s).
   * @example
   * const answer = await this.elicitInput({
   *   message: "By how much?",
   *   requestedSchema: { type: "object", properties: { amount: { type: "number" } }, required: ["amount"] },
   * });
   * if (answer.action === "accept") this.setState({ total: this.state.total + Number(answer.content?.amount) });
   */
  async elicitInput(
    params: ElicitRequestFormParams | ElicitRequestURLParams,
    options?: { relatedRequestId?: RequestId; timeout?: number },
  ): Promise<ElicitResult> {
    assertMcpServer(this.server, this[AGENT_RUNTIME].className);
    const server = lowLevelServerOf(this.server);
    const relatedRequestId = options?.relatedRequestId ?? currentMcpRequestId();
    const release = await this.keepAlive();
    try {
      return await server.elicitInput(params, {
        ...(relatedRequestId !== undefined ? { relatedRequestId } : {}),
        ...(options?.timeout !== undefined ? { timeout: options.timeout } : {}),
      });
    } finally {
      release();
    }
  }

  /**
   * MCP over an agent binding: one JSON-RPC message (or batch) from an `RpcClientTransport`; resolves
   * with what the server sends back for it. Serves agents named `rpc:…` (`rpc:<name>:<session>`, one
   * per client session).
   * @example
   * const reply = await env.MyMcp.getByName("rpc:docs:Assistant/alice").handleMcpMessage({ jsonrpc: "2.0", id: 1, method: "ping" });
   */
  async handleMcpMessage(message: JSONRPCMessage | JSONRPCMessage[]): Promise<McpRpcReply> {
    if (!this.name.startsWith(RPC_AGENT_PREFIX)) {
      throw new TypeError(`handleMcpMessage serves MCP over RPC, to agents named "${RPC_AGENT_PREFIX}<name>"; ${this.name} is reached through its HTTP endpoint`);
    }
    const transport = await this.#openRpc();
    const initialize = initializeIn(message);
    if (initialize !== undefined) {
      if (this.#sessions.read() === undefined) this.#createRpcSession(initialize);
      else this.#sessions.saveInitialize(initialize);
    }
    return transport.handle(message);
  }

  /** Options of the RPC transport (override to change its timeout). */
  protected getRpcTransportOptions(): RpcServerTransportOptions {
    return {};
  }

  /**
   * A fetch handler serving this class at `path` (default "/mcp"): Streamable HTTP, or with
   * `{ transport: "sse" }` the legacy transport, or `"auto"` both on one path.
   * @example
   * export default MyMcp.serve("/mcp");
   */
  static serve(this: McpAgentClass, path = "/mcp", options?: McpServeOptions): McpHandler {
    return createAgentMcpEndpoint(this, options?.transport ?? "streamable-http", path, options);
  }

  /**
   * A fetch handler for the legacy HTTP+SSE transport: GET `path` opens the stream, the client POSTs
   * to `path/message?sessionId=…`.
   * @example
   * const sse = MyMcp.serveSSE("/sse");
   */
  static serveSSE(this: McpAgentClass, path = "/sse", options?: Omit<McpServeOptions, "transport">): McpHandler {
    return createAgentMcpEndpoint(this, "sse", path, options);
  }

  /** Older name of {@link McpAgent.serveSSE}. */
  static mount(this: McpAgentClass, path = "/sse", options?: Omit<McpServeOptions, "transport">): McpHandler {
    return McpAgent.serveSSE.call(this, path, options);
  }

  /** Woken for anything (a schedule, a callable, a request): the session's props are `this.props` before it runs. */
  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    this.props ??= this.#sessions.read()?.props as Props | undefined;
    await super[HANDLE.start](props);
  }

  override async [HANDLE.request](request: Request): Promise<Response> {
    const context = mcpContextOf(request);
    if (context === undefined) return super[HANDLE.request](request);
    try {
      return await this.#handle(request, context);
    } catch (error) {
      this.#reportError(error, request);
      // A session that failed to open (its `init()` threw) is nobody's: its agent and file go, so
      // failed attempts leave nothing behind.
      if (this.#failedToOpen(request, context)) this.#destroySoon();
      return jsonRpcError(500, -32603, "Internal error (logged by the server)");
    }
  }

  /**
   * A session's agent is reached through its MCP endpoint only (which checks tokens and owners), so
   * WebSockets from the agent router are refused: they would bypass both.
   */
  override async [HANDLE.connect](record: SocketRecord): Promise<void> {
    record.socket.close(1008, "MCP sessions are reached through their MCP endpoint");
  }

  override [HANDLE.unload](): void {
    this.#unloaded = true;
    void this.#sse?.close();
    void this.#streamable?.then((transport) => transport.close()).catch(() => {});
    void this.#rpc?.then((transport) => transport.close()).catch(() => {});
    super[HANDLE.unload]();
  }

  /** The clock schedules run on (virtual in tests), so activity and expiry share one time base. */
  #now(): number {
    return this[AGENT_RUNTIME].clock.now();
  }

  /** The request opened the session (a legacy SSE GET, which is the session, or a Streamable HTTP one with no session stored). */
  #failedToOpen(request: Request, context: McpRequestContext): boolean {
    if (context.transport === "sse") return request.method === "GET";
    try {
      return this.#sessions.read() === undefined;
    } catch {
      return false;
    }
  }

  get #sessions(): SessionStore {
    this.#sessionStore ??= new SessionStore((strings, ...values) => this.sql(strings, ...values), () => this.#now());
    return this.#sessionStore;
  }

  async #handle(request: Request, context: McpRequestContext): Promise<Response> {
    if (context.transport === "sse") return this.#handleSse(request, context);
    // Ended by DELETE and about to go: MCP answers an ended session's requests with 404.
    if (this.#ended) return sessionNotFound();
    const stored = this.#sessions.read();
    // A leaked session id is useless to anyone else: it answers only to the identity that opened it
    // (the token's subject, or the ctx.props it was opened with), and an anonymous one to no identity.
    if (stored !== undefined && context.owner !== stored.owner) return sessionNotFound();
    this.#adoptProps(context, stored);
    this.#sessions.touch(this.#now());

    const isNew = stored === undefined;
    if (request.headers.has("mcp-session-id") && hasInitialize(context.parsedBody)) {
      return isNew ? sessionNotFound() : jsonRpcError(400, -32600, "Invalid Request: this session is already initialized");
    }
    if (this.#streamable === undefined) {
      if (isNew && !hasInitialize(context.parsedBody)) return sessionNotFound();
      this.#streamable = this.#openStreamable(context, stored);
      this.#streamable.catch(() => (this.#streamable = undefined));
    }
    const transport = await this.#streamable;
    const response = await transport.handleRequest(request, {
      ...(context.parsedBody !== undefined ? { parsedBody: context.parsedBody } : {}),
      ...(context.authInfo ? { authInfo: context.authInfo } : {}),
    });
    // DELETE from the client, or an initialize the SDK refused: nobody can address this session.
    if ((request.method === "DELETE" && response.ok) || (isNew && this.#sessions.read() === undefined)) this.#destroySoon();
    // A session ended by DELETE answers 204 No Content, as on Cloudflare.
    if (request.method === "DELETE" && response.ok) return new Response(null, { status: 204, headers: response.headers });
    return await this.#holdWhileStreaming(response);
  }

  #adoptProps(context: McpRequestContext, stored: StoredSession | undefined): void {
    if (context.props !== undefined) {
      if (stored && JSON.stringify(stored.props) !== JSON.stringify(context.props)) this.#sessions.saveProps(context.props);
      this.props = context.props as Props;
    } else if (this.props === undefined && stored?.props !== undefined) {
      this.props = stored.props as Props;
    }
  }

  async #openStreamable(context: McpRequestContext, stored: StoredSession | undefined): Promise<WebStandardStreamableHTTPServerTransport> {
    await this.#start();
    const events = new SqlEventStore((strings, ...values) => this.sql(strings, ...values));
    let restoring = stored !== undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => context.sessionId,
      eventStore: events,
      // Clients that lose a stream reconnect (with Last-Event-ID) after this long.
      retryInterval: 1_000,
      keepAliveMs: context.keepAliveMs,
      onsessioninitialized: (id) => {
        if (restoring) return;
        this.#sessions.create({
          id,
          transport: "streamable-http",
          initialize: initializeOf(context.parsedBody),
          props: this.props,
          owner: context.owner,
          ttlMs: context.sessionTtlMs,
        });
        this.#armExpiry(context.sessionTtlMs);
      },
    });
    await this.#connect(transport);
    try {
      if (stored) {
        // Unrecorded: the replayed handshake is not part of the session's history.
        events.paused = true;
        await replayHandshake(transport, stored);
      }
    } catch (error) {
      await this.server.close().catch(() => {});
      throw error;
    } finally {
      events.paused = false;
      restoring = false;
    }
    return transport;
  }

  async #handleSse(request: Request, context: McpRequestContext): Promise<Response> {
    if (request.method === "GET") {
      await this.#start();
      const transport = new SseServerTransport(context.sessionId, context.messagePath ?? "/sse/message", context.sseBufferBytes);
      // Kept through connect (the SDK chains it): a stream ended for a client that stopped reading is logged.
      transport.onerror = (error) => this.#reportError(error);
      this.#sse = transport;
      this.#adoptProps(context, undefined);
      this.#sessions.create({ id: context.sessionId, transport: "sse", initialize: null, props: this.props, owner: context.owner, ttlMs: context.sessionTtlMs });
      this.#armExpiry(sseCheckDelay(context.sessionTtlMs));
      await this.#connect(transport);
      // The session is the stream: when it ends, the session and its storage are gone.
      return this.#holdWhileStreaming(transport.response(context.keepAliveMs), () => {
        void transport.close();
        if (!this.#unloaded) this.#destroySoon();
      });
    }
    const stored = this.#sessions.read();
    if (this.#sse === undefined || this.#sse.closed || stored?.owner !== context.owner) return sessionNotFound();
    this.#adoptProps(context, stored);
    return this.#sse.handlePost(context.parsedBody, context.authInfo, request);
  }

  #openRpc(): Promise<RpcServerTransport> {
    if (this.#rpc === undefined) {
      this.#rpc = (async () => {
        const stored = this.#sessions.read();
        if (this.props === undefined && stored?.props !== undefined) this.props = stored.props as Props;
        await this.#start();
        const transport = new RpcServerTransport({ clock: this[AGENT_RUNTIME].clock, ...this.getRpcTransportOptions() });
        // A handler waiting for the client (an elicitation) lives in memory: stay until it is done.
        transport.onpending = (count) => this.#holdForRpc(count > 0);
        transport.onerror = (error) => this.#reportError(error);
        await this.#connect(transport);
        if (stored?.initialize !== undefined && stored.initialize !== null) await replayRpcHandshake(transport, stored.initialize);
        return transport;
      })();
      this.#rpc.catch(() => (this.#rpc = undefined));
    }
    return this.#rpc;
  }

  #holdForRpc(hold: boolean): void {
    if (hold && this.#rpcHold === undefined) this.#rpcHold = this[AGENT_RUNTIME].keepAlive();
    else if (!hold && this.#rpcHold !== undefined) {
      const release = this.#rpcHold;
      this.#rpcHold = undefined;
      release();
    }
  }

  #createRpcSession(initialize: unknown): void {
    this.#sessions.create({ id: this.getSessionId(), transport: "rpc", initialize, props: this.props, owner: undefined, ttlMs: 0 });
  }

  /** Connects the server, with `extra.requestInfo` for its handlers and each request known to them. */
  async #connect(transport: WebStandardStreamableHTTPServerTransport | SseServerTransport | RpcServerTransport): Promise<void> {
    assertMcpServer(this.server, this[AGENT_RUNTIME].className);
    extendRequestContext(this.server);
    await this.server.connect(transport);
    trackCurrentRequest(transport, isSdkV1Server(this.server));
  }

  /** An error of the MCP layer: to `onError`, and to the log even when an override of it does not log. */
  #reportError(error: unknown, request?: Request): void {
    reportMcpError(this, error, request);
  }

  #armExpiry(delayMs: number): void {
    // One pending check at a time; it re-arms itself while the session is in use.
    void this.schedule(new Date(this.#now() + delayMs), "expireIdleMcpSession").catch((error: unknown) => this.#reportError(error));
  }

  /** After the current response has left: the session's storage goes, schedules included. */
  #destroySoon(): void {
    this.#ended = true;
    setTimeout(() => {
      if (!this.#unloaded) void this.destroy().catch((error: unknown) => this.#reportError(error));
    }, 0);
  }

  #start(): Promise<void> {
    if (this.#started === undefined) {
      this.#started = Promise.resolve(this.init());
      this.#started.catch(() => (this.#started = undefined));
    }
    return this.#started;
  }

  /** Keeps the agent in memory while a response streams (SSE); `ended` runs when it finishes. */
  async #holdWhileStreaming(response: Response, ended?: () => void): Promise<Response> {
    if (response.body === null) return response;
    const release = await this.keepAlive();
    this.#openStreams++;
    return watchBody(response, () => {
      this.#openStreams--;
      release();
      ended?.();
    });
  }
}

/** A legacy SSE session is checked for its stream this often (sooner when its time-to-live is shorter). */
function sseCheckDelay(ttlMs: number): number {
  return Math.min(ttlMs, MCP_SSE_SESSION_CHECK_MS);
}
