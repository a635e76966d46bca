/**
 * The OAuth client of one mounted server, for the official SDK's `auth()`: authorization code with
 * PKCE and dynamic client registration. Everything it must remember between the redirect and the
 * callback (and across hibernation and restarts) lives in the agent's `hearth_mcp_oauth` table.
 */
import { randomBytes } from "node:crypto";
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
  /** The SDK wants the user sent to `url`: the server now waits for authorization. */
  onAuthorizationUrl(url: URL): void;
}

/**
 * An {@link OAuthClientProvider} backed by the agent's SQLite database.
 * @example
 * const provider = new SqlOAuthProvider({ store, serverId, clientName: "Hearth Docs/alice", callbackUrl, onAuthorizationUrl });
 * new StreamableHTTPClientTransport(url, { authProvider: provider });
 */
export class SqlOAuthProvider implements OAuthClientProvider {
  readonly #options: OAuthProviderOptions;

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

  /** A fresh, single-use `state`; the server id in front lets the callback find its server. */
  state(): string {
    const state = `${this.#options.serverId}.${randomBytes(24).toString("base64url")}`;
    this.#set("state", state);
    return state;
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#get<StoredOAuthClientInformation>("client_information");
  }

  saveClientInformation(information: StoredOAuthClientInformation): void {
    this.#set("client_information", information);
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#get<StoredOAuthTokens>("tokens");
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.#set("tokens", tokens);
  }

  redirectToAuthorization(authorizationUrl: URL): void {
    this.#options.onAuthorizationUrl(authorizationUrl);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#set("code_verifier", codeVerifier);
  }

  codeVerifier(): string {
    const verifier = this.#get<string>("code_verifier");
    if (verifier === undefined) throw new Error("No PKCE code verifier is stored for this server: start the authorization again");
    return verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#set("discovery_state", state);
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#get<OAuthDiscoveryState>("discovery_state");
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "client") this.#set("client_information", null);
    if (scope === "all" || scope === "tokens") this.#set("tokens", null);
    if (scope === "all" || scope === "verifier") this.#set("code_verifier", null);
    if (scope === "all" || scope === "discovery") this.#set("discovery_state", null);
  }

  #get<T>(field: Parameters<McpStore["oauth"]>[1]): T | undefined {
    return this.#options.store.oauth<T>(this.#options.serverId, field);
  }

  #set(field: Parameters<McpStore["oauth"]>[1], value: unknown): void {
    this.#options.store.setOAuth(this.#options.serverId, field, value);
  }
}
