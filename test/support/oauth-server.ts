import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWTPayload } from "jose";

/**
 * A real OAuth 2.1 authorization server on loopback for the MCP tests: RFC 8414 metadata, RFC 7591 dynamic
 * client registration, authorization code + PKCE (S256 only), rotating refresh tokens, RFC 8707 resource
 * indicators, RFC 7009 revocation, RFC 7662 introspection, and ES256 JWT access tokens published through JWKS.
 */
export interface OAuthServerOptions {
  accessTokenTtlSeconds?: number;
  /** Lifetime of access tokens issued by a refresh. Default: accessTokenTtlSeconds. */
  refreshedAccessTokenTtlSeconds?: number;
  /** When false, /authorize answers 200 with an HTML page instead of redirecting; a test then calls approve(). Default true (redirect at once with code + state). */
  autoApprove?: boolean;
  scopesSupported?: string[];
  /** `sub` of the resource owner who approves authorization requests. Default "user-1". */
  subject?: string;
  /** Advertise `authorization_response_iss_parameter_supported` (RFC 9207). The callback carries `iss` either way. Default false. */
  issResponseParameter?: boolean;
}

export interface OAuthServer {
  readonly url: string;
  readonly jwksUrl: string;
  /** Mints an access token directly (for protected-resource tests). A negative `expiresInSeconds` gives an expired token. */
  issueAccessToken(claims: { sub: string; scope?: string; aud?: string; client_id?: string; expiresInSeconds?: number }): Promise<string>;
  /** Pending authorization requests (when autoApprove is false): approve one → returns the redirect URL (callback with code & state) the browser would follow. */
  pendingAuthorizations(): Array<{ id: string; clientId: string; redirectUri: string; scope?: string; resource?: string }>;
  approve(id: string): string;
  /** Redirect URL with error=access_denied. */
  deny(id: string): string;
  /** Revokes every token (access and refresh) of a client, or all tokens. After this, token refresh fails with invalid_grant and `introspect` reports inactive. */
  revokeAll(clientId?: string): void;
  /** Expires every access token issued so far (as if their time ran out); refresh tokens stay valid. */
  expireAccessTokens(): void;
  /** true if this access token is known, unexpired and not revoked (the JWT alone stays valid until exp; protected resources that must see revocation use /introspect). */
  isActive(token: string): boolean;
  readonly stats: { registrations: number; authorizations: number; codeExchanges: number; refreshes: number; failedTokenRequests: number };
  close(): Promise<void>;
}

type AuthMethod = "none" | "client_secret_post" | "client_secret_basic";
const AUTH_METHODS: AuthMethod[] = ["none", "client_secret_post", "client_secret_basic"];
const GRANT_TYPES = ["authorization_code", "refresh_token"];
const CODE_TTL_MS = 10 * 60_000;
const BODY_LIMIT = 64 * 1024;
const PKCE = /^[A-Za-z0-9\-._~]{43,128}$/;

interface Client { id: string; secret?: string; method: AuthMethod; redirectUris: string[]; grantTypes: string[]; scope?: string; metadata: Record<string, unknown> }
interface AuthRequest { id: string; clientId: string; redirectUri: string; challenge: string; scope?: string; resource?: string; state?: string }
interface Code extends AuthRequest { expiresAt: number; sub: string }
interface Grant { id: string; clientId: string; sub: string; scope?: string; resource?: string }
interface AccessRecord { clientId?: string; grantId?: string; sub: string; scope?: string; aud?: string; iat: number; exp: number; jti: string; revoked: boolean }
interface RefreshRecord { grant: Grant; revoked: boolean }

/** An OAuth error answered as RFC 6749 §5.2 JSON. */
class OAuthFailure extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, description: string) {
    super(description);
    this.status = status;
    this.code = code;
  }
}
function fail(code: string, description: string, status = 400): never {
  throw new OAuthFailure(status, code, description);
}

const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url");
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest();
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(sha256(a), sha256(b));
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const param = (p: URLSearchParams, name: string): string | undefined => p.get(name) || undefined;
const repeated = (p: URLSearchParams): string | undefined => [...new Set(p.keys())].find((k) => p.getAll(k).length > 1);
const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== "string" || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === "http:" || url.protocol === "https:") && url.hash === "";
};

export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const ttl = options.accessTokenTtlSeconds ?? 3600;
  const refreshedTtl = options.refreshedAccessTokenTtlSeconds ?? ttl;
  const autoApprove = options.autoApprove ?? true;
  const scopesSupported = options.scopesSupported ?? ["mcp", "read", "write"];
  const subject = options.subject ?? "user-1";
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const jwks = { keys: [{ ...publicJwk, kid, alg: "ES256", use: "sig" }] };

  const clients = new Map<string, Client>();
  const pending = new Map<string, AuthRequest>();
  const codes = new Map<string, Code>();
  const usedCodes = new Map<string, string | undefined>(); // code → grant it produced, revoked if the code is replayed
  const accessTokens = new Map<string, AccessRecord>();
  const refreshTokens = new Map<string, RefreshRecord>();
  const rotated = new Set<string>();
  const stats = { registrations: 0, authorizations: 0, codeExchanges: 0, refreshes: 0, failedTokenRequests: 0 };
  let issuer = "";
  let metadata: Record<string, unknown> = {};

  /** Normalizes a space-separated scope; every entry must be one this server supports. */
  const checkScope = (scope: string | undefined, error = "invalid_scope"): string | undefined => {
    if (scope === undefined) return undefined;
    const entries = [...new Set(scope.split(" ").filter(Boolean))];
    const unknown = entries.filter((s) => !scopesSupported.includes(s));
    if (unknown.length) fail(error, `unsupported scope: ${unknown.join(" ")}`);
    return entries.length ? entries.join(" ") : undefined;
  };
  const checkResource = (resource: string | undefined): string | undefined => {
    if (resource !== undefined && (!URL.canParse(resource) || new URL(resource).hash !== "")) {
      fail("invalid_target", "resource must be an absolute URI without a fragment");
    }
    return resource;
  };
  const callback = (redirectUri: string, params: Record<string, string | undefined>): string => {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries({ ...params, iss: issuer })) if (value !== undefined) url.searchParams.set(key, value);
    return url.href;
  };
  const issueCode = (request: AuthRequest): string => {
    const code = randomToken();
    codes.set(code, { ...request, sub: subject, expiresAt: Date.now() + CODE_TTL_MS });
    return callback(request.redirectUri, { code, state: request.state });
  };

  const mint = async (c: { sub: string; scope?: string; aud?: string; clientId?: string; grantId?: string; ttl: number }): Promise<string> => {
    const iat = nowSeconds();
    const exp = iat + c.ttl;
    const jti = randomUUID();
    const claims: JWTPayload = {};
    if (c.scope !== undefined) claims.scope = c.scope;
    if (c.clientId !== undefined) claims.client_id = c.clientId;
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" });
    jwt.setIssuer(issuer).setSubject(c.sub).setIssuedAt(iat).setExpirationTime(exp).setJti(jti);
    if (c.aud !== undefined) jwt.setAudience(c.aud);
    const token = await jwt.sign(privateKey);
    accessTokens.set(token, { clientId: c.clientId, grantId: c.grantId, sub: c.sub, scope: c.scope, aud: c.aud, iat, exp, jti, revoked: false });
    return token;
  };
  const tokenResponse = async (grant: Grant, client: Client, scope: string | undefined, aud: string | undefined, lifetime = ttl) => {
    const body: Record<string, unknown> = {
      access_token: await mint({ sub: grant.sub, scope, aud, clientId: client.id, grantId: grant.id, ttl: lifetime }),
      token_type: "Bearer",
      expires_in: lifetime,
    };
    if (scope !== undefined) body.scope = scope;
    if (client.grantTypes.includes("refresh_token")) {
      const refresh = randomToken();
      refreshTokens.set(refresh, { grant, revoked: false });
      body.refresh_token = refresh;
    }
    return body;
  };
  const revokeWhere = (match: (clientId: string | undefined, grantId: string | undefined) => boolean): void => {
    for (const record of accessTokens.values()) if (match(record.clientId, record.grantId)) record.revoked = true;
    for (const record of refreshTokens.values()) if (match(record.grant.clientId, record.grant.id)) record.revoked = true;
  };
  const accessActive = (record: AccessRecord | undefined): record is AccessRecord => !!record && !record.revoked && record.exp > nowSeconds();

  /** Client authentication at /token, /revoke and /introspect, by the method the client registered. */
  const authenticate = (req: IncomingMessage, form: URLSearchParams): Client => {
    const header = req.headers.authorization;
    let basic: { id: string; secret: string } | undefined;
    if (header !== undefined) {
      const match = /^Basic\s+(\S+)$/i.exec(header);
      const decoded = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
      const colon = decoded.indexOf(":");
      if (colon < 0) fail("invalid_client", "malformed Basic authorization header", 401);
      try {
        basic = { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
      } catch {
        fail("invalid_client", "malformed Basic authorization header", 401);
      }
    }
    const bodyId = param(form, "client_id");
    const bodySecret = param(form, "client_secret");
    if (basic && bodySecret !== undefined) fail("invalid_request", "more than one client authentication method used");
    if (basic && bodyId !== undefined && bodyId !== basic.id) fail("invalid_request", "client_id does not match the Authorization header");
    const used: AuthMethod = basic ? "client_secret_basic" : bodySecret !== undefined ? "client_secret_post" : "none";
    const id = basic?.id ?? bodyId;
    if (id === undefined) return fail("invalid_client", "client authentication required (no client_id)", 401);
    const client = clients.get(id) ?? fail("invalid_client", `unknown client ${id}`, 401);
    if (client.method !== used) fail("invalid_client", `client authenticated with ${used} but is registered for ${client.method}`, 401);
    const secret = basic?.secret ?? bodySecret;
    if (used !== "none" && !sameSecret(secret ?? "", client.secret ?? "")) fail("invalid_client", "wrong client secret", 401);
    return client;
  };

  const register = (body: string): Record<string, unknown> => {
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      fail("invalid_client_metadata", "body is not JSON");
    }
    if (typeof input !== "object" || input === null || Array.isArray(input)) fail("invalid_client_metadata", "body must be a JSON object");
    const m = input as Record<string, unknown>;
    const uris = m.redirect_uris;
    if (!Array.isArray(uris) || uris.length === 0) fail("invalid_redirect_uri", "redirect_uris must be a non-empty array");
    const bad = (uris as unknown[]).find((u) => !isHttpUrl(u));
    if (bad !== undefined) fail("invalid_redirect_uri", `redirect URI ${JSON.stringify(bad)} is not an http(s) URL without a fragment`);
    const method = m.token_endpoint_auth_method ?? "client_secret_basic";
    if (!AUTH_METHODS.includes(method as AuthMethod)) fail("invalid_client_metadata", `unsupported token_endpoint_auth_method ${JSON.stringify(method)}`);
    const grantTypes = m.grant_types ?? ["authorization_code"];
    if (!Array.isArray(grantTypes) || grantTypes.some((g) => !GRANT_TYPES.includes(g as string))) fail("invalid_client_metadata", `grant_types must be drawn from ${GRANT_TYPES.join(", ")}`);
    const responseTypes = m.response_types ?? ["code"];
    if (!Array.isArray(responseTypes) || responseTypes.some((r) => r !== "code")) fail("invalid_client_metadata", 'response_types may only contain "code"');
    if (m.scope !== undefined && typeof m.scope !== "string") fail("invalid_client_metadata", "scope must be a string");
    const scope = checkScope(m.scope as string | undefined, "invalid_client_metadata");
    const client: Client = { id: randomUUID(), method: method as AuthMethod, redirectUris: uris as string[], grantTypes: grantTypes as string[], scope, metadata: m };
    if (client.method !== "none") client.secret = randomToken();
    clients.set(client.id, client);
    stats.registrations++;
    const { client_id: _id, client_secret: _secret, ...echoed } = m;
    return {
      ...echoed,
      client_id: client.id,
      ...(client.secret !== undefined ? { client_secret: client.secret, client_secret_expires_at: 0 } : {}),
      client_id_issued_at: nowSeconds(),
      redirect_uris: client.redirectUris,
      token_endpoint_auth_method: client.method,
      grant_types: client.grantTypes,
      response_types: responseTypes,
      ...(scope !== undefined ? { scope } : {}),
    };
  };

  const authorize = (p: URLSearchParams, res: ServerResponse): void => {
    const dup = repeated(p);
    if (dup === "client_id" || dup === "redirect_uri") return page(res, 400, "Invalid request", `Parameter ${dup} is repeated.`);
    const clientId = param(p, "client_id");
    const client = clientId === undefined ? undefined : clients.get(clientId);
    if (!client) return page(res, 400, "Unknown client", clientId === undefined ? "client_id is missing." : `No client ${clientId} is registered.`);
    const redirectUri = param(p, "redirect_uri");
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      return page(res, 400, "Invalid redirect URI", `redirect_uri ${JSON.stringify(redirectUri ?? null)} is not one registered for this client.`);
    }
    const state = param(p, "state");
    try {
      if (dup !== undefined) fail("invalid_request", `parameter ${dup} is repeated`);
      const responseType = param(p, "response_type");
      if (responseType === undefined) fail("invalid_request", "response_type is missing");
      if (responseType !== "code") fail("unsupported_response_type", `response_type ${responseType} is not supported; use code`);
      if (!client.grantTypes.includes("authorization_code")) fail("unauthorized_client", "client is not registered for authorization_code");
      const challenge = param(p, "code_challenge") ?? fail("invalid_request", "code_challenge is required (PKCE)");
      if (param(p, "code_challenge_method") !== "S256") fail("invalid_request", "code_challenge_method must be S256");
      if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) fail("invalid_request", "code_challenge is not a base64url SHA-256 digest");
      const scope = checkScope(param(p, "scope")) ?? client.scope;
      const resource = checkResource(param(p, "resource"));
      stats.authorizations++;
      const request: AuthRequest = { id: randomUUID(), clientId: client.id, redirectUri, challenge, scope, resource, state };
      if (autoApprove) return redirect(res, issueCode(request));
      pending.set(request.id, request);
      const name = typeof client.metadata.client_name === "string" ? client.metadata.client_name : client.id;
      const form = (decision: string) =>
        `<form method="post" action="/authorize/decision"><input type="hidden" name="id" value="${escapeHtml(request.id)}"><button name="decision" value="${decision}">${decision}</button></form>`;
      page(res, 200, "Authorize access", `${name} asks for scope "${scope ?? ""}" on ${resource ?? "any resource"}. Request ${request.id}.`, form("approve") + form("deny"));
    } catch (error) {
      if (!(error instanceof OAuthFailure)) throw error;
      redirect(res, callback(redirectUri, { error: error.code, error_description: error.message, state }));
    }
  };

  const token = async (req: IncomingMessage, form: URLSearchParams): Promise<Record<string, unknown>> => {
    const dup = repeated(form);
    if (dup !== undefined) fail("invalid_request", `parameter ${dup} is repeated`);
    const client = authenticate(req, form);
    const grantType = param(form, "grant_type") ?? fail("invalid_request", "grant_type is missing");
    if (!GRANT_TYPES.includes(grantType)) fail("unsupported_grant_type", `grant_type ${grantType} is not supported`);
    if (!client.grantTypes.includes(grantType)) fail("unauthorized_client", `client is not registered for ${grantType}`);
    const resource = checkResource(param(form, "resource"));
    if (grantType === "authorization_code") {
      const codeValue = param(form, "code") ?? fail("invalid_request", "code is missing");
      const verifier = param(form, "code_verifier") ?? fail("invalid_request", "code_verifier is missing (PKCE)");
      const redirectUri = param(form, "redirect_uri") ?? fail("invalid_request", "redirect_uri is missing");
      if (usedCodes.has(codeValue)) {
        const grantId = usedCodes.get(codeValue);
        if (grantId !== undefined) revokeWhere((_c, g) => g === grantId);
        fail("invalid_grant", "authorization code was already used; tokens issued from it are revoked");
      }
      const code = codes.get(codeValue) ?? fail("invalid_grant", "unknown authorization code");
      codes.delete(codeValue);
      usedCodes.set(codeValue, undefined);
      if (code.expiresAt <= Date.now()) fail("invalid_grant", "authorization code expired");
      if (code.clientId !== client.id) fail("invalid_grant", "authorization code was issued to another client");
      if (code.redirectUri !== redirectUri) fail("invalid_grant", "redirect_uri does not match the authorization request");
      if (!PKCE.test(verifier)) fail("invalid_grant", "code_verifier is malformed");
      if (sha256(verifier).toString("base64url") !== code.challenge) fail("invalid_grant", "code_verifier does not match code_challenge");
      if (resource !== undefined && code.resource !== undefined && resource !== code.resource) fail("invalid_target", "resource differs from the authorization request");
      const grant: Grant = { id: randomUUID(), clientId: client.id, sub: code.sub, scope: code.scope, resource: code.resource ?? resource };
      usedCodes.set(codeValue, grant.id);
      stats.codeExchanges++;
      return tokenResponse(grant, client, grant.scope, grant.resource);
    }
    const refresh = param(form, "refresh_token") ?? fail("invalid_request", "refresh_token is missing");
    if (rotated.has(refresh)) fail("invalid_grant", "refresh token was already used (rotated)");
    const record = refreshTokens.get(refresh) ?? fail("invalid_grant", "unknown refresh token");
    if (record.revoked) fail("invalid_grant", "refresh token was revoked");
    if (record.grant.clientId !== client.id) fail("invalid_grant", "refresh token was issued to another client");
    if (resource !== undefined && record.grant.resource !== undefined && resource !== record.grant.resource) fail("invalid_target", "resource differs from the original grant");
    const requested = checkScope(param(form, "scope"));
    const granted = record.grant.scope?.split(" ") ?? [];
    if (requested?.split(" ").some((s) => !granted.includes(s))) fail("invalid_scope", "refresh may not widen the granted scope");
    refreshTokens.delete(refresh);
    rotated.add(refresh);
    stats.refreshes++;
    return tokenResponse(record.grant, client, requested ?? record.grant.scope, record.grant.resource ?? resource, refreshedTtl);
  };

  const introspect = (t: string): Record<string, unknown> => {
    const access = accessTokens.get(t);
    if (accessActive(access)) {
      const { clientId, sub, scope, aud, iat, exp, jti } = access;
      return { active: true, token_type: "Bearer", iss: issuer, sub, scope, aud, client_id: clientId, iat, exp, jti };
    }
    const refresh = refreshTokens.get(t);
    if (refresh && !refresh.revoked) {
      const { clientId, sub, scope, resource } = refresh.grant;
      return { active: true, token_type: "refresh_token", iss: issuer, sub, scope, aud: resource, client_id: clientId };
    }
    return { active: false };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(`${issuer}${req.url?.startsWith("/") ? req.url : "/"}`);
    const route = `${req.method} ${url.pathname}`;
    const mediaType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const form = async (): Promise<URLSearchParams> => {
      if (mediaType !== "application/x-www-form-urlencoded") fail("invalid_request", "body must be application/x-www-form-urlencoded");
      return new URLSearchParams(await readBody(req));
    };
    switch (route) {
      case "GET /.well-known/oauth-authorization-server":
      case "GET /.well-known/openid-configuration":
        return json(res, 200, metadata);
      case "GET /jwks":
        return json(res, 200, jwks);
      case "GET /authorize":
        return authorize(url.searchParams, res);
      case "POST /authorize/decision": {
        const p = await form();
        const id = param(p, "id") ?? "";
        if (!pending.has(id)) return page(res, 400, "Unknown request", "This authorization request is not pending.");
        return redirect(res, param(p, "decision") === "approve" ? server.approve(id) : server.deny(id));
      }
      case "POST /register":
        if (mediaType !== "application/json") fail("invalid_client_metadata", "body must be application/json");
        return json(res, 201, register(await readBody(req)));
      case "POST /token":
        try {
          return json(res, 200, await token(req, await form()));
        } catch (error) {
          stats.failedTokenRequests++;
          throw error;
        }
      case "POST /revoke": {
        const p = await form();
        const client = authenticate(req, p);
        const t = param(p, "token") ?? fail("invalid_request", "token is missing");
        const access = accessTokens.get(t);
        const refresh = refreshTokens.get(t);
        // Unknown tokens are answered 200 (RFC 7009 §2.2); a token of another client is left alone and answered the same.
        if (access?.clientId === client.id) access.revoked = true;
        if (refresh?.grant.clientId === client.id) revokeWhere((_c, g) => g === refresh.grant.id);
        return json(res, 200, {});
      }
      case "POST /introspect": {
        const p = await form();
        if (req.headers.authorization !== undefined || param(p, "client_id") !== undefined) authenticate(req, p);
        return json(res, 200, introspect(param(p, "token") ?? fail("invalid_request", "token is missing")));
      }
    }
    const allowed = { "/authorize": "GET", "/authorize/decision": "POST", "/register": "POST", "/token": "POST", "/revoke": "POST", "/introspect": "POST", "/jwks": "GET" }[url.pathname];
    if (allowed) return json(res, 405, { error: "invalid_request", error_description: `${req.method} not allowed; use ${allowed}` }, { allow: allowed });
    json(res, 404, { error: "not_found", error_description: `no endpoint at ${url.pathname}` });
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof OAuthFailure) {
        const headers = error.status === 401 ? { "www-authenticate": 'Basic realm="hearth-test-oauth"' } : undefined;
        return json(res, error.status, { error: error.code, error_description: error.message }, headers);
      }
      json(res, 500, { error: "server_error", error_description: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  issuer = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  metadata = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    revocation_endpoint: `${issuer}/revoke`,
    introspection_endpoint: `${issuer}/introspect`,
    jwks_uri: `${issuer}/jwks`,
    scopes_supported: scopesSupported,
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: GRANT_TYPES,
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: AUTH_METHODS,
    // Required by OpenID Connect Discovery, so the same document also parses as OIDC provider metadata.
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["ES256"],
    ...(options.issResponseParameter ? { authorization_response_iss_parameter_supported: true } : {}),
  };

  const server: OAuthServer = {
    url: issuer,
    jwksUrl: `${issuer}/jwks`,
    issueAccessToken: (c) => mint({ sub: c.sub, scope: c.scope, aud: c.aud, clientId: c.client_id, ttl: c.expiresInSeconds ?? ttl }),
    pendingAuthorizations: () => [...pending.values()].map(({ id, clientId, redirectUri, scope, resource }) => ({ id, clientId, redirectUri, scope, resource })),
    approve(id) {
      const request = pending.get(id) ?? fail("invalid_request", `no pending authorization ${id}`);
      pending.delete(id);
      return issueCode(request);
    },
    deny(id) {
      const request = pending.get(id) ?? fail("invalid_request", `no pending authorization ${id}`);
      pending.delete(id);
      return callback(request.redirectUri, { error: "access_denied", error_description: "the resource owner denied the request", state: request.state });
    },
    revokeAll: (clientId) => revokeWhere((c) => clientId === undefined || c === clientId),
    expireAccessTokens: () => {
      for (const record of accessTokens.values()) record.exp = 0;
    },
    isActive: (t) => accessActive(accessTokens.get(t)),
    get stats() {
      return { ...stats };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.close((error) => (error ? reject(error) : resolve()));
        http.closeAllConnections();
      }),
  };
  return server;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) fail("invalid_request", `body larger than ${BODY_LIMIT} bytes`, 413);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache", ...headers });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, "cache-control": "no-store" });
  res.end();
}

function page(res: ServerResponse, status: number, title: string, text: string, html = ""): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(`<!doctype html><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${html}`);
}
