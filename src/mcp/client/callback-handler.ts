/**
 * The OAuth callback of an agent's servers. A callback is checked before its `state` is used up, as
 * the Agents SDK's two-phase check does: one that carries no code (or the authorization server's
 * `error`) fails the server but leaves the state to the user's own callback, so whoever learns a
 * state (it is in `auth_url`, which every client sees) cannot wedge the server. Once used, a state
 * is remembered for a while: a reload of the callback page, or a duplicate callback, gets the answer
 * the first one got.
 */
import { callbackResponse, isCallbackPath } from "./callback.ts";
import type { McpConnection } from "./connection.ts";
import { clip, messageOf } from "./errors.ts";
import { MCP_USED_STATE_TTL_MS, MCP_USED_STATES_PER_SERVER } from "./limits.ts";
import type { McpStore } from "./store.ts";
import type { McpConnectionState, McpOAuthCallbackConfig, McpOAuthResult } from "./types.ts";

/** What the callback needs from the agent's MCP client. */
export interface CallbackHost {
  readonly store: McpStore;
  readonly classSlug: string;
  readonly name: string;
  /** The `HEARTH_PUBLIC_URL` variable, if set. */
  publicUrl(): string | undefined;
  /** What `configureOAuthCallback` was given, as it is now. */
  callbackConfig(): McpOAuthCallbackConfig;
  connections(): McpConnection[];
  connection(id: string): McpConnection | undefined;
  /** A customHandler that failed (the agent's onError). */
  report(error: unknown): void;
}

/** A `state` a callback used, and whether that callback authorized its server. */
interface UsedState {
  readonly state: string;
  readonly at: number;
  readonly authorized: Promise<boolean>;
}

/** States of a server whose authorization is done (the SDK's "auth accepted"): a late callback for it is a success. */
const AUTHORIZED: ReadonlySet<McpConnectionState> = new Set(["connecting", "connected", "discovering", "ready"]);

const UNKNOWN_STATE = "Unknown or already used authorization state: start the authorization again.";

/**
 * Answers OAuth callbacks: `handle(request)` for every request the agent gets before its onRequest.
 * @example
 * const response = await callbacks.handle(request); // undefined: not a callback of this agent
 */
export class OAuthCallbacks {
  readonly #host: CallbackHost;
  /** Used states per server, oldest first, at most {@link MCP_USED_STATES_PER_SERVER} each. */
  readonly #used = new Map<string, UsedState[]>();

  constructor(host: CallbackHost) {
    this.#host = host;
  }

  /**
   * The answer to `request` when it is a GET to the callback path of one of this agent's servers;
   * undefined for anything else (the agent's own onRequest handles it).
   */
  async handle(request: Request): Promise<Response | undefined> {
    if (request.method !== "GET") return undefined;
    const url = new URL(request.url);
    const connections = this.#host.connections();
    const ownPath = (c: McpConnection) => c.record.callbackUrl !== undefined && new URL(c.record.callbackUrl).pathname === url.pathname;
    const atDefault = isCallbackPath(url.pathname, this.#host.classSlug, this.#host.name) && connections.some((c) => c.record.callbackUrl !== undefined);
    // Another path (callbackPath, registerServer's callbackUrl) is only taken over when the request carries an OAuth state.
    if (!atDefault && !(url.searchParams.has("state") && connections.some(ownPath))) return undefined;
    const result = await this.#settle(url.searchParams);
    return this.#answer(result, this.#origin(result.serverId, url));
  }

  /**
   * Where the browser is: the origin of the callback URL of the server the state belongs to, else of
   * `HEARTH_PUBLIC_URL`, else of the request (behind a proxy the request's own origin is the proxy's upstream).
   */
  #origin(serverId: string | undefined, url: URL): string {
    const stored = serverId === undefined ? undefined : this.#host.connection(serverId)?.record.callbackUrl;
    return originOf(stored) ?? originOf(this.#host.publicUrl()) ?? url.origin;
  }

  /** The server is gone: its used states with it. */
  forget(serverId: string): void {
    this.#used.delete(serverId);
  }

  /** What the callback did. Nothing is awaited between looking its state up and marking it used. */
  async #settle(params: URLSearchParams): Promise<McpOAuthResult> {
    const state = params.get("state");
    if (!state) return failure("The authorization response has no state parameter.");
    const used = this.#recall(state);
    if (used) return this.#again(used.serverId, used.authorized);
    const serverId = this.#host.store.serverForState(state);
    const connection = serverId === undefined ? undefined : this.#host.connection(serverId);
    if (!connection) return failure(UNKNOWN_STATE);
    if (AUTHORIZED.has(connection.state)) {
      // A late callback of an authorization another callback finished: used up, answered as a success.
      this.#remember(connection.serverId, state, Promise.resolve(true));
      await this.#host.store.setOAuth(connection.serverId, "state", null);
      return { serverId: connection.serverId, authSuccess: true };
    }
    const refusal = refusalOf(params);
    if (refusal !== undefined) {
      // The state stays usable: the user's own callback, with its code, can still finish the authorization.
      await connection.authorizationFailed(refusal);
      return failure(refusal, connection.serverId);
    }
    const outcome = this.#redeem(connection, params);
    this.#remember(connection.serverId, state, outcome.then((result) => result.authSuccess));
    return outcome;
  }

  /** Uses the state up, then exchanges the code; from here every failure leaves the server `failed`, ready for a new attempt. */
  async #redeem(connection: McpConnection, params: URLSearchParams): Promise<McpOAuthResult> {
    try {
      await this.#host.store.setOAuth(connection.serverId, "state", null);
    } catch (error) {
      const reason = `Authorization failed: ${messageOf(error)}`;
      await connection.authorizationFailed(reason).catch(() => {});
      return failure(reason, connection.serverId);
    }
    try {
      await connection.finishAuth(params);
    } catch (error) {
      return failure(messageOf(error), connection.serverId);
    }
    return { serverId: connection.serverId, authSuccess: true };
  }

  /** A used state again (a reload, a duplicate): success while its server stays authorized. */
  async #again(serverId: string, authorized: Promise<boolean>): Promise<McpOAuthResult> {
    const connection = this.#host.connection(serverId);
    if ((await authorized) && connection && AUTHORIZED.has(connection.state)) return { serverId, authSuccess: true };
    return failure(UNKNOWN_STATE, connection ? serverId : undefined);
  }

  #recall(state: string): (UsedState & { serverId: string }) | undefined {
    const now = Date.now();
    for (const [serverId, states] of this.#used) {
      const fresh = states.filter((used) => now - used.at < MCP_USED_STATE_TTL_MS);
      if (fresh.length === 0) this.#used.delete(serverId);
      else if (fresh.length !== states.length) this.#used.set(serverId, fresh);
      const found = fresh.find((used) => used.state === state);
      if (found) return { ...found, serverId };
    }
    return undefined;
  }

  #remember(serverId: string, state: string, authorized: Promise<boolean>): void {
    authorized.catch(() => {});
    const states = [...(this.#used.get(serverId) ?? []), { state, at: Date.now(), authorized }];
    this.#used.set(serverId, states.slice(-MCP_USED_STATES_PER_SERVER));
  }

  /** The user's `customHandler`, else the redirect the configuration asks for (by default to the origin). */
  async #answer(result: McpOAuthResult, origin: string): Promise<Response> {
    const config = this.#host.callbackConfig();
    if (config.customHandler) {
      try {
        const response = await config.customHandler(result);
        if (response instanceof Response) return response;
        throw new TypeError(`configureOAuthCallback: customHandler must return a Response, got ${response === null ? "null" : typeof response}`);
      } catch (error) {
        this.#host.report(error);
      }
    }
    return callbackResponse(result.authSuccess ? { ok: true } : { ok: false, message: result.authError }, config, origin);
  }
}

/** Why a callback cannot authorize: the authorization server's `error`, or no `code`; undefined when it can. */
function refusalOf(params: URLSearchParams): string | undefined {
  const error = params.get("error");
  if (error !== null) {
    const description = params.get("error_description");
    return clip(`The authorization server refused: ${error}${description ? ` (${description})` : ""}`, 500);
  }
  return params.get("code") ? undefined : "The authorization response has no code parameter.";
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`;
  if (!URL.canParse(withScheme)) return undefined;
  const origin = new URL(withScheme).origin;
  return origin === "null" ? undefined : origin;
}

function failure(authError: string, serverId?: string): McpOAuthResult {
  return { ...(serverId === undefined ? {} : { serverId }), authSuccess: false, authError };
}
