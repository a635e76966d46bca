import {
  bearerAuthChallengeResponse,
  OAuthError,
  OAuthErrorCode,
  verifyBearerToken,
  type AuthInfo,
  type OAuthTokenVerifier,
} from "@modelcontextprotocol/server";
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";
import { messageOf } from "../../agent/rpc.ts";
import { jsonRpcError } from "./responses.ts";

/**
 * Protects an MCP endpoint as an OAuth 2.1 protected resource: every request needs a bearer token,
 * verified by `verifyToken` or against a JWKS; clients that have none are pointed at the
 * authorization server through RFC 9728 metadata.
 * @example
 * export default MyMcp.serve("/mcp", {
 *   auth: { authorizationServers: ["https://auth.example.com"], jwks: { url: "https://auth.example.com/jwks" } },
 * });
 */
export interface McpAuthOptions {
  /** Issuer URLs of the authorization servers that mint tokens for this resource. */
  authorizationServers: string[];
  /** Verifies a token; return its AuthInfo, or throw (an OAuthError with InvalidToken for a 401). */
  verifyToken?: (token: string, request: Request) => AuthInfo | Promise<AuthInfo>;
  /** Verifies JWT access tokens against a key set: signature, `exp`, `iss` when given, `aud` (see checkAudience). */
  jwks?: { url: string; issuer?: string | string[]; audience?: string | string[] };
  /** Scopes every request needs; a token without them gets 403 insufficient_scope. */
  requiredScopes?: string[];
  /** Advertised in the metadata as `scopes_supported`. */
  scopesSupported?: string[];
  /**
   * The endpoint's public URL: the resource identifier advertised in the metadata and the audience
   * tokens must be issued for, e.g. "https://api.example.com/mcp". Default: the URL the client
   * addressed (on loopback or with `allowedHosts`, where the Host header is checked); set it when
   * serving behind a proxy or on a public interface.
   */
  resource?: string;
  /**
   * Refuse tokens issued for another resource (default true, as MCP requires). With `jwks`, the JWT's
   * `aud` must be `jwks.audience` or else the resource URL; with `verifyToken`, the returned
   * `AuthInfo.resource` must be the resource URL.
   */
  checkAudience?: boolean;
  /** Advertised as `resource_name`. */
  resourceName?: string;
  /** Maps a verified token to the agent's `this.props`. Default: `{ sub, clientId, scopes, claims }`. */
  props?: (auth: AuthInfo) => Record<string, unknown>;
}

/** Where clients find the resource metadata for an endpoint at `path` (RFC 9728 §3.1). */
export function resourceMetadataPath(path: string): string {
  return `/.well-known/oauth-protected-resource${path === "/" ? "" : path}`;
}

/** The RFC 9728 document for the endpoint `resourceUrl`. */
export function resourceMetadataResponse(resourceUrl: string, options: McpAuthOptions, cors: Record<string, string>): Response {
  return Response.json(
    {
      resource: resourceUrl,
      authorization_servers: options.authorizationServers,
      bearer_methods_supported: ["header"],
      ...(options.scopesSupported ? { scopes_supported: options.scopesSupported } : {}),
      ...(options.resourceName ? { resource_name: options.resourceName } : {}),
    },
    { headers: { ...cors, "cache-control": "max-age=300" } },
  );
}

export type AuthOutcome = { ok: true; authInfo: AuthInfo; props: Record<string, unknown> } | { ok: false; response: Response };

/** Builds the per-request check: verified identity, or the 401/403 challenge to answer with. */
export function bearerGate(options: McpAuthOptions): (request: Request, resourceUrl: string) => Promise<AuthOutcome> {
  if (options.authorizationServers.length === 0) throw new TypeError("auth.authorizationServers must list at least one issuer URL");
  if (!options.verifyToken && !options.jwks) throw new TypeError("auth needs verifyToken or jwks to verify bearer tokens");
  const checkAudience = options.checkAudience ?? true;
  const jwks = options.jwks ? jwksVerifier(options.jwks) : undefined;
  return async (request, resourceUrl) => {
    const resourceMetadataUrl = new URL(resourceMetadataPath(new URL(resourceUrl).pathname), resourceUrl).href;
    const audience = options.jwks?.audience ?? (checkAudience ? resourceUrl : undefined);
    const verifier: OAuthTokenVerifier = {
      verifyAccessToken: async (token) => (options.verifyToken ? options.verifyToken(token, request) : jwks!(token, audience)),
    };
    try {
      const authInfo = await verifyBearerToken(request.headers.get("authorization"), {
        verifier,
        resourceMetadataUrl,
        ...(options.requiredScopes ? { requiredScopes: options.requiredScopes } : {}),
        // A JWT's audience was checked by jose against `audience`; a verifyToken hook reports it.
        ...(checkAudience && options.verifyToken ? { expectedResource: new URL(resourceUrl) } : {}),
      });
      return { ok: true, authInfo, props: (options.props ?? defaultProps)(authInfo) };
    } catch (error) {
      // Not a verdict on the token (a database or key set out of reach): the client keeps its token,
      // and the reason stays in the server's log.
      if (!(error instanceof OAuthError)) {
        console.error("[hearth] MCP: verifying a bearer token failed:", error);
        return { ok: false, response: jsonRpcError(500, -32603, "Internal server error: the token could not be verified") };
      }
      const known = error;
      return {
        ok: false,
        response: bearerAuthChallengeResponse(known, {
          resourceMetadataUrl,
          ...(options.requiredScopes ? { requiredScopes: options.requiredScopes } : {}),
        }),
      };
    }
  };
}

function jwksVerifier(options: NonNullable<McpAuthOptions["jwks"]>): (token: string, audience: string | string[] | undefined) => Promise<AuthInfo> {
  const keys = createRemoteJWKSet(new URL(options.url));
  return async (token, audience) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(audience ? { audience } : {}),
      }));
    } catch (error) {
      // A key set out of reach (a network error, jose's timeout) says nothing of the token: rethrown, a 500.
      if (!(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout) throw error;
      throw new OAuthError(OAuthErrorCode.InvalidToken, `Invalid access token: ${messageOf(error)}`);
    }
    const scope = typeof payload.scope === "string" ? payload.scope : "";
    const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud;
    return {
      token,
      clientId: String(payload.client_id ?? payload.azp ?? payload.sub ?? ""),
      scopes: scope.split(" ").filter(Boolean),
      ...(payload.exp !== undefined ? { expiresAt: payload.exp } : {}),
      ...(aud && URL.canParse(aud) ? { resource: new URL(aud) } : {}),
      extra: { claims: payload },
    };
  };
}

function defaultProps(auth: AuthInfo): Record<string, unknown> {
  const claims = (auth.extra?.claims ?? {}) as Record<string, unknown>;
  return { sub: claims.sub ?? auth.clientId, clientId: auth.clientId, scopes: auth.scopes, claims };
}
