/**
 * One mounted server: its transport and SDK client, the connection state machine
 * (authenticating → connecting → connected → discovering → ready | failed), discovery of its
 * catalog, and bounded calls; reconnection with backoff is in `reconnect.ts`.
 */
import type { CallToolResult, Client, GetPromptResult, ReadResourceResult } from "@modelcontextprotocol/client";
import type { AgentNamespace } from "../../host/namespace.ts";
import { McpClientError, clip, messageOf } from "./errors.ts";
import { operationScope, type Operation } from "./fetch-guard.ts";
import { resolveLimits, type McpClientLimits } from "./limits.ts";
import { loadedModules } from "./modules.ts";
import { SqlOAuthProvider } from "./oauth-provider.ts";
import { callSpec, httpStatusOf, isProtocolViolation, runOperation, violationCause, violationText, type OperationSpec, type OperationTarget } from "./operation.ts";
import { discoverCatalog } from "./discovery.ts";
import { Reconnect } from "./reconnect.ts";
import { ClientCalls, notFoundError, notFoundMeaning } from "./session-renewal.ts";
import type { Catalog, McpStore, ServerRecord } from "./store.ts";
import { createTransport, rpcTransportOf, transportOrder, type HttpTransport, type McpTransport, type TransportKind } from "./transport.ts";
import type { McpCallOptions, McpConnectionResult, McpConnectionState, McpElicitationHandlers, McpServerInfo } from "./types.ts";
import { answerElicitation, clientCapabilities } from "./elicitation.ts";
import { waitAtMost } from "../../time/wait-at-most.ts";

/** What a connection needs from the agent that owns it. */
export interface ConnectionHost {
  readonly store: McpStore;
  /** Name and version sent in `initialize`. */
  readonly clientInfo: { name: string; version: string };
  /** The name the user sees on the authorization server's consent page. */
  readonly oauthClientName: string;
  /** The agent's OAuth callback URL for this server; throws when no public URL is known. */
  callbackUrl(serverId: string): string;
  /** State or catalog changed: clients get a new frame (and state listeners hear of `serverId`). */
  changed(serverId?: string): void;
  /** The `env` binding of an `rpc` server, or undefined when `env` has none by that key. */
  binding(key: string): AgentNamespace | undefined;
  /** This agent as the session key of its `rpc` servers (`<Class>/<name>`): a session of its own on each. */
  readonly rpcSession: string;
  /** Holds the agent in memory while a connection attempt runs. */
  keepAlive(): () => void;
  /** The agent left memory (hibernated, host closed): stop touching its database. */
  readonly gone: boolean;
  /** The handlers of `configureElicitationHandlers`, as they are now. */
  readonly elicitation: McpElicitationHandlers;
}

export class McpConnection implements OperationTarget {
  readonly record: ServerRecord;
  readonly limits: McpClientLimits;
  /** Reconnection with backoff after failures. */
  readonly #reconnect: Reconnect;
  readonly label: string;
  readonly operations = new Set<Operation>();
  state: McpConnectionState;
  error: string | null = null;
  authUrl: string | null;
  catalog: Catalog | undefined;
  readonly #host: ConnectionHost;
  readonly #provider: SqlOAuthProvider;
  #client: Client | undefined;
  #transport: McpTransport | undefined;
  /** Calls in flight per client: the client of a session the server forgot is closed after its last. */
  readonly #calls = new ClientCalls();
  /** The transport kind that opened the current client (discovery records it). */
  #kind: TransportKind | undefined;
  #attempt: Promise<void> | undefined;
  #generation = 0;
  #rediscoverTimer: NodeJS.Timeout | undefined;
  #redirected = false;
  /** An authorization URL was handed out and not yet used: later flows do not replace it. */
  #authPending: boolean;
  #closed = false;

  constructor(host: ConnectionHost, record: ServerRecord) {
    this.#host = host;
    this.record = record;
    this.limits = resolveLimits(record.limits);
    this.#reconnect = new Reconnect(record.options?.retry, () => void this.connect(false));
    this.label = `MCP server "${record.name}"`;
    this.catalog = record.catalog;
    this.authUrl = record.authUrl ?? null;
    this.state = this.authUrl ? "authenticating" : "connecting";
    this.#authPending = this.authUrl !== null;
    this.#provider = new SqlOAuthProvider({
      store: host.store,
      serverId: record.id,
      clientName: host.oauthClientName,
      callbackUrl: () => host.callbackUrl(record.id),
      acceptAuthorizationUrl: (url) => this.#authorizationNeeded(url),
    });
  }

  get serverId(): string {
    return this.record.id;
  }

  /** Its tools, prompts and resources are offered while it is usable or about to be. */
  get offered(): boolean {
    return this.catalog !== undefined && this.state !== "failed" && this.state !== "authenticating";
  }

  /** The attempt under way, if any. */
  get pending(): Promise<void> | undefined {
    return this.#attempt;
  }

  info(): McpServerInfo {
    return {
      name: this.record.name,
      server_url: this.record.url,
      auth_url: this.state === "authenticating" ? this.authUrl : null,
      state: this.state,
      error: this.error,
      capabilities: this.catalog?.capabilities ?? null,
      instructions: this.catalog?.instructions ?? null,
    };
  }

  /**
   * Connects and discovers, unless ready, already connecting, or waiting for the user to authorize.
   * Never rejects: the outcome is in `state` and `error`. With `retry`, failures are retried with
   * backoff from now on. Without `discover`, it stops at `connected` (see {@link discover}).
   */
  connect(retry: boolean, discover = true): Promise<void> {
    if (retry) this.#reconnect.enabled = true;
    if (this.#attempt || this.#closed || this.state === "ready" || (this.state === "authenticating" && this.authUrl)) {
      return this.#attempt ?? Promise.resolve();
    }
    if (this.state === "connected" && this.#client) return discover ? this.#track(this.#discovery()) : Promise.resolve();
    this.#reconnect.cancel();
    return this.#track(this.#run(discover));
  }

  /** Connects without discovering (`registerServer` + `connectToServer`), and says how it went. */
  async connectOnly(): Promise<McpConnectionResult> {
    await this.connect(false, false);
    if (this.state === "connected" || this.state === "ready") return { state: "connected" };
    if (this.state === "authenticating" && this.authUrl) return { state: "authenticating", authUrl: this.authUrl };
    return { state: "failed", error: this.error ?? `the connection ended in state ${this.state}` };
  }

  /**
   * Lists the tools, prompts and resources of a connected (or ready) server again: `discovering` →
   * `ready`, or back to `connected` with the reason in `error`. Waits for an attempt under way first.
   */
  async discover(): Promise<{ success: boolean; error?: string }> {
    if (this.#attempt) await this.#attempt;
    if (this.#closed || !this.#client || (this.state !== "connected" && this.state !== "ready")) {
      return { success: false, error: `${this.label} is not connected (${this.state}${this.error ? `: ${this.error}` : ""})` };
    }
    if (this.#attempt) await this.#attempt;
    else await this.#track(this.#discovery());
    return this.state === "ready" ? { success: true } : { success: false, error: this.error ?? `discovery ended in state ${this.state}` };
  }

  /** Exchanges the authorization code of the callback for tokens, then connects in the background. */
  async finishAuth(params: URLSearchParams): Promise<void> {
    const kind = transportOrder(this.record.transport, this.catalog?.transport)[0];
    if (kind === "rpc") throw new McpClientError("connection", `${this.label} is reached through its binding and has no OAuth`, { serverId: this.serverId });
    const transport = this.#makeTransport(kind);
    try {
      await runOperation(this, { what: "the authorization code exchange", timeoutMs: this.limits.connectTimeoutMs, limitName: "connectTimeoutMs" }, () =>
        transport.finishAuth(params),
      );
    } catch (error) {
      await this.authorizationFailed(`Authorization failed: ${messageOf(error)}`);
      throw error;
    }
    this.authUrl = null;
    this.#authPending = false;
    await this.#host.store.setAuthUrl(this.serverId, undefined);
    this.#set("connecting", null);
    void this.connect(true);
  }

  /** The user or the authorization server turned the request down. */
  async authorizationFailed(reason: string): Promise<void> {
    this.authUrl = null;
    this.#authPending = false;
    this.#set("failed", reason);
    await this.#host.store.setAuthUrl(this.serverId, undefined);
  }

  async callTool(name: string, args: Record<string, unknown>, options: McpCallOptions = {}): Promise<CallToolResult> {
    const spec = callSpec(`tools/call "${clip(name, 100)}"`, options, this.limits);
    const result = await this.#request(spec, (client, request) => {
      const tool = this.catalog?.tools.find((t) => t.name === name);
      return client.callTool({ name, arguments: args }, tool ? { ...request, toolDefinition: tool } : request);
    });
    return result as CallToolResult;
  }

  async readResource(uri: string, options: McpCallOptions = {}): Promise<ReadResourceResult> {
    return this.#request(callSpec(`resources/read "${clip(uri, 200)}"`, options, this.limits), (client, request) => client.readResource({ uri }, request));
  }

  async getPrompt(name: string, args: Record<string, string> | undefined, options: McpCallOptions = {}): Promise<GetPromptResult> {
    return this.#request(callSpec(`prompts/get "${clip(name, 100)}"`, options, this.limits), (client, request) =>
      client.getPrompt(args ? { name, arguments: args } : { name }, request),
    );
  }

  /**
   * One request on the open client. A 404 to a request that carried a session id means the server no
   * longer knows the session (it expired it, or restarted): as the protocol requires, a new session is
   * started and the request, which the server did not take, is sent once more on it.
   */
  async #request<T>(spec: OperationSpec, send: (client: Client, request: { signal: AbortSignal; timeout: number }) => Promise<T>): Promise<T> {
    const client = await this.#usable();
    const transport = this.#transport;
    try {
      return await this.#calls.run(client, () => runOperation(this, spec, (request) => send(client, request)));
    } catch (error) {
      const meaning = notFoundMeaning(error, transport);
      if (meaning === "not-found") throw notFoundError(this, this.record.url, spec.what, error);
      if (meaning === undefined || this.#closed || spec.signal?.aborted) throw error;
      const renewed = await this.#renewSession(client);
      return this.#calls.run(renewed, () => runOperation(this, spec, (request) => send(renewed, request)));
    }
  }

  /** A new session's client in place of `stale`'s: started by the first call to meet the 404, shared by the next ones; calls still on the old one finish there. */
  async #renewSession(stale: Client): Promise<Client> {
    if (stale === this.#client) {
      this.#client = undefined;
      this.#transport = undefined;
      this.#calls.retire(stale);
      this.#set("connecting");
      await this.connect(this.#reconnect.enabled, this.catalog !== undefined);
    }
    return this.#usable();
  }

  /**
   * Stops reconnecting, fails calls in flight and closes the transport; `terminate` also ends the
   * session on the server. An `rpc` server's session (this agent's own, with its state) outlives this
   * agent's hibernation: it ends only when the server is `removed`.
   */
  async close(terminate: boolean, removed = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#provider.close();
    this.#reconnect.cancel();
    clearTimeout(this.#rediscoverTimer);
    for (const operation of this.operations) operation.fail(new McpClientError("not-connected", `${this.label} was closed`, { serverId: this.serverId }));
    const client = this.#client;
    const transport = this.#transport;
    this.#client = undefined;
    this.#transport = undefined;
    const ending = terminate ? await this.#sessionToEnd(transport, removed) : undefined;
    if (ending?.terminateSession) {
      await waitAtMost(ending.terminateSession().catch(() => {}), 2_000);
    }
    await Promise.all([client?.close().catch(() => {}), this.#calls.closeRetired()]);
  }

  /** The transport whose session `close(true)` ends, if any. */
  async #sessionToEnd(transport: McpTransport | undefined, removed: boolean): Promise<McpTransport | undefined> {
    if (this.record.transport !== "rpc") return transport;
    if (!removed) return undefined;
    // Not connected, an rpc server still has its session: a transport (never started) ends it.
    return transport ?? rpcTransportOf(this.record, this.#host, this.label).catch(() => undefined);
  }

  /** OperationTarget: errors that mean this server now waits for authorization. */
  explain(error: unknown, what: string): McpClientError | undefined {
    const sdk = loadedModules()?.sdk;
    if (this.state === "authenticating" || (sdk && error instanceof sdk.UnauthorizedError)) {
      const where = this.authUrl ? `: open ${this.authUrl}` : "";
      return new McpClientError("unauthorized", `${this.label} needs authorization before ${what}${where}`, { serverId: this.serverId, cause: error });
    }
    return undefined;
  }

  #track(attempt: Promise<void>): Promise<void> {
    const tracked = attempt.finally(() => {
      if (this.#attempt === tracked) this.#attempt = undefined;
    });
    this.#attempt = tracked;
    return tracked;
  }

  /** Discovery on the open client; a failure leaves the server `connected`, with the reason. */
  async #discovery(): Promise<void> {
    const client = this.#client;
    const release = this.#host.keepAlive();
    try {
      this.#set("discovering");
      await this.#discover(this.#kind!);
      if (client === this.#client) this.#set("ready", null);
    } catch (error) {
      if (client === this.#client && !this.#closed) this.#set("connected", messageOf(error));
    } finally {
      release();
    }
  }

  async #run(discover: boolean): Promise<void> {
    const release = this.#host.keepAlive();
    const generation = ++this.#generation;
    this.#redirected = false;
    try {
      this.#set("connecting");
      const opened = await this.#open();
      if (this.#stale(generation)) {
        await opened.client.close().catch(() => {});
        return;
      }
      this.#client = opened.client;
      this.#transport = opened.transport;
      this.#kind = opened.kind;
      this.#set("connected", null);
      if (!discover) {
        this.#reconnect.succeeded();
        return;
      }
      this.#set("discovering");
      await this.#discover(opened.kind);
      if (this.#stale(generation)) return;
      this.#reconnect.succeeded();
      this.#set("ready", null);
    } catch (error) {
      if (this.#stale(generation)) return;
      this.#dropClient();
      if (this.#redirected && this.authUrl) {
        this.#set("authenticating", null);
        return;
      }
      this.#failed(messageOf(error));
    } finally {
      release();
    }
  }

  /** Opens a client on the first transport that works (`auto`: Streamable HTTP, then SSE on a 4xx). */
  async #open(): Promise<{ client: Client; transport: McpTransport; kind: TransportKind }> {
    const [first, second] = transportOrder(this.record.transport, this.catalog?.transport);
    try {
      return { ...(await this.#handshake(first)), kind: first };
    } catch (error) {
      const status = httpStatusOf(error);
      const clientError = status !== undefined && status >= 400 && status < 500 && status !== 401;
      if (second === undefined || this.#redirected || !clientError) throw error;
      try {
        return { ...(await this.#handshake(second)), kind: second };
      } catch (again) {
        if (this.#redirected) throw again;
        throw new McpClientError("connection", `${this.label}: ${first} failed (${messageOf(error)}), then ${second} failed: ${messageOf(again)}`, {
          serverId: this.serverId,
          cause: again,
        });
      }
    }
  }

  async #handshake(kind: TransportKind): Promise<{ client: Client; transport: McpTransport }> {
    const { sdk } = loadedModules()!;
    const transport = kind === "rpc" ? await rpcTransportOf(this.record, this.#host, this.label) : this.#makeTransport(kind);
    const capabilities = clientCapabilities(this.record.options?.capabilities, this.#host.elicitation);
    const client = new sdk.Client(this.#host.clientInfo, { capabilities });
    if (capabilities.elicitation) {
      client.setRequestHandler("elicitation/create", (request) => answerElicitation(this.#host.elicitation, request, this.serverId));
    }
    client.onerror = (error) => this.#onError(client, error);
    client.onclose = () => this.#onClose(client);
    try {
      await runOperation(this, { what: "initialize", timeoutMs: this.limits.connectTimeoutMs, limitName: "connectTimeoutMs" }, (request) =>
        client.connect(transport, request),
      );
    } catch (error) {
      await client.close().catch(() => {});
      throw error;
    }
    const rediscover = () => this.#scheduleRediscovery(client);
    client.setNotificationHandler("notifications/tools/list_changed", rediscover);
    client.setNotificationHandler("notifications/prompts/list_changed", rediscover);
    client.setNotificationHandler("notifications/resources/list_changed", rediscover);
    return { client, transport };
  }

  #makeTransport(kind: Exclude<TransportKind, "rpc">): HttpTransport {
    return createTransport(kind, {
      url: this.record.url,
      headers: this.record.headers,
      authProvider: this.#provider,
      maxBytes: this.limits.maxResponseBytes,
      label: this.label,
      serverId: this.serverId,
      onViolation: (error, operation) => {
        if (operation && !operation.done) operation.fail(error);
        else this.#lost(error);
      },
    });
  }

  async #discover(kind: TransportKind): Promise<void> {
    const client = this.#client!;
    const catalog = await runOperation(this, { what: "discovery", timeoutMs: this.limits.discoveryTimeoutMs, limitName: "discoveryTimeoutMs" }, (request) =>
      discoverCatalog(client, this, kind, request),
    );
    this.catalog = catalog;
    if (!this.#host.gone) await this.#host.store.setCatalog(this.serverId, catalog);
  }

  #scheduleRediscovery(client: Client): void {
    if (client !== this.#client || this.#rediscoverTimer) return;
    this.#rediscoverTimer = setTimeout(() => {
      this.#rediscoverTimer = undefined;
      if (client !== this.#client || this.state !== "ready" || !this.catalog) return;
      this.#discover(this.catalog.transport).then(
        () => this.#host.changed(),
        (error: unknown) => client === this.#client && this.#lost(error), // not a newer session's client
      );
    }, 100);
    this.#rediscoverTimer.unref();
  }

  /** Waits for an attempt under way; throws unless the server is ready. */
  async #usable(): Promise<Client> {
    // `connected` without an attempt: mounted with connectToServer and not discovered; calls work.
    const usable = this.state === "ready" || (this.state === "connected" && !this.#attempt);
    if (!this.#closed && !usable && this.state !== "failed" && this.state !== "authenticating") await this.connect(this.#reconnect.enabled);
    if (this.#closed) throw new McpClientError("not-connected", `${this.label} was removed`, { serverId: this.serverId });
    const unauthorized = this.state === "authenticating" ? this.explain(undefined, "this call") : undefined;
    if (unauthorized) throw unauthorized;
    if ((this.state !== "ready" && this.state !== "connected") || !this.#client) {
      throw new McpClientError("not-connected", `${this.label} is not connected (${this.state}${this.error ? `: ${this.error}` : ""})`, {
        serverId: this.serverId,
      });
    }
    return this.#client;
  }

  #onError(client: Client, error: Error): void {
    const operation = operationScope.getStore();
    const active = operation && !operation.done ? operation : undefined;
    const text = messageOf(error);
    if (isProtocolViolation(error)) {
      const violation = new McpClientError("protocol", `${this.label} sent an invalid JSON-RPC message: ${violationText(error)}`, {
        serverId: this.serverId,
        cause: violationCause(error),
      });
      if (active) active.fail(violation);
      else if (client === this.#client) this.#lost(violation);
    } else if (active && text.startsWith("SSE stream disconnected")) {
      active.fail(new McpClientError("connection", `${this.label} dropped the connection: ${clip(text)}`, { serverId: this.serverId, cause: error }));
    } else if (client === this.#client && /^Maximum reconnection attempts|^Failed to reconnect/.test(text)) {
      this.#lost(error);
    }
  }

  #onClose(client: Client): void {
    if (client === this.#client) this.#lost(new Error("the server closed the connection"));
  }

  /** A ready server dropped: reconnect with backoff. */
  #lost(error: unknown): void {
    if (this.#closed || this.#host.gone || this.state === "authenticating" || this.#attempt) return;
    this.#dropClient();
    this.#reconnect.enabled = true;
    this.#failed(`Connection lost: ${messageOf(error)}`);
  }

  #authorizationNeeded(url: URL): boolean {
    if (this.#closed || this.#host.gone || this.#authPending) return false;
    this.#authPending = true;
    this.#redirected = true;
    this.authUrl = url.href; // stored with its state and verifier by the provider
    if (this.#attempt) return true; // the attempt settles as "authenticating"
    this.#set("authenticating", null);
    // The call that hit the 401 is still unwinding; close the client after it.
    setImmediate(() => this.#dropClient());
    return true;
  }

  /** Failed: retried with backoff, or after `maxAttempts` in a row left failed — and the error says which. */
  #failed(message: string): void {
    if (this.#closed || this.#host.gone) return;
    this.#set("failed", this.#reconnect.failed(message));
  }

  #dropClient(): void {
    const client = this.#client;
    this.#client = undefined;
    this.#transport = undefined;
    void client?.close().catch(() => {});
  }

  #stale(generation: number): boolean {
    return this.#closed || this.#host.gone || generation !== this.#generation;
  }

  #set(state: McpConnectionState, error?: string | null): void {
    if (this.#closed || this.#host.gone) return;
    this.state = state;
    if (error !== undefined) this.error = error === null ? null : clip(error, 1_000);
    this.#host.changed(this.serverId);
  }
}
