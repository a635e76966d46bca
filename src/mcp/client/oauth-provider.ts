/**
 * The OAuth client of one mounted server, for the official SDK's `auth()`: authorization code with
 * PKCE and dynamic client registration. Everything it must remember between the redirect and the
 * callback (and across hibernation and restarts) lives in the agent's `hearth_mcp_oauth` table.
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
    if (!this.#options.store.isOpen) return this.#tokens;
    this.#tokens = this.#get<StoredOAuthTokens>("tokens");
    return this.#tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    this.#tokens = tokens;
    return this.#set("tokens", tokens);
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
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
    if (scope === "all" || scope === "client") await this.#set("client_information", null);
    if (scope === "all" || scope === "tokens") await this.#set("tokens", null);
    if (scope === "all" || scope === "verifier") await this.#set("code_verifier", null);
    if (scope === "all" || scope === "discovery") await this.#set("discovery_state", null);
  }

  #get<T>(field: Parameters<McpStore["oauth"]>[1]): T | undefined {
    return this.#options.store.oauth<T>(this.#options.serverId, field);
  }

  #set(field: Parameters<McpStore["oauth"]>[1], value: unknown): Promise<void> {
    return this.#options.store.setOAuth(this.#options.serverId, field, value);
  }
}
