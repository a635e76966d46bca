import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  auth,
  discoverAuthorizationServerMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import { startOAuthServer, type OAuthServer } from "./oauth-server.ts";

const REDIRECT = "http://127.0.0.1:9/callback";
const RESOURCE = "http://127.0.0.1:9/mcp";

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

describe("test OAuth authorization server", () => {
  let as: OAuthServer;
  beforeAll(async () => {
    as = await startOAuthServer();
  });
  afterAll(() => as.close());

  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${as.url}${path}`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });

  async function registerPublic(): Promise<string> {
    const res = await fetch(`${as.url}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"], client_name: "by hand" }),
    });
    expect(res.status).toBe(201);
    const info = (await res.json()) as Record<string, unknown>;
    expect(info).toMatchObject({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", client_name: "by hand" });
    expect(info.client_secret).toBeUndefined();
    expect(typeof info.client_id_issued_at).toBe("number");
    return info.client_id as string;
  }

  async function authorize(clientId: string, challenge: string, extra: Record<string, string> = {}): Promise<URL> {
    const url = new URL(`${as.url}/authorize`);
    const params = { response_type: "code", client_id: clientId, redirect_uri: REDIRECT, code_challenge: challenge, code_challenge_method: "S256", state: "s-1", ...extra };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, { redirect: "manual" });
    expect(res.status).toBe(302);
    return new URL(res.headers.get("location")!);
  }

  it("runs register → authorize → token → refresh with rotation → revokeAll", async () => {
    const clientId = await registerPublic();
    const { verifier, challenge } = pkce();
    const callback = await authorize(clientId, challenge, { scope: "mcp read", resource: RESOURCE });
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    expect(callback.searchParams.get("state")).toBe("s-1");
    expect(callback.searchParams.get("iss")).toBe(as.url);
    const code = callback.searchParams.get("code")!;

    const res = await post("/token", { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: clientId });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const tokens = (await res.json()) as { access_token: string; refresh_token: string; token_type: string; expires_in: number; scope: string };
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "mcp read" });
    expect(as.isActive(tokens.access_token)).toBe(true);

    const refreshed = await post("/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as typeof tokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.scope).toBe("mcp read");

    const replay = await post("/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId });
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: "invalid_grant" });

    const before = (await (await post("/introspect", { token: next.access_token })).json()) as Record<string, unknown>;
    expect(before).toMatchObject({ active: true, sub: "user-1", client_id: clientId, scope: "mcp read", aud: RESOURCE });

    as.revokeAll(clientId);
    const afterRevoke = await post("/token", { grant_type: "refresh_token", refresh_token: next.refresh_token, client_id: clientId });
    expect(afterRevoke.status).toBe(400);
    expect(await afterRevoke.json()).toMatchObject({ error: "invalid_grant" });
    expect(as.isActive(next.access_token)).toBe(false);
    expect(await (await post("/introspect", { token: next.access_token })).json()).toEqual({ active: false });
    expect(as.stats).toMatchObject({ codeExchanges: 1, refreshes: 1, failedTokenRequests: 2 });
  });

  it("rejects a wrong PKCE verifier, a missing challenge and a replayed code", async () => {
    const clientId = await registerPublic();
    const { challenge } = pkce();
    const code = (await authorize(clientId, challenge)).searchParams.get("code")!;
    const wrong = await post("/token", { grant_type: "authorization_code", code, code_verifier: pkce().verifier, redirect_uri: REDIRECT, client_id: clientId });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ error: "invalid_grant", error_description: expect.stringContaining("code_verifier") });
    const again = await post("/token", { grant_type: "authorization_code", code, code_verifier: pkce().verifier, redirect_uri: REDIRECT, client_id: clientId });
    expect(await again.json()).toMatchObject({ error: "invalid_grant" });

    const noPkce = await authorize(clientId, "", { code_challenge_method: "plain" });
    expect(noPkce.searchParams.get("error")).toBe("invalid_request");
    expect(noPkce.searchParams.get("state")).toBe("s-1");

    const unknown = await fetch(`${as.url}/authorize?response_type=code&client_id=nope&redirect_uri=${encodeURIComponent(REDIRECT)}`, { redirect: "manual" });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("content-type")).toMatch(/text\/html/);

    const badClient = await fetch(`${as.url}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: ["ftp://x"] }) });
    expect(badClient.status).toBe(400);
    expect(await badClient.json()).toMatchObject({ error: "invalid_redirect_uri" });
    const notJson = await fetch(`${as.url}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(await notJson.json()).toMatchObject({ error: "invalid_client_metadata" });
  });

  it("issues ES256 JWTs that verify against /jwks", async () => {
    const jwks = createRemoteJWKSet(new URL(as.jwksUrl));
    const token = await as.issueAccessToken({ sub: "alice", scope: "read", aud: RESOURCE, client_id: "direct" });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: as.url, audience: RESOURCE });
    expect(protectedHeader).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(payload).toMatchObject({ sub: "alice", scope: "read", client_id: "direct", iss: as.url, aud: RESOURCE });
    expect(typeof payload.jti).toBe("string");
    expect(payload.exp! - payload.iat!).toBe(3600);
    const expired = await as.issueAccessToken({ sub: "alice", expiresInSeconds: -10 });
    expect(as.isActive(expired)).toBe(false);
    await expect(jwtVerify(expired, jwks, { issuer: as.url })).rejects.toThrow(/exp/);
  });

  it("speaks the MCP client SDK's discovery, registration, authorization and token shapes", async () => {
    const metadata = await discoverAuthorizationServerMetadata(as.url);
    expect(metadata).toMatchObject({ issuer: as.url, registration_endpoint: `${as.url}/register`, code_challenge_methods_supported: ["S256"] });
    const client = await registerClient(as.url, {
      metadata,
      clientMetadata: { redirect_uris: [REDIRECT], client_name: "sdk", grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "client_secret_basic" },
      scope: "mcp",
    });
    expect(client.client_secret).toBeTypeOf("string");
    const { authorizationUrl, codeVerifier } = await startAuthorization(as.url, { metadata, clientInformation: client, redirectUrl: REDIRECT, scope: "mcp", state: "st", resource: RESOURCE });
    const callback = new URL((await fetch(authorizationUrl, { redirect: "manual" })).headers.get("location")!);
    const tokens = await exchangeAuthorization(as.url, {
      metadata,
      clientInformation: client,
      authorizationCode: callback.searchParams.get("code")!,
      iss: callback.searchParams.get("iss")!,
      codeVerifier,
      redirectUri: REDIRECT,
      resource: RESOURCE,
    });
    expect(tokens).toMatchObject({ token_type: "Bearer", scope: "mcp" });
    const refreshed = await refreshAuthorization(as.url, { metadata, clientInformation: client, refreshToken: tokens.refresh_token!, resource: RESOURCE });
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    const wrongSecret = await post("/token", { grant_type: "refresh_token", refresh_token: refreshed.refresh_token! }, { authorization: `Basic ${btoa(`${client.client_id}:nope`)}` });
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ error: "invalid_client" });
  });

  it("completes the SDK's auth() orchestration: discovery, registration, redirect, code exchange, refresh", async () => {
    const saved: { client?: StoredOAuthClientInformation; tokens?: StoredOAuthTokens; verifier?: string; discovery?: OAuthDiscoveryState; redirect?: URL } = {};
    const provider: OAuthClientProvider = {
      redirectUrl: REDIRECT,
      clientMetadata: { redirect_uris: [REDIRECT], client_name: "auth()", token_endpoint_auth_method: "none", scope: "mcp" },
      state: () => "auth-state",
      clientInformation: () => saved.client,
      saveClientInformation: (info) => void (saved.client = info),
      tokens: () => saved.tokens,
      saveTokens: (tokens) => void (saved.tokens = tokens),
      redirectToAuthorization: (url) => void (saved.redirect = url),
      saveCodeVerifier: (verifier) => void (saved.verifier = verifier),
      codeVerifier: () => saved.verifier!,
      discoveryState: () => saved.discovery,
      saveDiscoveryState: (state) => void (saved.discovery = state),
    };
    const serverUrl = `${as.url}/mcp`;
    expect(await auth(provider, { serverUrl })).toBe("REDIRECT");
    const callback = new URL((await fetch(saved.redirect!, { redirect: "manual" })).headers.get("location")!);
    expect(callback.searchParams.get("state")).toBe("auth-state");
    const code = callback.searchParams.get("code")!;
    expect(await auth(provider, { serverUrl, authorizationCode: code, iss: callback.searchParams.get("iss")! })).toBe("AUTHORIZED");
    const first = saved.tokens!;
    expect(as.isActive(first.access_token)).toBe(true);
    expect(await auth(provider, { serverUrl })).toBe("AUTHORIZED");
    expect(saved.tokens!.refresh_token).not.toBe(first.refresh_token);
  });

  it("holds requests for approval when autoApprove is false", async () => {
    const manual = await startOAuthServer({ autoApprove: false });
    try {
      const reg = await fetch(`${manual.url}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: "none" }) });
      const { client_id } = (await reg.json()) as { client_id: string };
      const url = new URL(`${manual.url}/authorize`);
      const params = { response_type: "code", client_id, redirect_uri: REDIRECT, code_challenge: pkce().challenge, code_challenge_method: "S256", state: "x", scope: "mcp" };
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      const pageRes = await fetch(url, { redirect: "manual" });
      expect(pageRes.status).toBe(200);
      const [first] = manual.pendingAuthorizations();
      expect(first).toMatchObject({ clientId: client_id, redirectUri: REDIRECT, scope: "mcp" });
      const approved = new URL(manual.approve(first!.id));
      expect(approved.searchParams.get("code")).toBeTruthy();
      expect(approved.searchParams.get("state")).toBe("x");
      expect(manual.pendingAuthorizations()).toEqual([]);

      await fetch(url, { redirect: "manual" });
      const denied = new URL(manual.deny(manual.pendingAuthorizations()[0]!.id));
      expect(denied.searchParams.get("error")).toBe("access_denied");
      expect(() => manual.approve("missing")).toThrow(/no pending authorization/);
    } finally {
      await manual.close();
    }
  });
});
