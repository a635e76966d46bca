import { createHash, randomUUID } from "node:crypto";
import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from "@modelcontextprotocol/server";
import type { Agent } from "../../platform/agent.ts";
import { callerOfCurrentScope } from "../../agent/context.ts";
import { isAgentNamespace, type AgentNamespace, type AgentStub } from "../../host/namespace.ts";
import type { McpRpcReply } from "./server-transport.ts";

/** Instance names of MCP servers reached over RPC: `rpc:<name>:<session>`, beside `streamable-http:` and `sse:` sessions. */
export const RPC_AGENT_PREFIX = "rpc:";
/** Longest session key (UTF-8 bytes, once escaped) kept readable in the instance name; longer ones appear as their SHA-256. */
export const MAX_RPC_SESSION_KEY_BYTES = 256;

/** What an agent must offer to be an MCP server over RPC (`McpAgent` does). */
export type McpRpcAgent = Agent & {
  handleMcpMessage(message: JSONRPCMessage | JSONRPCMessage[]): Promise<McpRpcReply>;
  updateProps(props?: Record<string, unknown>): Promise<void>;
};

/**
 * Options of {@link RpcClientTransport}.
 * @example
 * new RpcClientTransport({ namespace: env.MyMcp, name: "docs", props: { userId: "u1" } });
 */
export interface RpcClientTransportOptions<T extends McpRpcAgent = McpRpcAgent> {
  /** The binding of an `McpAgent` class (`env.MyMcp`). */
  namespace: AgentNamespace<T>;
  /** Which server: with the session, it names the agent `rpc:<name>:<session>` of that class. */
  name: string;
  /** Becomes the server's `this.props` (stored with it, kept across hibernation). */
  props?: Record<string, unknown>;
  /**
   * Which session of the server this client is: the same key reaches the same session (its state,
   * props and handshake) again, after restarts too. Default: inside an agent, that agent
   * (`<Class>/<name>`), so each agent has its own session; outside any agent, a new session for this
   * transport, removed when it closes.
   */
  session?: string;
}

/**
 * The MCP SDK `Transport` that reaches an `McpAgent` through its agent binding instead of HTTP: each
 * message is a call of the agent's `handleMcpMessage` (in-process, no network, no authentication —
 * for servers of your own application). What the server sends comes back as the call's result,
 * elicitation and other server-to-client requests included. Each session is an agent of its own,
 * `rpc:<name>:<session>`, so clients never share props, request ids or cancellations.
 * @example
 * const client = new Client({ name: "my-agent", version: "1.0.0" });
 * await client.connect(new RpcClientTransport({ namespace: env.MyMcp, name: "docs" }));
 * const { tools } = await client.listTools();
 */
export class RpcClientTransport<T extends McpRpcAgent = McpRpcAgent> implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <M extends JSONRPCMessage>(message: M, extra?: MessageExtraInfo) => void;
  sessionId?: string;
  /** The McpAgent instance this transport talks to: `rpc:<name>:<session>`. */
  readonly agentName: string;
  readonly #namespace: AgentNamespace<T>;
  readonly #props: Record<string, unknown> | undefined;
  /** A session of this transport alone (no key given, no agent calling): it ends with the transport. */
  readonly #ephemeral: boolean;
  #stub: AgentStub<McpRpcAgent> | undefined;
  #protocolVersion: string | undefined;

  constructor(options: RpcClientTransportOptions<T>) {
    if (!isAgentNamespace(options?.namespace)) {
      throw new TypeError("RpcClientTransport: namespace must be an agent binding from env, e.g. env.MyMcp");
    }
    if (typeof options.name !== "string" || options.name.length === 0) {
      throw new TypeError("RpcClientTransport: name must be a non-empty string (it selects the server agent rpc:<name>)");
    }
    const prototype: unknown = options.namespace.agentClass.prototype;
    if (typeof (prototype as Partial<McpRpcAgent>).handleMcpMessage !== "function") {
      throw new TypeError(`RpcClientTransport: env.${options.namespace.className} is not an McpAgent (it has no handleMcpMessage)`);
    }
    if (options.session !== undefined && (typeof options.session !== "string" || options.session.length === 0)) {
      throw new TypeError("RpcClientTransport: session must be a non-empty string (it selects the server's session)");
    }
    const caller = callerOfCurrentScope();
    const session = options.session ?? (caller.kind === "agent" ? `${caller.className}/${caller.name}` : randomUUID());
    this.#namespace = options.namespace;
    this.#props = options.props;
    this.#ephemeral = options.session === undefined && caller.kind !== "agent";
    this.agentName = rpcSessionAgentName(options.name, session);
  }

  /** The negotiated protocol version (set by the SDK client after initialize). */
  get protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  async start(): Promise<void> {
    if (this.#stub) throw new Error("RpcClientTransport already started");
    const stub = this.#server();
    if (this.#props !== undefined) await stub.updateProps(this.#props);
    this.#stub = stub;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const stub = this.#stub;
    if (stub === undefined) throw new Error("RpcClientTransport is not started (or was closed)");
    let reply: McpRpcReply;
    try {
      reply = await untilAborted(stub.handleMcpMessage(message), options?.requestSignal);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.onerror?.(failure);
      throw failure;
    }
    if (reply === undefined || options?.requestSignal?.aborted) return;
    for (const received of Array.isArray(reply) ? reply : [reply]) this.onmessage?.(received);
  }

  /**
   * Ends the session: the server's session agent is removed with its storage (what `removeMcpServer`
   * does; an HTTP client's DELETE). The transport stays usable and would start a new session.
   */
  async terminateSession(): Promise<void> {
    await this.#server().destroy();
  }

  #server(): AgentStub<McpRpcAgent> {
    return (this.#namespace as unknown as AgentNamespace<McpRpcAgent>).getByName(this.agentName);
  }

  async close(): Promise<void> {
    if (this.#stub === undefined) return;
    this.#stub = undefined;
    try {
      if (this.#ephemeral) await this.terminateSession();
    } catch (error) {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)));
    }
    this.onclose?.();
  }
}

/**
 * The agent serving session `session` of the RPC server `name`: `rpc:<name>:<session>`. `%`, `:` and
 * `~` in the session are escaped, so the last `:` ends the name and no two (name, session) pairs
 * share an agent; a session key too long to read well is shown as `~<its SHA-256>`.
 * @example
 * rpcSessionAgentName("docs", "Assistant/alice"); // "rpc:docs:Assistant/alice"
 */
export function rpcSessionAgentName(name: string, session: string): string {
  const escaped = session.replace(/[%:~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  const shown = Buffer.byteLength(escaped) <= MAX_RPC_SESSION_KEY_BYTES ? escaped : `~${createHash("sha256").update(session).digest("hex")}`;
  return `${RPC_AGENT_PREFIX}${name}:${shown}`;
}

/** The call's result, or undefined as soon as the caller gives up on it. */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (signal === undefined) return pending;
  if (signal.aborted) {
    pending.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
