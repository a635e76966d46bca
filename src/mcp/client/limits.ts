/**
 * Limits of the MCP client: every remote server is untrusted, so each wait is bounded in time and
 * each answer in size. Documented in docs/limits.md ("MCP client"); every error names its limit.
 */

/** Per-server limits; any of them can be changed with `addMcpServer(name, url, { limits })`. */
export interface McpClientLimits {
  /** Connecting: the HTTP exchange, OAuth token refresh and the `initialize` handshake. */
  connectTimeoutMs: number;
  /** Listing the server's tools, prompts and resources after connecting. */
  discoveryTimeoutMs: number;
  /** One call: `callTool`, `readResource`, `getPrompt` (a call's own `timeout` option wins). */
  callTimeoutMs: number;
  /** One HTTP response body, or one event of an event stream. */
  maxResponseBytes: number;
  /** Tools, prompts or resources listed by one server (each kind counts on its own). */
  maxListItems: number;
  /** Everything discovered on one server (tools, prompts, resources), as JSON. */
  maxCatalogBytes: number;
}

/**
 * The defaults.
 * @example
 * await this.addMcpServer("slow-but-fine", url, { limits: { callTimeoutMs: 4 * MCP_CLIENT_LIMITS.callTimeoutMs } });
 */
export const MCP_CLIENT_LIMITS: Readonly<McpClientLimits> = Object.freeze({
  connectTimeoutMs: 15_000,
  discoveryTimeoutMs: 15_000,
  callTimeoutMs: 30_000,
  maxResponseBytes: 8 * 1024 * 1024,
  maxListItems: 1_000,
  maxCatalogBytes: 8 * 1024 * 1024,
});

/**
 * Servers one agent may mount.
 * @example
 * if (this.mcp.listServers().length >= MAX_MCP_SERVERS) await this.removeMcpServer(oldest.id);
 */
export const MAX_MCP_SERVERS = 64;

/**
 * Pages of one listing (`tools/list`, `prompts/list`, `resources/list`) during discovery: a server
 * that keeps sending new cursors fails at once instead of at `discoveryTimeoutMs`.
 */
export const MAX_LIST_PAGES = 100;

/**
 * Reconnecting after a wake, a dropped connection or an authorization, as the Agents SDK does by
 * default: 3 attempts in all, jittered, from 500 ms doubling up to 5 s; then the server stays
 * `failed` until `connectToServer`, `addMcpServer` or the next wake. A server's own `retry` wins.
 */
export const MCP_RECONNECT = Object.freeze({ maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 5_000 });

/**
 * OAuth callbacks whose `state` was used, kept per server so a reload of the callback page (or a
 * duplicate callback) is answered as the first one was: at most this many per server, each for
 * {@link MCP_USED_STATE_TTL_MS}, in memory (a restart forgets them).
 */
export const MCP_USED_STATES_PER_SERVER = 4;

/** How long a used OAuth callback `state` is remembered (see {@link MCP_USED_STATES_PER_SERVER}). */
export const MCP_USED_STATE_TTL_MS = 10 * 60_000;

/** Longest `error` text in the `cf_agent_mcp_servers` frame, as the Agents SDK cuts it. */
export const MAX_FRAME_ERROR_LENGTH = 500;

const KEYS = Object.keys(MCP_CLIENT_LIMITS) as Array<keyof McpClientLimits>;

/**
 * Fills in defaults and validates overrides eagerly.
 * @throws TypeError for unknown keys; RangeError for values that are not positive numbers
 * @example
 * resolveLimits({ callTimeoutMs: 120_000 }).callTimeoutMs; // 120000
 */
export function resolveLimits(overrides: Partial<McpClientLimits> | undefined): McpClientLimits {
  const limits = { ...MCP_CLIENT_LIMITS };
  if (overrides === undefined || overrides === null) return limits;
  if (typeof overrides !== "object" || Array.isArray(overrides)) {
    throw new TypeError(`MCP limits must be an object with ${KEYS.join(", ")}`);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (!(KEYS as string[]).includes(key)) throw new TypeError(`Unknown MCP limit ${JSON.stringify(key)}; expected ${KEYS.join(", ")}`);
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new RangeError(`MCP limit ${key} must be a positive number, got ${String(value)}`);
    }
    limits[key as keyof McpClientLimits] = value;
  }
  return limits;
}
