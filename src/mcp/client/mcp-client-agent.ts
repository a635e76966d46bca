import { AGENT_OPTIONS, AGENT_RUNTIME, HANDLE, MCP_STATE, REPORT_ERROR } from "../../agent/agent-base.ts";
import { getCurrentAgent } from "../../agent/context.ts";
import type { AgentNamespace } from "../../host/namespace.ts";
import { emitMcpEvents } from "../../events/index.ts";
import { frames } from "../../protocol/frames.ts";
import { WorkflowAgent } from "../../workflow/workflow-agent.ts";
import type { McpClientManager } from "./manager.ts";
import { McpRuntime } from "./mcp-runtime.ts";
import { loadModules } from "./modules.ts";
import type { AddMcpServerOptions, AddMcpServerResult, AddRpcMcpServerOptions, McpServersState } from "./types.ts";

/**
 * The MCP-client layer of {@link Agent}: remote servers mounted by URL or binding, kept in the
 * agent's database, reconnected at start-up, their OAuth callback answered before `onRequest`.
 */
export class McpClientAgent<Env = unknown, State = unknown> extends WorkflowAgent<Env, State> {
  #mcp: McpRuntime | undefined;

  /**
   * The MCP client: the remote servers this agent mounted, their tools, prompts and resources, and
   * their tools as AI SDK tools. Servers and their credentials live in the agent's database and
   * reconnect by themselves after hibernation or a restart.
   * @example
   * const { text } = await generateText({ model, tools: this.mcp.getAITools(), prompt: question });
   */
  get mcp(): McpClientManager {
    return this.#mcpRuntime.manager;
  }

  /**
   * Mounts a remote MCP server (Streamable HTTP, or legacy SSE) and connects to it. Resolves to
   * `{ id, state: "ready" }`, or `{ id, state: "authenticating", authUrl }` when the server wants
   * OAuth: send the user to `authUrl`; the authorization server redirects back to
   * `/agents/<class>/<name>/callback` (on `callbackHost`, `HEARTH_PUBLIC_URL`, or the origin of the
   * request or WebSocket this call comes from), which this agent answers, and the server becomes ready.
   * Mounting the same name and URL again returns the same server (and retries a failed one).
   * Throws an `McpClientError` when the server cannot be reached; it stays listed as `failed`.
   * @example
   * const server = await this.addMcpServer("docs", "https://docs.example/mcp", { headers: { "x-api-key": env.KEY } });
   * if (server.state === "authenticating") return Response.redirect(server.authUrl);
   */
  async addMcpServer(name: string, url: string, options?: AddMcpServerOptions): Promise<AddMcpServerResult>;
  /**
   * Mounts an McpAgent of this host through its binding (no HTTP, no OAuth): the agent
   * `rpc:<name lowercased, spaces as ->` of that class, with `props` for its `onStart`. The binding's
   * `env` key and the props are stored, so the server comes back after hibernation and restarts.
   * @example
   * const { id } = await this.addMcpServer("counter", this.env.MY_MCP, { props: { userId: "u1" } });
   */
  async addMcpServer(name: string, binding: AgentNamespace, options?: AddRpcMcpServerOptions): Promise<{ id: string; state: "ready" }>;
  /** @deprecated Cloudflare's older positional form; pass `{ callbackHost, agentsPrefix }` instead. */
  async addMcpServer(name: string, url: string, callbackHost?: string, agentsPrefix?: string, options?: AddMcpServerOptions): Promise<AddMcpServerResult>;
  async addMcpServer(
    name: string,
    url: string | AgentNamespace,
    optionsOrHost?: AddMcpServerOptions | AddRpcMcpServerOptions | string,
    agentsPrefix?: string,
    options?: AddMcpServerOptions,
  ): Promise<AddMcpServerResult> {
    if (typeof url !== "string") return this.#mcpRuntime.addRpc(name, url, optionsOrHost as AddRpcMcpServerOptions | undefined);
    const resolved =
      typeof optionsOrHost === "string" ? { ...options, callbackHost: optionsOrHost, ...(agentsPrefix ? { agentsPrefix } : {}) } : optionsOrHost;
    return this.#mcpRuntime.add(name, url, resolved);
  }

  /**
   * Unmounts a server: stops reconnecting, ends its session and forgets its tokens.
   * @example
   * await this.removeMcpServer(id);
   */
  async removeMcpServer(id: string): Promise<void> {
    await this.#mcpRuntime.remove(id);
  }

  /**
   * The mounted servers with their state, tools, prompts and resources: what connected clients
   * receive in the `cf_agent_mcp_servers` frame (on connect and on every change).
   * @example
   * const { servers } = this.getMcpServers();
   * const waiting = Object.values(servers).filter((s) => s.state === "authenticating");
   */
  getMcpServers(): McpServersState {
    return this.#mcpRuntime.snapshot();
  }

  /**
   * Sends the `cf_agent_mcp_servers` frame to every connected client now. Hearth already sends it on
   * every change; this is for code written for the Agents SDK, which calls it after changes.
   * @example
   * this.mcp.onServerStateChanged(() => this.broadcastMcpServers());
   */
  broadcastMcpServers(): void {
    this.#mcpRuntime.changed();
  }

  get #mcpRuntime(): McpRuntime {
    if (!this.#mcp) {
      const runtime = this[AGENT_RUNTIME];
      this.#mcp = new McpRuntime({
        db: runtime.db,
        className: runtime.className,
        classSlug: runtime.classSlug,
        name: runtime.name,
        env: this.env,
        sendIdentityOnConnect: this[AGENT_OPTIONS].sendIdentityOnConnect,
        eventUrl: () => {
          // Only this agent's own event counts: its request, else the WebSocket it came on.
          const current = getCurrentAgent();
          return current.agent === this ? (current.request?.url ?? current.connection?.uri) : undefined;
        },
        keepAlive: () => runtime.keepAlive(),
        write: (fn) => runtime.blockConcurrencyWhile(async () => fn()),
        report: (error) => this[REPORT_ERROR](error),
        publish: (state) => {
          const frame = frames.mcpServers(state);
          for (const record of runtime.sockets()) {
            if (record.protocol && record.connected) this.getConnection(record.id)?.send(frame);
          }
        },
      });
      this.#mcp.onStateChanged((change) => emitMcpEvents(this, change, this.#mcp?.connection(change.serverId)));
    }
    return this.#mcp;
  }

  override [HANDLE.invalidate](): void {
    super[HANDLE.invalidate]();
    this.#mcp?.invalidate();
  }

  override [HANDLE.unload](): void {
    super[HANDLE.unload]();
    this.#mcp?.shutdown();
  }

  override [MCP_STATE](): McpServersState | undefined {
    return this.#mcp?.snapshot();
  }

  /** Start-up: the stored MCP servers reconnect in the background, without the user calling anything. */
  override async [HANDLE.start](props?: Record<string, unknown>): Promise<void> {
    let mounted = McpRuntime.hasServers(this[AGENT_RUNTIME].db);
    if (mounted) {
      // Loaded before onStart, so this.mcp.getAITools() works from there on.
      await loadModules().catch((error: unknown) => {
        mounted = false;
        this[REPORT_ERROR](new Error("The MCP client could not be loaded; mounted servers stay disconnected", { cause: error }));
      });
    }
    await super[HANDLE.start](props);
    if (mounted) {
      this.#mcpRuntime.store.tablesSeen();
      this.#mcpRuntime.restore();
    }
  }

  /** The OAuth callback of a mounted server is answered here, before onRequest. */
  override async [HANDLE.request](request: Request): Promise<Response> {
    const callback = this.#mcp ? await this.#mcp.handleCallback(request) : undefined;
    return callback ?? super[HANDLE.request](request);
  }
}
