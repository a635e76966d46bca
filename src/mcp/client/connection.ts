/**
 * One mounted server: its transport and SDK client, the connection state machine
 * (authenticating → connecting → connected → discovering → ready | failed), discovery of its
 * catalog, and bounded calls; reconnection with backoff is in `reconnect.ts`.
 */
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { Client } from "@modelcontextprotocol/client";
import type { AgentNamespace } from "../../host/namespace.ts";
import { withoutUserinfo } from "../../web/userinfo.ts";
import { McpClientError, clip, frameText, messageOf } from "./errors.ts";
import { operationScope, type Operation } from "./fetch-guard.ts";
import { MAX_FRAME_ERROR_LENGTH, resolveLimits, type McpClientLimits } from "./limits.ts";
import { loadedModules } from "./modules.ts";
import { SqlOAuthProvider } from "./oauth-provider.ts";
import { clientErrorMeaning, newClient, onListChanged, openClient, type ClientOpening } from "./open-client.ts";
import { runOperation, waitWithin, type OperationSpec, type OperationTarget } from "./operation.ts";
import { discoverCatalog } from "./discovery.ts";
import { Reconnect } from "./reconnect.ts";
import { ClientCalls, notFoundError, notFoundMeaning } from "./session-renewal.ts";
import type { Catalog, McpStore, ServerRecord } from "./store.ts";
import { createTransport, rpcTransportOf, transportOrder, type HttpTransport, type McpTransport, type TransportKind } from "./transport.ts";
import type { McpConnectionResult, McpConnectionState, McpElicitationHandlers, McpServerInfo } from "./types.ts";
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

  /**
   * Failed (a reconnect may follow on its own schedule), waiting for the user to authorize, or closed
   * with closeConnection(): a call does not wait for it, and its catalog is not offered.
   */
  get #outOfService(): boolean {
    return this.state === "failed" || this.state === "authenticating" || this.state === "not-connected";
  }

  /** Its tools, prompts and resources are offered while it is usable or about to be. */
  get offered(): boolean {
    return this.catalog !== undefined && !this.#outOfService;
  }

  /** The attempt under way, if any. */
  get pending(): Promise<void> | undefined {
    return this.#attempt;
  }

  /** The SDK client of the open session, if any. */
  get client(): Client | undefined {
    return this.#client;
  }

  /** Closed for good: the server was removed, or the agent left memory. */
  get closed(): boolean {
    return this.#closed;
  }

  /** As clients see it in the `cf_agent_mcp_servers` frame: no credentials of the URL, `error` made safe to show. */
  info(): McpServerInfo {
    return {
      name: this.record.name,
      server_url: withoutUserinfo(this.record.url), // shown without user name and password; the stored URL keeps them
      auth_url: this.state === "authenticating" ? this.authUrl : null,
      state: this.state,
      error: this.error === null ? null : frameText(this.error, MAX_FRAME_ERROR_LENGTH),
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

  /**
   * Exchanges the authorization code of the callback for tokens, then connects in the background.
   * Its `state` is used up by then: any failure leaves the server `failed` (no `auth_url`), so a new
   * attempt can start a new authorization.
   */
  async finishAuth(params: URLSearchParams): Promise<void> {
    try {
      const kind = transportOrder(this.record.transport, this.catalog?.transport)[0];
      if (kind === "rpc") throw new McpClientError("connection", `${this.label} is reached through its binding and has no OAuth`, { serverId: this.serverId });
      const transport = this.#makeTransport(kind);
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

  /**
   * One call on the open client (see `callSpec`), waiting for a server that is reconnecting within
   * the call's own deadline and signal. A 404 to a request that carried a session id means the server
   * no longer knows the session (it expired it, or restarted): as the protocol requires, a new session
   * is started and the request, which the server did not take, is sent once more on it.
   */
  async request<T>(spec: OperationSpec, send: (client: Client, request: { signal: AbortSignal; timeout: number }) => Promise<T>): Promise<T> {
    const client = await this.#usable(spec);
    const transport = this.#transport;
    try {
      return await this.#calls.run(client, () => runOperation(this, spec, (request) => send(client, request)));
    } catch (error) {
      const meaning = notFoundMeaning(error, transport);
      if (meaning === "not-found") throw notFoundError(this, withoutUserinfo(this.record.url), spec.what, error);
      if (meaning === undefined || this.#closed || spec.signal?.aborted) throw error;
      const renewed = await this.#renewSession(client, spec);
      return this.#calls.run(renewed, () => runOperation(this, spec, (request) => send(renewed, request)));
    }
  }

  /** A new session's client in place of `stale`'s: started by the first call to meet the 404, shared by the next ones; calls still on the old one finish there. */
  async #renewSession(stale: Client, spec: OperationSpec): Promise<Client> {
    if (stale === this.#client) {
      this.#client = undefined;
      this.#transport = undefined;
      this.#calls.retire(stale);
      this.#set("connecting");
      await waitWithin(this, spec, this.connect(this.#reconnect.enabled, this.catalog !== undefined), () => this.state);
    }
    return this.#usable(spec);
  }

  /**
   * Ends the live connection but keeps the server (`this.mcp.closeConnection`): calls in flight fail,
   * reconnecting stops and the session ends. The server stays `failed` until `connectToServer`,
   * `addMcpServer` or the next wake connects it again.
   */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    this.#generation++; // an attempt under way is stale from now on
    this.#reconnect.enabled = false;
    const released = this.#release(`${this.label} was closed with closeConnection()`);
    await this.#attempt?.catch(() => {});
    this.authUrl = null;
    this.#authPending = false;
    this.#set("not-connected", null);
    await this.#end(released, true, false);
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
    await this.#end(this.#release(`${this.label} was closed`), terminate, removed);
  }

  /** Stops reconnecting and rediscovery, fails the calls in flight (saying `reason`) and lets go of the client. */
  #release(reason: string): { client: Client | undefined; transport: McpTransport | undefined } {
    this.#reconnect.cancel();
    clearTimeout(this.#rediscoverTimer);
    this.#rediscoverTimer = undefined;
    const closing = new McpClientError("not-connected", reason, { serverId: this.serverId });
    for (const operation of this.operations) operation.fail(closing);
    const released = { client: this.#client, transport: this.#transport };
    this.#client = undefined;
    this.#transport = undefined;
    return released;
  }

  /** Closes what {@link #release} let go; `terminate` first ends its session on the server (see {@link close}). */
  async #end(released: { client: Client | undefined; transport: McpTransport | undefined }, terminate: boolean, removed: boolean): Promise<void> {
    const ending = terminate ? await this.#sessionToEnd(released.transport, removed) : undefined;
    if (ending?.terminateSession) await waitAtMost(ending.terminateSession().catch(() => {}), 2_000);
    await Promise.all([released.client?.close().catch(() => {}), this.#calls.closeRetired()]);
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
      const opened = await openClient(this.#opening());
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

  /** This connection as {@link openClient} sees it. */
  #opening(): ClientOpening {
    return {
      label: this.label,
      serverId: this.serverId,
      operations: this.operations,
      explain: (error, what) => this.explain(error, what),
      record: this.record,
      limits: this.limits,
      workedBefore: this.catalog?.transport,
      redirected: () => this.#redirected,
      transport: async (kind) => (kind === "rpc" ? rpcTransportOf(this.record, this.#host, this.label) : this.#makeTransport(kind)),
      client: () => {
        const client = newClient(this.#host.clientInfo, this.record.options?.capabilities, this.#host.elicitation, this.serverId);
        client.onerror = (error) => this.#onError(client, error);
        client.onclose = () => this.#onClose(client);
        return client;
      },
      opened: (client) => onListChanged(client, () => this.#scheduleRediscovery(client)),
    };
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

  /** Waits for an attempt under way, within the call's deadline and signal; throws unless the server is ready. */
  async #usable(spec: OperationSpec): Promise<Client> {
    // `connected` without an attempt: mounted with connectToServer and not discovered; calls work.
    const usable = this.state === "ready" || (this.state === "connected" && !this.#attempt);
    if (!this.#closed && !usable && !this.#outOfService) {
      await waitWithin(this, spec, this.connect(this.#reconnect.enabled), () => this.state);
    }
    if (this.#closed) throw new McpClientError("not-connected", `${this.label} was removed`, { serverId: this.serverId });
    const unauthorized = this.state === "authenticating" ? this.explain(undefined, "this call") : undefined;
    if (unauthorized) throw unauthorized;
    if ((this.state !== "ready" && this.state !== "connected") || !this.#client) {
      const why = this.state === "not-connected" ? "closed with closeConnection(); connectToServer() connects it again" : `${this.state}${this.error ? `: ${this.error}` : ""}`;
      throw new McpClientError("not-connected", `${this.label} is not connected (${why})`, {
        serverId: this.serverId,
      });
    }
    return this.#client;
  }

  /** An error the SDK client reports outside a request: it fails the call it belongs to, or drops the connection. */
  #onError(client: Client, error: Error): void {
    const meaning = clientErrorMeaning(error, this);
    if (!meaning) return;
    const operation = operationScope.getStore();
    if (meaning.failsCall && operation && !operation.done) operation.fail(meaning.error);
    else if (meaning.losesConnection && client === this.#client) this.#lost(meaning.error);
  }

  #onClose(client: Client): void {
    if (client === this.#client) this.#lost(new Error("the server closed the connection"));
  }

  /** A ready server dropped: reconnect with backoff. */
  #lost(error: unknown): void {
    if (this.#closed || this.#host.gone || this.state === "authenticating" || this.#attempt) return;
    this.#dropClient();
    this.#set("failed", this.#reconnect.lost(`Connection lost: ${messageOf(error)}`));
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
