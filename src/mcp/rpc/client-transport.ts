import type { JSONRPCMessage, MessageExtraInfo, Transport, TransportSendOptions } from "@modelcontextprotocol/server";
import type { Agent } from "../../agent/agent.ts";
import { isAgentNamespace, type AgentNamespace, type AgentStub } from "../../host/namespace.ts";
import type { McpRpcReply } from "./server-transport.ts";

/** Instance names of MCP servers reached over RPC: `rpc:<name>`, beside `streamable-http:` and `sse:` sessions. */
export const RPC_AGENT_PREFIX = "rpc:";

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
  /** Which server: the agent `rpc:<name>` of that class, the same one for everyone using this name. */
  name: string;
  /** Becomes the server's `this.props` (stored with it, kept across hibernation). */
  props?: Record<string, unknown>;
}

/**
 * The MCP SDK `Transport` that reaches an `McpAgent` through its agent binding instead of HTTP: each
 * message is a call of the agent's `handleMcpMessage` (in-process, no network, no authentication —
 * for servers of your own application). What the server sends comes back as the call's result,
 * elicitation and other server-to-client requests included.
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
  readonly #namespace: AgentNamespace<T>;
  readonly #name: string;
  readonly #props: Record<string, unknown> | undefined;
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
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#props = options.props;
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
    const stub = (this.#namespace as unknown as AgentNamespace<McpRpcAgent>).getByName(`${RPC_AGENT_PREFIX}${this.#name}`);
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

  async close(): Promise<void> {
    if (this.#stub === undefined) return;
    this.#stub = undefined;
    this.onclose?.();
  }
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
