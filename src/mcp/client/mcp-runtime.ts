/**
 * The MCP client of one agent instance: its mounted servers (loaded from and saved to the agent's
 * database), adding and removing them, restoring them after a wake, the OAuth callback, and the
 * `cf_agent_mcp_servers` state pushed to clients. The agent owns one; users see it through
 * {@link McpClientManager} (`this.mcp`).
 */
import { readFileSync } from "node:fs";
import { waitAtMost } from "../../time/wait-at-most.ts";
import type { AgentDatabase } from "../../storage/database.ts";
import { isAgentNamespace, type AgentNamespace } from "../../host/namespace.ts";
import { callbackUrl } from "./callback.ts";
import { OAuthCallbacks } from "./callback-handler.ts";
import { McpConnection, type ConnectionHost } from "./connection.ts";
import { McpClientError, messageOf } from "./errors.ts";
import { MAX_MCP_SERVERS } from "./limits.ts";
import { McpClientManager } from "./manager.ts";
import { loadModules } from "./modules.ts";
import { generateServerId } from "./server-id.ts";
import {
  bindingKey,
  checkName,
  clientOf,
  httpSettings,
  limitsOf,
  parseServerUrl,
  propsOf,
  requestedId,
  retryOf,
  rpcInstanceName,
  type ServerSettings,
} from "./server-options.ts";
import { McpStore, type ServerRecord } from "./store.ts";
import type {
  AddMcpServerOptions,
  AddMcpServerResult,
  AddRpcMcpServerOptions,
  McpConnectionResult,
  McpDiscoverResult,
  McpElicitationHandlers,
  McpOAuthCallbackConfig,
  McpServerStateChange,
  McpServersState,
  RegisterServerOptions,
} from "./types.ts";

/** What the MCP client needs from its agent. */
export interface McpRuntimeHost {
  readonly db: AgentDatabase;
  readonly className: string;
  readonly classSlug: string;
  readonly name: string;
  /** The agent's `env` (for `HEARTH_PUBLIC_URL`, and the bindings of `rpc` servers). */
  readonly env: unknown;
  /** The class's `static options.sendIdentityOnConnect`: false keeps the instance name out of default callback URLs. */
  readonly sendIdentityOnConnect: boolean;
  /**
   * URL of the request, else of the WebSocket, of this agent's event that is running now (for the
   * OAuth callback URL); undefined outside one (an RPC, a schedule, a background reconnect).
   */
  eventUrl(): string | undefined;
  keepAlive(): () => void;
  /** Runs `fn` as an event of its own (the agent's blockConcurrencyWhile): MCP writes never share a caller's fate. */
  write<T>(fn: () => T): Promise<T>;
  /** Pushes the new state to every protocol connection. */
  publish(state: McpServersState): void;
  /** A background failure nobody awaits (the agent's onError). */
  report(error: unknown): void;
}

export class McpRuntime implements ConnectionHost {
  readonly store: McpStore;
  readonly clientInfo = { name: "hearth", version: hearthVersion() };
  readonly oauthClientName: string;
  readonly manager: McpClientManager;
  callbackConfig: McpOAuthCallbackConfig = {};
  elicitation: McpElicitationHandlers = {};
  readonly #host: McpRuntimeHost;
  readonly #connections = new Map<string, McpConnection>();
  readonly #stateListeners = new Set<(change: McpServerStateChange) => void>();
  /** The state last told to listeners, per server: a repeated state is not told again. */
  readonly #told = new Map<string, string>();
  readonly #callbacks: OAuthCallbacks;
  #loaded = false;
  #gone = false;
  #publishQueued = false;

  constructor(host: McpRuntimeHost) {
    this.#host = host;
    this.store = new McpStore(host.db, (fn) => host.write(fn));
    this.oauthClientName = `Hearth agent ${host.className}`;
    this.manager = new McpClientManager(this);
    this.#callbacks = new OAuthCallbacks({
      store: this.store,
      classSlug: host.classSlug,
      name: host.name,
      publicUrl: () => this.#publicUrl(),
      callbackConfig: () => this.callbackConfig,
      connections: () => this.connections(),
      connection: (id) => this.connection(id),
      report: (error) => host.report(error),
    });
  }

  /** True when this agent has mounted servers stored (checked at start-up, one query). */
  static hasServers(db: AgentDatabase): boolean {
    return McpStore.existsIn(db);
  }

  /** The agent left memory: its database is closed. Everything stops. */
  get gone(): boolean {
    if (!this.#gone && !this.#host.db.isOpen) this.shutdown();
    return this.#gone;
  }

  /** Every mounted server, loaded from the database on first use. */
  connections(): McpConnection[] {
    this.#load();
    return [...this.#connections.values()];
  }

  connection(id: string): McpConnection | undefined {
    this.#load();
    return this.#connections.get(id);
  }

  /** After a wake or restart: reconnects every stored server in the background. */
  restore(): void {
    try {
      for (const connection of this.connections()) void connection.connect(true);
    } catch (error) {
      this.#host.report(error);
    }
  }

  async add(name: string, url: string, options: AddMcpServerOptions = {}): Promise<AddMcpServerResult> {
    checkName(name, "addMcpServer");
    const serverUrl = parseServerUrl(url, "addMcpServer");
    const settings = httpSettings(options, "addMcpServer");
    const id = requestedId(options.id, "addMcpServer");
    if (!this.#host.sendIdentityOnConnect && options.callbackHost && !options.callbackPath) {
      throw new McpClientError(
        "callback-url",
        "callbackPath is required in addMcpServer options when sendIdentityOnConnect is false — the default callback URL would expose the instance name. " +
          "Provide a callbackPath and route the callback request to this agent via getAgentByName.",
      );
    }
    // Taken now, while the caller's own request or WebSocket is the event that runs.
    const callback = this.#callbackUrl(options, this.#host.eventUrl());
    const asked = options.callbackHost !== undefined || options.callbackPath !== undefined || options.agentsPrefix !== undefined;
    await loadModules();
    return this.#mount(name, serverUrl, id, (newId) => ({ ...settings, id: newId, name, url: serverUrl, callbackUrl: callback }), { url: callback, asked });
  }

  /** `addMcpServer(name, env.MY_MCP, options)`: an McpAgent of this host, reached through its binding. */
  async addRpc(name: string, namespace: unknown, options: AddRpcMcpServerOptions = {}): Promise<AddMcpServerResult> {
    checkName(name, "addMcpServer");
    const binding = bindingKey(this.#host.env, namespace);
    const props = propsOf(options.props);
    const settings: ServerSettings = {
      transport: "rpc",
      headers: undefined,
      limits: limitsOf(options.limits),
      options: { ...retryOf(options.retry), ...clientOf(options.client, "addMcpServer"), rpc: { binding, ...(props ? { props } : {}) } },
    };
    const id = requestedId(options.id, "addMcpServer");
    await loadModules();
    const url = `rpc:${rpcInstanceName(name)}`;
    return this.#mount(name, url, id, (newId) => ({ ...settings, id: newId, name, url, callbackUrl: undefined }));
  }

  /** `this.mcp.registerServer`: stores a server without connecting; the same id, name and URL again is a no-op. */
  async register(id: string, options: RegisterServerOptions): Promise<string> {
    const serverId = requestedId(id, "registerServer");
    if (serverId === undefined) throw new TypeError("registerServer: id must be a string");
    if (typeof options !== "object" || options === null) throw new TypeError("registerServer: options { url, name } are required");
    checkName(options.name, "registerServer");
    const url = parseServerUrl(options.url, "registerServer");
    const settings = httpSettings(options, "registerServer");
    const callback = options.callbackUrl === undefined ? this.#callbackUrl({}, this.#host.eventUrl()) : parseServerUrl(options.callbackUrl, "registerServer (callbackUrl)");
    const existing = this.connection(serverId);
    if (existing && existing.record.name === options.name && existing.record.url === url) return serverId;
    this.#checkFree(serverId);
    await this.#insert({ ...settings, id: serverId, name: options.name, url, callbackUrl: callback, authUrl: undefined, catalog: undefined });
    return serverId;
  }

  /** `this.mcp.connectToServer`: connects a stored server without discovering it. */
  async connectToServer(id: string): Promise<McpConnectionResult> {
    const connection = this.connection(id);
    if (!connection) throw new McpClientError("unknown-server", `MCP server ${JSON.stringify(id)} is not registered. Call registerServer() first.`, { serverId: id });
    if (!connection.record.callbackUrl) {
      // Taken now, while the caller's own request or WebSocket is the event that runs.
      const callback = this.#callbackUrl({ callbackPath: connection.record.options?.callbackPath }, this.#host.eventUrl());
      if (callback) await this.#setCallbackUrl(connection, callback);
    }
    await loadModules();
    return connection.connectOnly();
  }

  /** `this.mcp.discoverIfConnected`: lists a connected server's tools, prompts and resources (again). */
  async discover(id: string): Promise<McpDiscoverResult | undefined> {
    const connection = this.connection(id);
    if (!connection) return undefined;
    const result = await connection.discover();
    return { ...result, state: connection.state };
  }

  /** Listens to every server's state changes until `dispose()`. */
  onStateChanged(listener: (change: McpServerStateChange) => void): { dispose(): void } {
    if (typeof listener !== "function") throw new TypeError("onServerStateChanged: listener must be a function");
    const own = (change: McpServerStateChange) => listener(change);
    this.#stateListeners.add(own);
    return { dispose: () => void this.#stateListeners.delete(own) };
  }

  async remove(id: string): Promise<void> {
    const connection = this.connection(id);
    if (!connection) return;
    this.#connections.delete(id);
    this.#callbacks.forget(id);
    this.changed();
    this.#emit({ serverId: id, url: connection.record.url, state: "removed" });
    await connection.close(true, true);
    await this.store.remove(id);
  }

  /** The content of the `cf_agent_mcp_servers` frame. */
  snapshot(): McpServersState {
    const state: McpServersState = { servers: {}, tools: [], prompts: [], resources: [] };
    for (const connection of this.connections()) {
      state.servers[connection.serverId] = connection.info();
      if (!connection.offered || !connection.catalog) continue;
      const serverId = connection.serverId;
      for (const tool of connection.catalog.tools) state.tools.push({ ...tool, serverId });
      for (const prompt of connection.catalog.prompts) state.prompts.push({ ...prompt, serverId });
      for (const resource of connection.catalog.resources) state.resources.push({ ...resource, serverId });
    }
    return state;
  }

  /**
   * Answers the OAuth redirect when `request` is a GET to the callback path of one of this agent's
   * servers; undefined for anything else (the agent's own onRequest handles it).
   */
  async handleCallback(request: Request): Promise<Response | undefined> {
    return this.#callbacks.handle(request);
  }

  /** Resolves when no connection attempt is under way (or after `timeoutMs`). */
  async settled(timeoutMs?: number): Promise<void> {
    const pending = this.connections()
      .map((c) => c.pending)
      .filter((p): p is Promise<void> => p !== undefined);
    if (pending.length === 0) return;
    const all = Promise.all(pending).then(() => {});
    if (timeoutMs === undefined) return all;
    await waitAtMost(all, timeoutMs);
  }

  // ConnectionHost

  callbackUrl(serverId: string): string {
    const connection = this.#connections.get(serverId);
    if (connection?.record.callbackUrl) return connection.record.callbackUrl;
    // Connection work (a reconnect, a timer) may run inside another client's event: its URL is not ours to take.
    const url = this.#callbackUrl({ callbackPath: connection?.record.options?.callbackPath }, undefined);
    if (!url || !connection) {
      throw new McpClientError(
        "callback-url",
        `${connection?.label ?? "The MCP server"} requires OAuth authentication, and this agent does not know its public URL for the redirect back ` +
          "(the call came from no request or WebSocket of its own). Provide callbackHost in addMcpServer options (or set the HEARTH_PUBLIC_URL variable) to enable the OAuth flow.",
        { serverId },
      );
    }
    connection.record.callbackUrl = url;
    this.store.setCallbackUrl(serverId, url).catch((error: unknown) => this.#host.report(error));
    return url;
  }

  changed(serverId?: string): void {
    const connection = serverId === undefined ? undefined : this.#connections.get(serverId);
    if (connection && !this.gone) {
      this.#emit({ serverId: connection.serverId, url: connection.record.url, state: connection.state, ...(connection.error ? { error: connection.error } : {}) });
    }
    if (this.#publishQueued || this.gone) return;
    this.#publishQueued = true;
    queueMicrotask(() => {
      this.#publishQueued = false;
      try {
        if (!this.gone) this.#host.publish(this.snapshot());
      } catch (error) {
        this.#host.report(error);
      }
    });
  }

  keepAlive(): () => void {
    return this.#host.keepAlive();
  }

  get rpcSession(): string {
    return `${this.#host.className}/${this.#host.name}`;
  }

  binding(key: string): AgentNamespace | undefined {
    const value = (this.#host.env as Record<string, unknown> | undefined)?.[key];
    return isAgentNamespace(value) ? value : undefined;
  }

  /** After a rollback the tables may be gone; the next read checks again. */
  invalidate(): void {
    this.store.invalidate();
  }

  /** Closes every connection (the agent hibernated, was destroyed, or the host is closing). */
  shutdown(): void {
    if (this.#gone) return;
    this.#gone = true;
    for (const connection of this.#connections.values()) void connection.close(true);
  }

  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const record of this.store.servers()) {
      try {
        this.#connections.set(record.id, new McpConnection(this, record));
      } catch (error) {
        this.#host.report(new Error(`MCP server "${record.name}" could not be restored: ${messageOf(error)}`, { cause: error }));
      }
    }
  }

  /**
   * Mounts `name` at `url`, or answers with the server already mounted there (renamed to `id` when
   * another id is asked for: the Agents SDK's upgrade path from generated to stable ids).
   */
  async #mount(
    name: string,
    url: string,
    id: string | undefined,
    build: (id: string) => Omit<ServerRecord, "authUrl" | "catalog">,
    callback?: { url: string | undefined; asked: boolean },
  ): Promise<AddMcpServerResult> {
    let existing = this.connections().find((c) => c.record.name === name && c.record.url === url);
    if (existing && id !== undefined && id !== existing.serverId) existing = await this.#rename(existing, id);
    if (existing) {
      // callbackHost, callbackPath or agentsPrefix given again (or a callback URL known only now) apply to the server already mounted.
      if (callback?.url && (callback.asked || !existing.record.callbackUrl)) await this.#setCallbackUrl(existing, callback.url);
      return this.#outcome(existing, true);
    }
    if (id !== undefined) this.#checkFree(id);
    const connection = await this.#insert({ ...build(id ?? generateServerId((taken) => this.#connections.has(taken))), authUrl: undefined, catalog: undefined });
    return this.#outcome(connection, false);
  }

  async #insert(record: ServerRecord): Promise<McpConnection> {
    if (this.#connections.size >= MAX_MCP_SERVERS) {
      throw new McpClientError("limit", `This agent already mounts ${MAX_MCP_SERVERS} MCP servers (MAX_MCP_SERVERS); remove one first`);
    }
    // In the map before the first await, so a concurrent add of the same server finds it.
    const connection = new McpConnection(this, record);
    this.#connections.set(record.id, connection);
    try {
      await this.store.insert(record, Date.now());
    } catch (error) {
      this.#connections.delete(record.id);
      throw error;
    }
    this.changed(record.id);
    return connection;
  }

  /** Moves a server to a new id, with its tokens; its connection starts over under the new id. */
  async #rename(connection: McpConnection, id: string): Promise<McpConnection> {
    this.#checkFree(id);
    const renamed = new McpConnection(this, { ...connection.record, id });
    this.#connections.delete(connection.serverId);
    this.#connections.set(id, renamed);
    await this.store.rename(connection.serverId, id);
    this.#callbacks.forget(connection.serverId);
    this.#emit({ serverId: connection.serverId, url: connection.record.url, state: "removed" });
    await connection.close(true);
    this.changed(id);
    return renamed;
  }

  async #setCallbackUrl(connection: McpConnection, url: string): Promise<void> {
    if (connection.record.callbackUrl === url) return;
    connection.record.callbackUrl = url;
    await this.store.setCallbackUrl(connection.serverId, url);
  }

  #checkFree(id: string): void {
    const holder = this.#connections.get(id);
    if (holder) throw new McpClientError("connection", `MCP server id "${id}" is already used by "${holder.record.name}" (${holder.record.url})`, { serverId: id });
  }

  #emit(change: McpServerStateChange): void {
    const key = `${change.state}\n${change.error ?? ""}`;
    if (this.#told.get(change.serverId) === key) return;
    if (change.state === "removed") this.#told.delete(change.serverId);
    else this.#told.set(change.serverId, key);
    for (const listener of this.#stateListeners) {
      try {
        listener(change);
      } catch (error) {
        this.#host.report(error);
      }
    }
  }

  /** Connects (retrying later on failure only for a server added before) and reports the outcome. */
  async #outcome(connection: McpConnection, retry: boolean): Promise<AddMcpServerResult> {
    await connection.connect(retry);
    const id = connection.serverId;
    if (connection.closed || this.#connections.get(id) !== connection) {
      throw new McpClientError("not-connected", `addMcpServer: MCP server "${connection.record.name}" was removed while connecting`, { serverId: id });
    }
    if (connection.state === "ready") return { id, state: "ready" };
    if (connection.state === "authenticating" && connection.authUrl) return { id, state: "authenticating", authUrl: connection.authUrl };
    throw new McpClientError("connection", `addMcpServer failed for ${connection.record.url}: ${connection.error ?? connection.state}`, {
      serverId: id,
    });
  }

  #publicUrl(): string | undefined {
    const env = this.#host.env as Record<string, unknown> | undefined;
    return typeof env?.HEARTH_PUBLIC_URL === "string" ? env.HEARTH_PUBLIC_URL : process.env.HEARTH_PUBLIC_URL;
  }

  /** `eventUrl`: the caller's own event, taken by an API call before its first await; undefined elsewhere. */
  #callbackUrl(options: Pick<AddMcpServerOptions, "callbackHost" | "agentsPrefix" | "callbackPath">, eventUrl: string | undefined): string | undefined {
    return callbackUrl(this.#host.classSlug, this.#host.name, {
      callbackHost: options.callbackHost,
      agentsPrefix: options.agentsPrefix,
      callbackPath: options.callbackPath,
      publicUrl: this.#publicUrl(),
      eventUrl,
    });
  }
}

let version: string | undefined;

function hearthVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version?: string }).version ?? "0.0.0";
    } catch {
      version = "0.0.0";
    }
  }
  return version;
}
