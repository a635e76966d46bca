/**
 * Routes of the inspector's API: a method, a path pattern (`:param` segments, URL-decoded), whether
 * the route changes anything (admin only, Origin checked, audited) and its handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditLog } from "./audit.ts";
import { hashOf } from "./audit.ts";
import type { Reply } from "./http.ts";
import type { Role } from "./security.ts";
import type { InspectorSources } from "./sources.ts";
import type { LiveStream } from "./stream.ts";

/** What a handler gets. */
export interface RouteContext {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly role: Role;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly sources: InspectorSources;
  readonly stream: LiveStream;
  readonly audit: AuditLog;
  /** What `GET /api/session` reports about the process. */
  readonly info: { version: string; dataDir: string; startedAt: number };
  /** Set when another cluster node forwarded this request (its id): the answer is this node's own. */
  readonly forwardedFrom?: string;
  /** The JSON body as an object (`{}` when empty); 400 when it is not one, 413 when too large. */
  body(): Promise<Record<string, unknown>>;
  /**
   * Runs a change and appends its audit row (also when it fails) before the answer leaves. `change`
   * returns the result and, when known, the data before and after (stored as hashes).
   */
  audited<T>(action: string, target: string, detail: Record<string, unknown>, change: () => Promise<{ result: T; before?: unknown; after?: unknown }>): Promise<T>;
}

/** A handler's answer, or `STREAMED` when it wrote the response itself (the live stream). */
export const STREAMED: unique symbol = Symbol("streamed");

export interface Route {
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  readonly path: string;
  /** Changes something: admin only, Origin checked, audited. */
  readonly write?: boolean;
  /** Opens the live stream: Origin checked. */
  readonly stream?: boolean;
  /** Answers without credentials (signing in). */
  readonly open?: boolean;
  /** The status of a successful answer when it is not 200 (the OpenAPI document lists it). */
  readonly status?: 201 | 202;
  /** What a successful answer is when it is not JSON. */
  readonly produces?: "text/plain" | "text/event-stream";
  readonly handler: (ctx: RouteContext) => Promise<Reply | typeof STREAMED> | Reply | typeof STREAMED;
}

/** The route of a method and path, with its decoded parameters; `allowed` lists the methods of a path that matched otherwise. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): { route?: Route; params: Record<string, string>; allowed: string[] } {
  const parts = pathname.split("/");
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, parts);
    if (!params) continue;
    if (route.method === method) return { route, params, allowed };
    allowed.push(route.method);
  }
  return { params: {}, allowed };
}

function matchPath(pattern: string, parts: readonly string[]): Record<string, string> | undefined {
  const want = pattern.split("/");
  if (want.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    const part = parts[i]!;
    if (segment.startsWith(":")) {
      if (part === "") return undefined;
      try {
        params[segment.slice(1)] = decodeURIComponent(part);
      } catch {
        return undefined;
      }
    } else if (segment !== part) return undefined;
  }
  return params;
}

/** The `audited` of a context: appends the row whether the change succeeded or failed. */
export function auditor(audit: AuditLog, role: Role, via?: string) {
  return async <T>(action: string, target: string, given: Record<string, unknown>, change: () => Promise<{ result: T; before?: unknown; after?: unknown }>): Promise<T> => {
    // A change forwarded by another cluster node is audited here, where it ran, naming the node asked.
    const detail = via === undefined ? given : { ...given, via };
    let outcome: { result: T; before?: unknown; after?: unknown };
    try {
      outcome = await change();
    } catch (error) {
      audit.append({ at: Date.now(), role, action, target, ok: false, error: error instanceof Error ? error.message : String(error), detail });
      throw error;
    }
    const beforeHash = hashOf(outcome.before);
    const afterHash = hashOf(outcome.after);
    audit.append({ at: Date.now(), role, action, target, ok: true, detail, ...(beforeHash ? { beforeHash } : {}), ...(afterHash ? { afterHash } : {}) });
    return outcome.result;
  };
}
