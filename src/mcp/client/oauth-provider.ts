/**
 * The OAuth client of one mounted server, for the official SDK's `auth()`: authorization code with
 * PKCE and dynamic client registration. Everything it must remember between the redirect and the
 * callback (and across hibernation and restarts) lives in the agent's `hearth_mcp_oauth` table.
 *
 * Token refresh is single-flight per server: calls that hit a 401 together each run `auth()`, and
 * with an authorization server that rotates refresh tokens only the first refresh may succeed. Their
 * refresh requests share one answer ({@link SqlOAuthProvider.authorizedFetch}), tokens carrying a
 * rotated refresh token are never saved again, and an `invalid_grant` for a refresh token that is no
 * longer the current one does not discard the tokens that replaced it.
 */
import { createHash, randomBytes } from "node:crypto";
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import type { McpStore } from "./store.ts";

/** Refresh answers kept per server, so a late request for an already rotated refresh token gets the answer too. */
const KEPT_REFRESHES = 8;

/** An answer of the token endpoint, kept whole so that each caller gets its own copy. */
interface RecordedResponse {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: ArrayBuffer;
  url: string;
}

export interface OAuthProviderOptions {
  store: McpStore;
  serverId: string;
  /** Shown to the user on the authorization server's consent page. */
  clientName: string;
  /** The agent's callback URL; throws when no public URL is known. */
  callbackUrl(): string;
  /**
   * The SDK wants the user sent to `url`. False when an earlier authorization URL of this server
   * still stands (two requests hit a 401 at once): the later flow is dropped, so the state, PKCE
   * verifier and URL the user sees always belong together.
   */
  acceptAuthorizationUrl(url: URL): boolean;
}

/**
 * An {@link OAuthClientProvider} backed by the agent's SQLite database.
 * @example
 * const provider = new SqlOAuthProvider({ store, serverId, clientName: "Hearth Docs/alice", callbackUrl, onAuthorizationUrl });
 * new StreamableHTTPClientTransport(url, { authProvider: provider });
 */
export class SqlOAuthProvider implements OAuthClientProvider {
  readonly #options: OAuthProviderOptions;
  /** Verifiers of flows under way; the one whose challenge is in the accepted URL is kept. */
  #verifiers: string[] = [];
  /** The last tokens seen, for the requests that end a session after the database closed. */
  #tokens: StoredOAuthTokens | undefined;
  /** Tokens saved (or null: discarded) whose write is not committed yet: reads see them at once. */
  #unsaved: { tokens: StoredOAuthTokens | null } | undefined;
  /** Answers to refresh requests, by token endpoint and refresh token (see {@link authorizedFetch}). */
  readonly #refreshes = new Map<string, Promise<RecordedResponse>>();
  /** Refresh tokens the authorization server replaced with new ones. */
  readonly #rotated = new Set<string>();
  /** The refresh token of the last refresh the authorization server refused, until the SDK reacts to it. */
  #refused: string | undefined;
  /** The connection was closed or its server removed: nothing is written any more. */
  #closed = false;

  constructor(options: OAuthProviderOptions) {
    this.#options = options;
  }

  get redirectUrl(): string {
    return this.#options.callbackUrl();
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: this.#options.clientName,
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** A fresh, single-use `state`; stored with its flow's verifier once that flow's URL is accepted. */
  state(): string {
    return `${this.#options.serverId}.${randomBytes(24).toString("base64url")}`;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#get<StoredOAuthClientInformation>("client_information");
  }

  saveClientInformation(information: StoredOAuthClientInformation): Promise<void> {
    return this.#set("client_information", information);
  }

  tokens(): StoredOAuthTokens | undefined {
    if (this.#unsaved) return this.#unsaved.tokens ?? undefined;
    if (!this.#options.store.isOpen) return this.#tokens;
    this.#tokens = this.#get<StoredOAuthTokens>("tokens");
    return this.#tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    // A late copy of tokens that a refresh already replaced: saving it would bring back a refresh
    // token the authorization server no longer accepts.
    if (tokens.refresh_token !== undefined && this.#rotated.has(tokens.refresh_token)) return Promise.resolve();
    this.#tokens = tokens;
    return this.#setTokens(tokens);
  }

  /**
   * Stops writing: after the connection closed (or its server was removed), a flow still under way
   * must not store anything for it.
   */
  close(): void {
    this.#closed = true;
  }

  /**
   * Wraps the `fetch` of this server's transports so that token refresh is single-flight:
   * - refresh requests for the same refresh token share one request to the authorization server,
   *   each caller getting its own copy of the answer; a successful answer is kept (for the last few
   *   refresh tokens), so a caller that read the tokens before they were replaced gets it too,
   *   instead of an `invalid_grant` for a refresh token that was already rotated;
   * - a 401 answered to an access token that was replaced meanwhile is retried once with the
   *   current one, without refreshing again.
   * @example
   * new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: provider.authorizedFetch(guarded) });
   */
  authorizedFetch(base: typeof fetch): typeof fetch {
    return async (input, init) => {
      const refreshToken = refreshTokenOf(init);
      if (refreshToken !== undefined) {
        const key = `${urlOf(input)} ${refreshToken}`;
        const answer = this.#refreshes.get(key) ?? this.#refresh(key, refreshToken, () => base(input, init));
        return replay(await answer);
      }
      const response = await base(input, init);
      if (response.status !== 401 || input instanceof Request || !resendable(init?.body)) return response;
      const sent = new Headers(init?.headers).get("authorization");
      const current = this.tokens()?.access_token;
      if (sent === null || current === undefined || sent === `Bearer ${current}`) return response;
      await response.body?.cancel().catch(() => {});
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${current}`);
      return base(input, { ...init, headers });
    };
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    if (this.#closed) return;
    const challenge = authorizationUrl.searchParams.get("code_challenge");
    const verifier = this.#verifiers.find((v) => createHash("sha256").update(v).digest("base64url") === challenge);
    this.#verifiers = this.#verifiers.filter((v) => v !== verifier);
    if (verifier === undefined || !this.#options.acceptAuthorizationUrl(authorizationUrl)) return;
    await this.#options.store.setPendingAuthorization(this.#options.serverId, {
      url: authorizationUrl.href,
      state: authorizationUrl.searchParams.get("state"),
      verifier,
    });
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#verifiers = [...this.#verifiers.slice(-7), codeVerifier];
  }

  codeVerifier(): string {
    const verifier = this.#get<string>("code_verifier");
    if (verifier === undefined) throw new Error("No PKCE code verifier is stored for this server: start the authorization again");
    return verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    return this.#set("discovery_state", state);
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#get<OAuthDiscoveryState>("discovery_state");
  }

  async invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): Promise<void> {
    const refused = this.#refused;
    this.#refused = undefined;
    // The SDK discards the tokens after an invalid_grant. When the refused refresh token is no longer
    // the current one (a parallel refresh replaced it), the tokens stored now are newer and stay.
    const current = this.tokens()?.refresh_token;
    if (scope === "tokens" && refused !== undefined && current !== undefined && current !== refused) return;
    if (scope === "all" || scope === "client") await this.#set("client_information", null);
    if (scope === "all" || scope === "tokens") await this.#setTokens(null);
    if (scope === "all" || scope === "verifier") await this.#set("code_verifier", null);
    if (scope === "all" || scope === "discovery") await this.#set("discovery_state", null);
  }

  /** Sends a refresh request and records its answer under `key` for the callers that ask the same. */
  #refresh(key: string, refreshToken: string, send: () => Promise<Response>): Promise<RecordedResponse> {
    const answer = send().then(record);
    this.#refreshes.set(key, answer);
    for (const old of this.#refreshes.keys()) {
      if (this.#refreshes.size <= KEPT_REFRESHES) break;
      this.#refreshes.delete(old);
    }
    answer.then(
      (recorded) => {
        const issued = recorded.status >= 200 && recorded.status < 300 ? issuedRefreshToken(recorded) : undefined;
        if (issued !== undefined && issued !== refreshToken) {
          remember(this.#rotated, refreshToken);
          return; // kept: the refresh token it answers for can never be used again
        }
        if (this.#refreshes.get(key) === answer) this.#refreshes.delete(key);
        if (recorded.status >= 400 && recorded.status < 500) this.#refused = refreshToken;
      },
      () => {
        if (this.#refreshes.get(key) === answer) this.#refreshes.delete(key);
      },
    );
    return answer;
  }

  async #setTokens(tokens: StoredOAuthTokens | null): Promise<void> {
    if (this.#closed) return;
    const unsaved = { tokens };
    this.#unsaved = unsaved;
    try {
      await this.#set("tokens", tokens);
    } finally {
      if (this.#unsaved === unsaved) this.#unsaved = undefined;
    }
  }

  #get<T>(field: Parameters<McpStore["oauth"]>[1]): T | undefined {
    return this.#options.store.oauth<T>(this.#options.serverId, field);
  }

  #set(field: Parameters<McpStore["oauth"]>[1], value: unknown): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#options.store.setOAuth(this.#options.serverId, field, value);
  }
}

/** The refresh token of a refresh request (`grant_type=refresh_token`), if `init` is one. */
function refreshTokenOf(init: RequestInit | undefined): string | undefined {
  const body = init?.body;
  if ((init?.method ?? "GET").toUpperCase() !== "POST" || body === undefined || body === null) return undefined;
  const form = body instanceof URLSearchParams ? body : typeof body === "string" ? new URLSearchParams(body) : undefined;
  if (form?.get("grant_type") !== "refresh_token") return undefined;
  return form.get("refresh_token") ?? undefined;
}

/** A body that can be sent a second time. */
function resendable(body: RequestInit["body"]): boolean {
  return body === undefined || body === null || typeof body === "string" || body instanceof URLSearchParams;
}

function urlOf(input: string | URL | Request): string {
  return typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
}

async function record(response: Response): Promise<RecordedResponse> {
  return {
    status: response.status,
    statusText: response.statusText,
    headers: [...response.headers],
    body: await response.arrayBuffer(),
    url: response.url,
  };
}

function replay(recorded: RecordedResponse): Response {
  const empty = recorded.status === 204 || recorded.status === 205 || recorded.status === 304;
  const response = new Response(empty ? null : recorded.body.slice(0), {
    status: recorded.status,
    statusText: recorded.statusText,
    headers: recorded.headers,
  });
  Object.defineProperty(response, "url", { value: recorded.url });
  return response;
}

/** The refresh token a successful token response hands out, if any. */
function issuedRefreshToken(recorded: RecordedResponse): string | undefined {
  try {
    const body = JSON.parse(new TextDecoder().decode(recorded.body)) as { refresh_token?: unknown };
    return typeof body.refresh_token === "string" ? body.refresh_token : undefined;
  } catch {
    return undefined;
  }
}

function remember(set: Set<string>, value: string): void {
  set.add(value);
  for (const old of set) {
    if (set.size <= KEPT_REFRESHES * 4) break;
    set.delete(old);
  }
}
