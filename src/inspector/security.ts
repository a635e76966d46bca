/**
 * Who may call the inspector: tokens (compared in constant time), cookie sessions, and the Host and
 * Origin checks that stop DNS rebinding and cross-site requests (see docs/inspector/security.md).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { ApiError } from "./http.ts";
import { INSPECTOR_LIMITS } from "./limits.ts";
import { hostnameOf } from "../web/host-header.ts";

/** What a caller may do: look (`viewer`) or also change (`admin`). */
export type Role = "viewer" | "admin";

/**
 * The cookie that carries a session after `POST /api/session`, named after the inspector's port:
 * browsers keep one cookie jar per host name, whatever the port, so inspectors on one machine would
 * otherwise overwrite each other's session and sign each other out.
 */
function sessionCookieName(port: number | undefined): string {
  return port === undefined ? "hearth_inspector" : `hearth_inspector_${port}`;
}

/** A fresh random token (256 bits, base64url). */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Equal in constant time (both sides hashed first, so their lengths leak nothing either). */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** True for names and addresses that only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || bare.startsWith("::ffff:127.");
  return false;
}

/** Checks the request's `Host`: a loopback name or one of `allowedHosts`, else 403 `bad_host`. */
export function checkHost(request: IncomingMessage, allowedHosts: ReadonlySet<string>): string {
  const host = request.headers.host;
  if (!host) throw new ApiError(403, "bad_host", "The request has no Host header");
  const name = hostnameOf(host).toLowerCase();
  if (!isLoopbackHost(name) && !allowedHosts.has(name.replace(/^\[|\]$/g, ""))) {
    throw new ApiError(403, "bad_host", `Host ${JSON.stringify(host)} is not allowed: the inspector answers loopback names and --inspector-allowed-hosts only`);
  }
  return host;
}

/** Checks `Origin` when present: it must be the inspector's own (`http://<Host>`), else 403 `bad_origin`. */
export function checkOrigin(request: IncomingMessage, host: string): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin !== `http://${host}` && origin !== `https://${host}`) {
    throw new ApiError(403, "bad_origin", `Origin ${JSON.stringify(origin)} is not the inspector's own (http://${host}): cross-site requests may not change anything or open the stream`);
  }
}

/** The tokens of one inspector and its cookie sessions. */
export class Credentials {
  readonly #viewer: string;
  readonly #admin: string;
  readonly #sessions = new Map<string, { role: Role; expiresAt: number; proof: string }>();
  #cookieName = sessionCookieName(undefined);

  constructor(viewerToken: string, adminToken: string) {
    this.#viewer = viewerToken;
    this.#admin = adminToken;
  }

  /** Names the session cookie after `port`, once the inspector listens there (before any request). */
  listeningOn(port: number): void {
    this.#cookieName = sessionCookieName(port);
  }

  /** The `Set-Cookie` value of a session (or of its removal, with an empty id). */
  cookie(id: string): string {
    const expiry = id === "" ? "; Max-Age=0" : `; Max-Age=${Math.floor(INSPECTOR_LIMITS.sessionTtlMs / 1000)}`;
    return `${this.#cookieName}=${id}; HttpOnly; SameSite=Strict; Path=/${expiry}`;
  }

  /** The role a token grants, or undefined for a wrong one. */
  roleOfToken(token: string): Role | undefined {
    // Both compared every time: how long it takes says nothing about which one matched.
    const admin = sameToken(token, this.#admin);
    const viewer = sameToken(token, this.#viewer);
    return admin ? "admin" : viewer ? "viewer" : undefined;
  }

  /** The caller's role from `Authorization: Bearer` or the session cookie; 401 `unauthorized` without one. */
  roleOf(request: IncomingMessage): Role {
    const auth = request.headers.authorization;
    if (auth !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      const role = match ? this.roleOfToken(match[1]!) : undefined;
      if (!role) throw unauthorized("The bearer token is not this inspector's token");
      return role;
    }
    const session = cookieValue(request.headers.cookie, this.#cookieName);
    if (session !== undefined) {
      const entry = this.#sessions.get(session);
      if (entry && entry.expiresAt > Date.now()) {
        // The cookie alone is not enough: a browser sends it to every port of the host (cookies know
        // no ports), so any local server the user visits would get it. The page keeps the proof in
        // storage of its own origin, port included, and sends it with every call.
        if (!sameToken(sessionProofOf(request) ?? "", entry.proof)) throw unauthorized(`The session needs its proof: the ${SESSION_PROOF_HEADER} header the inspector's page sends`);
        return entry.role;
      }
      this.#sessions.delete(session);
      throw unauthorized("The session has expired or the inspector restarted: sign in with the token again");
    }
    throw unauthorized("No credentials: send Authorization: Bearer <token> or sign in with POST /api/session");
  }

  /** A new session for `role`: the cookie's value, and the proof the page sends with it (see {@link roleOf}). */
  openSession(role: Role): { id: string; proof: string } {
    const id = randomToken();
    const proof = randomToken();
    if (this.#sessions.size >= INSPECTOR_LIMITS.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(id, { role, expiresAt: Date.now() + INSPECTOR_LIMITS.sessionTtlMs, proof });
    return { id, proof };
  }

  closeSession(request: IncomingMessage): void {
    const session = cookieValue(request.headers.cookie, this.#cookieName);
    if (session !== undefined) this.#sessions.delete(session);
  }
}

/** The header that carries a session's proof next to its cookie. */
export const SESSION_PROOF_HEADER = "x-hearth-session";

/**
 * A session's proof: the header, or — for the live stream alone, which a browser's EventSource opens
 * without headers — the `session` query parameter.
 */
function sessionProofOf(request: IncomingMessage): string | undefined {
  const header = request.headers[SESSION_PROOF_HEADER];
  if (typeof header === "string") return header;
  const url = request.url ?? "";
  if (!url.startsWith("/api/stream?")) return undefined;
  return new URLSearchParams(url.slice(url.indexOf("?") + 1)).get("session") ?? undefined;
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, "unauthorized", message);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
