/**
 * The WebSocket wire protocol, shaped exactly like Cloudflare's Agents SDK so that its clients
 * (`agents/client`, `agents/react`) work unchanged. All frames are JSON text.
 */

/** Client → agent: call a callable method. */
export interface RpcRequestFrame {
  type: "rpc";
  id: string;
  method: string;
  args: unknown[];
}

/** Client → agent: replace the agent's state. */
export interface StateUpdateFrame {
  type: "cf_agent_state";
  state: unknown;
}

/**
 * Where a mounted server stands: `authenticating` (waiting for the user to authorize, see `auth_url`)
 * → `connecting` → `connected` → `discovering` (listing tools, prompts, resources) → `ready`;
 * `failed` with the reason in `error`; `not-connected` once closed with `closeConnection()` (still
 * mounted, connected again by `connectToServer()` or the agent's next start, out of
 * `mcpConnections`, as in the Agents SDK).
 */
export type McpConnectionState = "authenticating" | "connecting" | "connected" | "discovering" | "ready" | "failed" | "not-connected";

export const MESSAGE_TYPES = {
  rpc: "rpc",
  identity: "cf_agent_identity",
  state: "cf_agent_state",
  stateError: "cf_agent_state_error",
  mcpServers: "cf_agent_mcp_servers",
  /** Hearth's own frame for input it cannot accept outside an RPC (bad JSON, unknown type, too large). */
  error: "hearth_error",
  /** Hearth's frames about workflows an agent started: progress, completion, failure. */
  workflowProgress: "workflow_progress",
  workflowComplete: "workflow_complete",
  workflowError: "workflow_error",
} as const;

export type IncomingFrame =
  | { kind: "rpc"; frame: RpcRequestFrame }
  | { kind: "state"; frame: StateUpdateFrame }
  /** Valid JSON that is not a protocol frame, or not JSON at all: the agent's own onMessage decides. */
  | { kind: "other"; frame?: Record<string, unknown> }
  /**
   * Has a protocol frame's `type` but not the fields the Agents SDK requires of one (its
   * `isRPCRequest` / `isStateFrame`): as there, a class with `onMessage` gets it; for one without,
   * `error` tells the sender what is missing (`id` is set when an RPC reply can carry it).
   */
  | { kind: "invalid"; error: string; id?: string };

/**
 * Classifies a text frame without throwing, as the Agents SDK does: an RPC request has a string
 * `id`, a string `method` and an `args` array; a state frame has a `state` field.
 */
export function parseIncoming(text: string): IncomingFrame {
  if (text.length === 0 || (text[0] !== "{" && text.trimStart()[0] !== "{")) return { kind: "other" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "other" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "other" };
  const frame = value as Record<string, unknown>;
  if (frame.type === MESSAGE_TYPES.rpc) {
    const { id, method, args } = frame;
    if (typeof id !== "string") return { kind: "invalid", error: 'RPC frame needs a string "id"' };
    const replyable = id.length > 0 ? { id } : {};
    if (typeof method !== "string") return { kind: "invalid", ...replyable, error: 'RPC frame needs a string "method"' };
    if (!Array.isArray(args)) return { kind: "invalid", ...replyable, error: args === undefined ? 'RPC frame needs an "args" array' : 'RPC "args" must be an array' };
    return { kind: "rpc", frame: { type: "rpc", id, method, args } };
  }
  if (frame.type === MESSAGE_TYPES.state) {
    if (!("state" in frame)) return { kind: "invalid", error: 'cf_agent_state frame needs a "state" field' };
    return { kind: "state", frame: { type: "cf_agent_state", state: frame.state } };
  }
  return { kind: "other", frame };
}

const NO_MCP_SERVERS = Object.freeze({ servers: {}, tools: [], prompts: [], resources: [] });

export const frames = {
  /** `stateFollows` tells the client a state frame comes next, so it can wait for it before "ready". */
  identity: (name: string, agent: string, stateFollows: boolean) =>
    JSON.stringify(stateFollows ? { type: MESSAGE_TYPES.identity, name, agent, stateFollows } : { type: MESSAGE_TYPES.identity, name, agent }),
  state: (state: unknown) => JSON.stringify({ type: MESSAGE_TYPES.state, state }),
  stateError: (error: string) => JSON.stringify({ type: MESSAGE_TYPES.stateError, error }),
  /** The agent's mounted MCP servers with their tools, prompts and resources (empty when none). */
  mcpServers: (mcp: unknown = NO_MCP_SERVERS) => JSON.stringify({ type: MESSAGE_TYPES.mcpServers, mcp }),
  rpcResult: (id: string, result: unknown, done: boolean) =>
    JSON.stringify({ type: MESSAGE_TYPES.rpc, id, success: true, result, done }),
  rpcError: (id: string, error: string) => JSON.stringify({ type: MESSAGE_TYPES.rpc, id, success: false, error }),
  error: (error: string) => JSON.stringify({ type: MESSAGE_TYPES.error, error }),
  workflow: ({ event, ...rest }: { event: "progress" | "complete" | "error"; workflowName: string; workflowId: string; progress?: unknown; error?: string }) =>
    JSON.stringify({ type: `workflow_${event}`, ...rest }),
};

/**
 * What a frame too large to parse is, read from its two ends (its head and its tail, a few hundred
 * characters each), so that its refusal reaches the caller the way its protocol expects: an RPC's
 * promise fails, a chat request ends, a client `setState` gets `cf_agent_state_error`. Clients put
 * the top-level fields first (Hearth's) or after the payload (Cloudflare's `{args,id,method,type}`,
 * `{state,type}`), so the id is taken from the end the type was found at.
 * @example sniffFrame('{"args":["…"],"id":"7","method":"m","type":"rpc"}'.slice(0, 512), '…"id":"7","method":"m","type":"rpc"}') // { kind: "rpc", id: "7" }
 */
export function sniffFrame(head: string, tail: string): { kind: "rpc" | "chat"; id: string } | { kind: "state" } | undefined {
  for (const [end, first] of [[head, true], [tail, false]] as const) {
    const kind = /"type"\s*:\s*"rpc"/.test(end) ? "rpc" : /"type"\s*:\s*"cf_agent_use_chat_request"/.test(end) ? "chat" : /"type"\s*:\s*"cf_agent_state"/.test(end) ? "state" : undefined;
    if (kind === undefined) continue;
    if (kind === "state") return { kind };
    const ids = [...end.matchAll(/"id"\s*:\s*"([^"\\]{1,256})"/g)].map((match) => match[1]!);
    const id = first ? ids[0] : ids.at(-1);
    if (id !== undefined) return { kind, id };
  }
  return undefined;
}

/** Ends a chat request with an error (what `useAgentChat` shows as the chat's error). */
export function chatRequestError(id: string, error: string): string {
  return JSON.stringify({ type: "cf_agent_use_chat_response", id, body: error, done: true, error: true });
}
