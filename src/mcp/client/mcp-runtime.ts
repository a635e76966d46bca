/**
 * The MCP client of one agent instance: its mounted servers (loaded from and saved to the agent's
 * database), adding and removing them, restoring them after a wake, the OAuth callback, and the
 * `cf_agent_mcp_servers` state pushed to clients. The agent owns one; users see it through
 * {@link McpClientManager} (`this.mcp`).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AgentDatabase } from "../../storage/database.ts";
import { callbackResponse, callbackUrl, isCallbackPath } from "./callback.ts";
import { McpConnection, type ConnectionHost } from "./connection.ts";
import { McpClientError, clip, messageOf } from "./errors.ts";
import { MAX_MCP_SERVERS, resolveLimits } from "./limits.ts";
import { McpClientManager } from "./manager.ts";
import { loadModules } from "./modules.ts";
import { McpStore, type ServerRecord } from "./store.ts";
import type { AddMcpServerOptions, AddMcpServerResult, McpOAuthCallbackConfig, McpServersState, McpTransportType } from "./types.ts";

/** What the MCP client needs from its agent. */
export interface McpRuntimeHost {
  readonly db: AgentDatabase;
  readonly className: string;
  readonly classSlug: string;
  readonly name: string;
  /** The agent's `env` (for `HEARTH_PUBLIC_URL`). */
  readonly env: unknown;
  /** URL of the request or WebSocket the agent handled last (for the OAuth callback URL). */
  lastSeenUrl(): string | undefined;
  keepAlive(): () => void;
  /** Runs `fn` as an event of its own (the agent's blockConcurrencyWhile): MCP writes never share a caller's fate. */
  write<T>(fn: () => T): Promise<T>;
  /** Pushes the new state to every protocol connection. */
  publish(state: McpServersState): void;
  /** A background failure nobody awaits (the agent's onError). */
  report(error: unknown): void;
}

const TRANSPORTS: readonly McpTransportType[] = ["auto", "streamable-http", "sse"];
const ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

export class McpRuntime implements ConnectionHost {
  readonly store: McpStore;
  readonly clientInfo = { name: "hearth", version: hearthVersion() };
  readonly oauthClientName: string;
  readonly manager: McpClientManager;
  callbackConfig: McpOAuthCallbackConfig = {};
  readonly #host: McpRuntimeHost;
  readonly #connections = new Map<string, McpConnection>();
  #loaded = false;
  #gone = false;
  #publishQueued = false;

  constructor(host: McpRuntimeHost) {
    this.#host = host;
    this.store = new McpStore(host.db, (fn) => host.write(fn));
    this.oauthClientName = `Hearth agent ${host.className}`;
    this.manager = new McpClientManager(this);
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
    if (typeof name !== "string" || name.length === 0 || name.length > 256) throw new TypeError("addMcpServer: name must be a string of 1-256 characters");
    const serverUrl = parseServerUrl(url);
    const transport = typeof options.transport === "object" ? (options.transport.type ?? "auto") : (options.transport ?? "auto");
    if (!TRANSPORTS.includes(transport)) throw new TypeError(`addMcpServer: transport must be one of ${TRANSPORTS.join(", ")}, got ${JSON.stringify(transport)}`);
    const headers = { ...(typeof options.transport === "object" ? options.transport.headers : undefined), ...options.headers };
    for (const [key, value] of Object.entries(headers)) {
      if (typeof value !== "string") throw new TypeError(`addMcpServer: header ${JSON.stringify(key)} must be a string`);
    }
    if (options.limits !== undefined) resolveLimits(options.limits);
    if (options.id !== undefined && (typeof options.id !== "string" || !ID.test(options.id))) {
      throw new TypeError(`addMcpServer: id must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit; got ${JSON.stringify(options.id)}`);
    }
    await loadModules();
    const existing = this.connections().find((c) => c.record.name === name && c.record.url === serverUrl);
    if (existing && (options.id === undefined || options.id === existing.serverId)) return this.#outcome(existing, true);
    if (options.id !== undefined && this.#connections.has(options.id)) {
      throw new McpClientError("connection", `MCP server id "${options.id}" is already used by "${this.#connections.get(options.id)!.record.name}"`);
    }
    if (this.#connections.size >= MAX_MCP_SERVERS) {
      throw new McpClientError("limit", `This agent already mounts ${MAX_MCP_SERVERS} MCP servers (MAX_MCP_SERVERS); remove one first`);
    }
    const record: ServerRecord = {
      id: options.id ?? this.#newId(),
      name,
      url: serverUrl,
      transport,
      headers: Object.keys(headers).length > 0 ? headers : undefined,
      callbackUrl: this.#callbackUrl(options),
      limits: options.limits,
      authUrl: undefined,
      catalog: undefined,
    };
    // In the map before the first await, so a concurrent add of the same server finds it.
    const connection = new McpConnection(this, record);
    this.#connections.set(record.id, connection);
    try {
      await this.store.insert(record, Date.now());
    } catch (error) {
      this.#connections.delete(record.id);
      throw error;
    }
    this.changed();
    return this.#outcome(connection, false);
  }

  async remove(id: string): Promise<void> {
    const connection = this.connection(id);
    if (!connection) return;
    this.#connections.delete(id);
    this.changed();
    await connection.close(true);
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
    if (request.method !== "GET") return undefined;
    const url = new URL(request.url);
    if (!isCallbackPath(url.pathname, this.#host.classSlug, this.#host.name)) return undefined;
    if (!this.connections().some((c) => c.record.callbackUrl !== undefined)) return undefined;
    const fail = (message: string) => callbackResponse({ ok: false, status: 400, message }, this.callbackConfig);
    const state = url.searchParams.get("state");
    if (!state) return fail("The authorization response has no state parameter.");
    const serverId = this.store.serverForState(state);
    const connection = serverId === undefined ? undefined : this.connection(serverId);
    if (!connection) return fail("Unknown or already used authorization state: start the authorization again.");
    await this.store.setOAuth(connection.serverId, "state", null);
    const error = url.searchParams.get("error");
    if (error !== null) {
      const description = url.searchParams.get("error_description");
      const reason = clip(`The authorization server refused: ${error}${description ? ` (${description})` : ""}`, 500);
      await connection.authorizationFailed(reason);
      return fail(reason);
    }
    if (!url.searchParams.get("code")) return fail("The authorization response has no code parameter.");
    try {
      await connection.finishAuth(url.searchParams);
    } catch (cause) {
      return fail(messageOf(cause));
    }
    return callbackResponse({ ok: true, serverName: connection.record.name }, this.callbackConfig);
  }

  /** Resolves when no connection attempt is under way (or after `timeoutMs`). */
  async settled(timeoutMs?: number): Promise<void> {
    const pending = this.connections()
      .map((c) => c.pending)
      .filter((p): p is Promise<void> => p !== undefined);
    if (pending.length === 0) return;
    const all = Promise.all(pending).then(() => {});
    if (timeoutMs === undefined) return all;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  // ConnectionHost

  callbackUrl(serverId: string): string {
    const connection = this.#connections.get(serverId);
    if (connection?.record.callbackUrl) return connection.record.callbackUrl;
    const url = this.#callbackUrl({});
    if (!url || !connection) {
      throw new McpClientError(
        "callback-url",
        `${connection?.label ?? "The MCP server"} needs OAuth authorization, but this agent does not know its public URL for the redirect back: ` +
          `pass { callbackHost: "https://your.host" } to addMcpServer, or set the HEARTH_PUBLIC_URL variable`,
        { serverId },
      );
    }
    connection.record.callbackUrl = url;
    this.store.setCallbackUrl(serverId, url).catch((error: unknown) => this.#host.report(error));
    return url;
  }

  changed(): void {
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

  /** Connects (retrying later on failure only for a server added before) and reports the outcome. */
  async #outcome(connection: McpConnection, retry: boolean): Promise<AddMcpServerResult> {
    await connection.connect(retry);
    const id = connection.serverId;
    if (connection.state === "ready") return { id, state: "ready" };
    if (connection.state === "authenticating" && connection.authUrl) return { id, state: "authenticating", authUrl: connection.authUrl };
    throw new McpClientError("connection", `addMcpServer failed for ${connection.record.url}: ${connection.error ?? connection.state}`, {
      serverId: id,
    });
  }

  #callbackUrl(options: AddMcpServerOptions): string | undefined {
    const env = this.#host.env as Record<string, unknown> | undefined;
    const publicUrl = typeof env?.HEARTH_PUBLIC_URL === "string" ? env.HEARTH_PUBLIC_URL : process.env.HEARTH_PUBLIC_URL;
    return callbackUrl(this.#host.classSlug, this.#host.name, {
      callbackHost: options.callbackHost,
      agentsPrefix: options.agentsPrefix,
      publicUrl,
      seenUrl: this.#host.lastSeenUrl(),
    });
  }

  #newId(): string {
    for (;;) {
      const id = randomBytes(6).readUIntBE(0, 6).toString(36).padStart(10, "0").slice(-8);
      if (!this.#connections.has(id)) return id;
    }
  }
}

function parseServerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`addMcpServer: ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new TypeError(`addMcpServer: the server URL must be http(s), got ${parsed.protocol}`);
  }
  return parsed.href;
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
