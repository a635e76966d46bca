/**
 * `this.mcp`: the servers an agent mounted, their tools, prompts and resources, calls to them, and
 * their tools as AI SDK tools. Shaped like Cloudflare's `MCPClientManager`.
 */
import { buildAITools, type McpAIToolSet } from "./ai-tools.ts";
import { checkRedirect } from "./callback.ts";
import { checkElicitationHandlers } from "./elicitation.ts";
import type { McpConnection } from "./connection.ts";
import { connectionView } from "./connection-view.ts";
import { McpClientError, clip } from "./errors.ts";
import type { McpRuntime } from "./mcp-runtime.ts";
import { loadedModules } from "./modules.ts";
import { callSpec } from "./operation.ts";
import type {
  CallToolResult,
  GetPromptResult,
  McpCallOptions,
  McpClientConnection,
  McpConnectionResult,
  McpDiscoverResult,
  McpElicitationHandlers,
  McpOAuthCallbackConfig,
  McpServerStateChange,
  McpServerFilter,
  McpServerInfo,
  Prompt,
  ReadResourceResult,
  RegisterServerOptions,
  Resource,
  ResourceTemplate,
  Tool,
} from "./types.ts";

/**
 * The MCP client of an agent, as `this.mcp`. Listings are synchronous and come from each server's
 * last discovery (kept in the agent's database, so they are there at once after a wake); calls wait
 * for a server that is still reconnecting.
 * @example
 * const { text } = await generateText({ model, tools: this.mcp.getAITools(), prompt });
 * const result = await this.mcp.callTool({ serverId, name: "search", arguments: { q: "hearth" } });
 */
export class McpClientManager {
  readonly #runtime: McpRuntime;
  #warnedUnstable = false;

  /** @internal Created by the agent. */
  constructor(runtime: McpRuntime) {
    this.#runtime = runtime;
  }

  /**
   * Every mounted server with its id and state.
   * @example
   * const failed = this.mcp.listServers().filter((server) => server.state === "failed");
   */
  listServers(): Array<McpServerInfo & { id: string }> {
    return this.#runtime.connections().map((c) => ({ id: c.serverId, ...c.info() }));
  }

  /**
   * Every mounted server by id, as the Agents SDK's `MCPClientConnection`: `connectionState`,
   * `connectionError`, `tools`, `prompts`, `resources`, `resourceTemplates`, `serverCapabilities`,
   * `instructions`, `url`, and `client` (the SDK client of the open session). Read live; a new
   * record on every read.
   * @example
   * const ready = Object.values(this.mcp.mcpConnections).filter((c) => c.connectionState === "ready");
   */
  get mcpConnections(): Readonly<Record<string, McpClientConnection>> {
    // A server closed with closeConnection() leaves them (it stays mounted), as in the SDK.
    return Object.fromEntries(this.#runtime.connections().filter((c) => c.state !== "not-connected").map((c) => [c.serverId, connectionView(c)]));
  }

  /**
   * Tools of the servers that are ready or reconnecting (not of failed ones, nor of those waiting
   * for authorization), each with its `serverId`.
   * @example
   * for (const tool of this.mcp.listTools()) console.log(tool.serverId, tool.name);
   */
  listTools(filter?: McpServerFilter): Array<Tool & { serverId: string }> {
    return this.#offered(filter).flatMap((c) => c.catalog!.tools.map((tool) => ({ ...tool, serverId: c.serverId })));
  }

  /**
   * Prompts, as {@link listTools}.
   * @example
   * const prompts = this.mcp.listPrompts({ serverName: "docs" }).map((p) => p.name);
   */
  listPrompts(filter?: McpServerFilter): Array<Prompt & { serverId: string }> {
    return this.#offered(filter).flatMap((c) => c.catalog!.prompts.map((prompt) => ({ ...prompt, serverId: c.serverId })));
  }

  /**
   * Resources, as {@link listTools}.
   * @example
   * const uris = this.mcp.listResources().map((r) => `${r.serverId}: ${r.uri}`);
   */
  listResources(filter?: McpServerFilter): Array<Resource & { serverId: string }> {
    return this.#offered(filter).flatMap((c) => c.catalog!.resources.map((resource) => ({ ...resource, serverId: c.serverId })));
  }

  /**
   * Resource templates (`resources/templates/list`, e.g. `file:///{path}`), as {@link listTools}.
   * Fill one in and read it with {@link readResource}.
   * @example
   * const templates = this.mcp.listResourceTemplates().map((t) => t.uriTemplate);
   */
  listResourceTemplates(filter?: McpServerFilter): Array<ResourceTemplate & { serverId: string }> {
    return this.#offered(filter).flatMap((c) => (c.catalog!.resourceTemplates ?? []).map((template) => ({ ...template, serverId: c.serverId })));
  }

  /**
   * The tools as Vercel AI SDK tools, keyed `tool_<serverId>_<toolName>` (safe for every model
   * API: `[A-Za-z0-9_-]`, at most 64 characters, never colliding across servers; see ai-tools.ts).
   * A tool's `execute` calls the server; a result with `isError` becomes a tool error.
   * @example
   * const result = streamText({ model, tools: { ...this.mcp.getAITools(), ...myTools }, messages });
   */
  getAITools(filter?: McpServerFilter): McpAIToolSet {
    const tools = this.listTools(filter);
    if (tools.length === 0) return {};
    const modules = loadedModules();
    if (!modules) throw new Error("The MCP client is still loading; call getAITools() from an event of the agent (onStart or later)");
    return buildAITools(modules.ai, tools, (serverId, name, args, signal) =>
      this.callTool({ serverId, name, arguments: args }, signal ? { signal } : {}),
    );
  }

  /**
   * @deprecated The Agents SDK's former name of {@link getAITools}, kept as it keeps it (it warns once).
   */
  unstable_getAITools(filter?: McpServerFilter): McpAIToolSet {
    if (!this.#warnedUnstable) {
      this.#warnedUnstable = true;
      console.warn("unstable_getAITools is deprecated, use getAITools instead. unstable_getAITools will be removed in the next major version.");
    }
    return this.getAITools(filter);
  }

  /**
   * Calls a tool. Waits for a server that is reconnecting; fails at once for one that failed or
   * needs authorization. Bounded by `options.timeout`, else the server's `callTimeoutMs` (30 s).
   * @example
   * const result = await this.mcp.callTool({ serverId, name: "add", arguments: { a: 1, b: 2 } }, { timeout: 5_000 });
   */
  async callTool(
    params: { serverId: string; name: string; arguments?: Record<string, unknown> },
    options?: McpCallOptions | { parse: unknown } | { "~standard": unknown },
    compatOptions?: McpCallOptions,
  ): Promise<CallToolResult> {
    // Cloudflare's form callTool(params, resultSchema, options): the schema is not needed here.
    const callOptions = options && ("parse" in options || "~standard" in options) ? compatOptions : (options as McpCallOptions | undefined);
    const connection = this.#server(params.serverId);
    const { name } = params;
    const spec = callSpec(`tools/call "${clip(name, 100)}"`, callOptions ?? {}, connection.limits);
    const result = await connection.request(spec, (client, request) => {
      // With its definition the SDK checks structured results against the tool's outputSchema.
      const tool = connection.catalog?.tools.find((t) => t.name === name);
      return client.callTool({ name, arguments: params.arguments ?? {} }, tool ? { ...request, toolDefinition: tool } : request);
    });
    return result as CallToolResult;
  }

  /**
   * Reads a resource of a server.
   * @example
   * const { contents } = await this.mcp.readResource({ serverId, uri: "memo://readme" });
   */
  async readResource(params: { serverId: string; uri: string }, options?: McpCallOptions): Promise<ReadResourceResult> {
    const connection = this.#server(params.serverId);
    const { uri } = params;
    return connection.request(callSpec(`resources/read "${clip(uri, 200)}"`, options ?? {}, connection.limits), (client, request) =>
      client.readResource({ uri }, request),
    );
  }

  /**
   * Gets a prompt of a server, filled with `arguments`.
   * @example
   * const { messages } = await this.mcp.getPrompt({ serverId, name: "greet", arguments: { who: "Ada" } });
   */
  async getPrompt(params: { serverId: string; name: string; arguments?: Record<string, string> }, options?: McpCallOptions): Promise<GetPromptResult> {
    const connection = this.#server(params.serverId);
    const { name, arguments: args } = params;
    return connection.request(callSpec(`prompts/get "${clip(name, 100)}"`, options ?? {}, connection.limits), (client, request) =>
      client.getPrompt(args ? { name, arguments: args } : { name }, request),
    );
  }

  /**
   * Resolves once no server is connecting (each attempt is bounded by its connect and discovery
   * timeouts), or after `timeout` milliseconds. Never rejects.
   * @example
   * await this.mcp.waitForConnections({ timeout: 5_000 });
   */
  async waitForConnections(options?: { timeout?: number }): Promise<void> {
    await this.#runtime.settled(options?.timeout);
  }

  /**
   * What the browser gets after the OAuth callback (default, as the Agents SDK: a 302 redirect to the
   * callback's origin, success or not): other redirects, or the answer of `customHandler`, which
   * receives `{ serverId, authSuccess, authError }`. Kept in memory: call it in `onStart`.
   * @example
   * onStart() {
   *   this.mcp.configureOAuthCallback({
   *     customHandler: (result) =>
   *       new Response(result.authSuccess ? "<script>window.close()</script>" : "Authorization failed", {
   *         status: result.authSuccess ? 200 : 400,
   *         headers: { "content-type": "text/html" },
   *       }),
   *   });
   * }
   */
  configureOAuthCallback(config: McpOAuthCallbackConfig): void {
    if (typeof config !== "object" || config === null) throw new TypeError("configureOAuthCallback: config must be an object");
    checkRedirect("successRedirect", config.successRedirect);
    checkRedirect("errorRedirect", config.errorRedirect);
    if (config.customHandler !== undefined && typeof config.customHandler !== "function") {
      throw new TypeError("configureOAuthCallback: customHandler must be a function returning a Response");
    }
    this.#runtime.callbackConfig = { ...config };
  }

  /**
   * Answers servers that ask the user for input during a call (`elicitation/create`): `form`
   * collects values for `request.params.requestedSchema`, `url` hands `request.params.url` to the
   * user. The call stays pending until the handler resolves (mind the call's `timeout`). Connections
   * advertise the modes that have a handler when they connect (or the `client.capabilities` the
   * server was mounted with), so configure them in `onStart`, before servers are restored; a mode
   * without handler is declined. Kept in memory.
   * @example
   * onStart() {
   *   this.mcp.configureElicitationHandlers({
   *     form: async (request, serverId) => ({ action: "accept", content: await this.askUser(serverId, request.params) }),
   *   });
   * }
   */
  configureElicitationHandlers(handlers: McpElicitationHandlers): void {
    this.#runtime.elicitation = checkElicitationHandlers(handlers);
  }

  /**
   * The configuration given to {@link configureOAuthCallback}, if any.
   * @example
   * const redirect = this.mcp.getOAuthCallbackConfig()?.successRedirect;
   */
  getOAuthCallbackConfig(): McpOAuthCallbackConfig | undefined {
    const config = this.#runtime.callbackConfig;
    return Object.keys(config).length > 0 ? { ...config } : undefined;
  }

  /**
   * Stores a server under `id` without connecting to it (`addMcpServer` is this, then
   * {@link connectToServer}, then {@link discoverIfConnected}). The id is normalised as
   * `addMcpServer`'s `{ id }` is; the stored id is returned. The same id, name and URL again change
   * nothing; an id used by another server is refused. Kept across hibernation and restarts (a
   * stored server is connected and discovered when the agent wakes).
   * @example
   * const id = await this.mcp.registerServer("docs", { url: "https://docs.example/mcp", name: "Docs" });
   */
  async registerServer(id: string, options: RegisterServerOptions): Promise<string> {
    return this.#runtime.register(id, options);
  }

  /**
   * Connects a registered server: `{ state: "connected" }` (then call {@link discoverIfConnected}),
   * `{ state: "authenticating", authUrl }` when it wants OAuth, or `{ state: "failed", error }`.
   * Retries a failed server. Calls work on a connected server before discovery.
   * @throws McpClientError (`unknown-server`) when `id` was never registered
   * @example
   * const result = await this.mcp.connectToServer(id);
   * if (result.state === "connected") await this.mcp.discoverIfConnected(id);
   */
  async connectToServer(id: string): Promise<McpConnectionResult> {
    return this.#runtime.connectToServer(id);
  }

  /**
   * Lists a connected server's tools, prompts and resources (again, for a ready one): `connected` →
   * `discovering` → `ready`, or back to `connected` with `error` set. Undefined for an unknown id.
   * @example
   * const discovered = await this.mcp.discoverIfConnected(id);
   * if (!discovered?.success) console.error(discovered?.error);
   */
  async discoverIfConnected(id: string): Promise<McpDiscoverResult | undefined> {
    return this.#runtime.discover(id);
  }

  /**
   * Calls `listener` on every state change of a server (`{ serverId, url, state, error? }`; `state:
   * "removed"` once when it is removed), until `dispose()`. Kept in memory: subscribe in `onStart`.
   * Connected clients get the `cf_agent_mcp_servers` frame by themselves.
   * @example
   * const subscription = this.mcp.onServerStateChanged(({ serverId, state }) => console.log(serverId, state));
   * subscription.dispose();
   */
  onServerStateChanged(listener: (change: McpServerStateChange) => void): { dispose(): void } {
    return this.#runtime.onStateChanged(listener);
  }

  /**
   * Unmounts a server, as `this.removeMcpServer(id)`.
   * @example
   * await this.mcp.removeServer(id);
   */
  async removeServer(id: string): Promise<void> {
    await this.#runtime.remove(id);
  }

  /**
   * Closes the connection to a server but keeps the server (its tokens, its catalog): calls in flight
   * fail, reconnecting stops, the session ends; the server leaves {@link mcpConnections} and the
   * clients' frame shows it `not-connected` (as the SDK's `getMcpServers` does) until
   * {@link connectToServer}, `addMcpServer` or the next wake connects it again.
   * @throws McpClientError (`unknown-server`) when no server has this id
   * @example
   * await this.mcp.closeConnection(id);
   */
  async closeConnection(id: string): Promise<void> {
    await this.#server(id).disconnect();
  }

  /**
   * {@link closeConnection} for every mounted server.
   * @example
   * await this.mcp.closeAllConnections();
   */
  async closeAllConnections(): Promise<void> {
    await Promise.all(this.#runtime.connections().map((c) => c.disconnect()));
  }

  #offered(filter: McpServerFilter | undefined): McpConnection[] {
    const ids = filter?.serverId === undefined ? undefined : [filter.serverId].flat();
    const names = filter?.serverName === undefined ? undefined : [filter.serverName].flat();
    const states = filter?.state === undefined ? undefined : [filter.state].flat();
    return this.#runtime
      .connections()
      .filter((c) => c.offered && (!ids || ids.includes(c.serverId)) && (!names || names.includes(c.record.name)) && (!states || states.includes(c.state)));
  }

  #server(serverId: string): McpConnection {
    const connection = this.#runtime.connection(serverId);
    if (!connection) throw new McpClientError("unknown-server", `No MCP server with id ${JSON.stringify(serverId)} is mounted on this agent`, { serverId });
    return connection;
  }
}
