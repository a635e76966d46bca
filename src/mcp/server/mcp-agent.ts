import {
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
  type McpServer,
  type Server,
} from "@modelcontextprotocol/server";
import { Agent, HANDLE } from "../../agent/agent.ts";
import { AGENT_RUNTIME } from "../../agent/agent-base.ts";
import type { SocketRecord } from "../../agent/connection.ts";
import { SqlEventStore } from "./event-store.ts";
import { mcpContextOf, type McpRequestContext } from "./request-context.ts";
import { createMcpHandler, type McpHandler, type McpServeOptions } from "./serve.ts";
import { SessionStore, type StoredSession } from "./session-store.ts";
import { jsonRpcError, sessionNotFound } from "./responses.ts";
import { SseServerTransport } from "./sse-transport.ts";

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
  /** The MCP server of this session; `McpServer` (or the SDK's low-level `Server`). */
  abstract server: McpServer | Server;
  /** The identity verified at the endpoint (see `serve({ auth })`); kept with the session. */
  props: Props | undefined;
  #sessionStore: SessionStore | undefined;
  #started: Promise<void> | undefined;
  #openStreams = 0;
  #unloaded = false;
  #streamable: Promise<WebStandardStreamableHTTPServerTransport> | undefined;
  #sse: SseServerTransport | undefined;

  /** Registers tools, resources and prompts; runs once each time the session's agent wakes. */
  abstract init(): void | Promise<void>;

  /**
   * Scheduled when a session opens: removes the session and its storage once it has been idle for its
   * time-to-live (`serve({ sessionTtl })`), else checks again when it next could be.
   */
  async expireIdleMcpSession(): Promise<void> {
    const session = this.#sessions.read();
    if (session === undefined) return;
    const idleUntil = session.lastSeen + session.ttlMs;
    // A stream still open (a listening client, the legacy SSE session itself) is use, not idleness.
    const now = this.#now();
    if (now < idleUntil || this.#openStreams > 0) {
      await this.schedule(new Date(Math.max(idleUntil, now + session.ttlMs / 10)), "expireIdleMcpSession");
      return;
    }
    await this.destroy();
  }

  /** The MCP session id this instance serves. */
  getSessionId(): string {
    return this.name.slice(this.name.indexOf(":") + 1);
  }

  /**
   * A fetch handler serving this class over Streamable HTTP at `path` (default "/mcp").
   * @example
   * export default MyMcp.serve("/mcp");
   */
  static serve(this: McpAgentClass, path = "/mcp", options?: McpServeOptions): McpHandler {
    return createMcpHandler(this, "streamable-http", path, options);
  }

  /**
   * A fetch handler for the legacy HTTP+SSE transport: GET `path` opens the stream, the client POSTs
   * to `path/message?sessionId=…`.
   * @example
   * const sse = MyMcp.serveSSE("/sse");
   */
  static serveSSE(this: McpAgentClass, path = "/sse", options?: McpServeOptions): McpHandler {
    return createMcpHandler(this, "sse", path, options);
  }

  /** Older name of {@link McpAgent.serveSSE}. */
  static mount(this: McpAgentClass, path = "/sse", options?: McpServeOptions): McpHandler {
    return McpAgent.serveSSE.call(this, path, options);
  }

  override async [HANDLE.request](request: Request): Promise<Response> {
    const context = mcpContextOf(request);
    if (context === undefined) return super[HANDLE.request](request);
    try {
      return await this.#handle(request, context);
    } catch (error) {
      this.onError(error);
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
    super[HANDLE.unload]();
  }

  /** The clock schedules run on (virtual in tests), so activity and expiry share one time base. */
  #now(): number {
    return this[AGENT_RUNTIME].clock.now();
  }

  get #sessions(): SessionStore {
    this.#sessionStore ??= new SessionStore((strings, ...values) => this.sql(strings, ...values), () => this.#now());
    return this.#sessionStore;
  }

  async #handle(request: Request, context: McpRequestContext): Promise<Response> {
    if (context.transport === "sse") return this.#handleSse(request, context);
    const stored = this.#sessions.read();
    // A leaked session id is useless to anyone else: it answers only to the identity that opened it.
    if (stored?.owner !== undefined && context.owner !== stored.owner) return sessionNotFound();
    this.#adoptProps(context, stored);
    this.#sessions.touch(this.#now());

    const isNew = stored === undefined;
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
    await this.server.connect(transport);
    try {
      if (stored) {
        // A new instance takes over a live session: replay the client's handshake into the fresh
        // transport (unrecorded), so the server knows the session, its version and capabilities.
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
      const transport = new SseServerTransport(context.sessionId, context.messagePath ?? "/sse/message");
      this.#sse = transport;
      this.#adoptProps(context, undefined);
      this.#sessions.create({ id: context.sessionId, transport: "sse", initialize: null, props: this.props, owner: context.owner, ttlMs: context.sessionTtlMs });
      this.#armExpiry(context.sessionTtlMs);
      await this.server.connect(transport);
      // The session is the stream: when it ends, the session and its storage are gone.
      return this.#holdWhileStreaming(transport.response(), () => {
        void transport.close();
        if (!this.#unloaded) this.#destroySoon();
      });
    }
    const stored = this.#sessions.read();
    if (this.#sse === undefined || this.#sse.closed || stored?.owner !== context.owner) return sessionNotFound();
    this.#adoptProps(context, stored);
    return this.#sse.handlePost(context.parsedBody, context.authInfo, request);
  }

  #armExpiry(ttlMs: number): void {
    // One pending check at a time; it re-arms itself while the session is in use.
    void this.schedule(new Date(this.#now() + ttlMs), "expireIdleMcpSession").catch((error: unknown) => this.onError(error));
  }

  /** After the current response has left: the session's storage goes, schedules included. */
  #destroySoon(): void {
    setTimeout(() => {
      if (!this.#unloaded) void this.destroy().catch((error: unknown) => this.onError(error));
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
    const reader = response.body.getReader();
    let done = false;
    this.#openStreams++;
    const finish = () => {
      if (done) return;
      done = true;
      this.#openStreams--;
      release();
      ended?.();
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const chunk = await reader.read();
          if (chunk.done) {
            controller.close();
            finish();
          } else controller.enqueue(chunk.value);
        } catch (error) {
          controller.error(error);
          finish();
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }
}

function hasInitialize(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((message) => isInitializeRequest(message));
}

function initializeOf(body: unknown): unknown {
  const message: unknown = (Array.isArray(body) ? body : [body]).find((item) => isInitializeRequest(item));
  if (message === undefined) throw new Error("No initialize request in the body that opened this session");
  return message;
}

async function replayHandshake(transport: WebStandardStreamableHTTPServerTransport, stored: StoredSession): Promise<void> {
  const post = (body: unknown, sessionId?: string) =>
    transport.handleRequest(
      new Request("http://session.internal/mcp", {
        method: "POST",
        headers: {
          accept: "application/json, text/event-stream",
          "content-type": "application/json",
          ...(sessionId ? { "mcp-session-id": sessionId } : {}),
        },
      }),
      { parsedBody: body },
    );
  const initialized = await post(stored.initialize);
  await initialized.text();
  if (!initialized.ok) throw new Error(`Could not restore MCP session ${stored.id}: initialize answered ${initialized.status}`);
  await (await post({ jsonrpc: "2.0", method: "notifications/initialized" }, stored.id)).text();
}
