/**
 * The inspector's request handler: Host check on everything, then either the API (credentials,
 * Origin on changes and the stream, admin for writes, JSON errors, `no-store`) or the static UI
 * (CSP, SPA fallback).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AuditLog } from "./audit.ts";
import { ApiError, objectBody, readJsonBody, toJson, type Reply } from "./http.ts";
import { auditor, matchRoute, STREAMED, type Route, type RouteContext } from "./router.ts";
import { checkHost, checkOrigin, type Credentials, type Role } from "./security.ts";
import type { InspectorSources } from "./sources.ts";
import { indexHtml, NO_UI_PAGE, uiFile } from "./static.ts";
import type { LiveStream } from "./stream.ts";

/** The UI's Content-Security-Policy: everything from the inspector itself, nothing inline or framed. */
export const UI_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export interface HandlerDeps {
  routes: readonly Route[];
  credentials: Credentials;
  allowedHosts: ReadonlySet<string>;
  sources: InspectorSources;
  stream: LiveStream;
  audit: AuditLog;
  uiDir: string;
  info: RouteContext["info"];
}

const COMMON_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" } as const;

export function inspectorHandler(deps: HandlerDeps): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    for (const [name, value] of Object.entries(COMMON_HEADERS)) response.setHeader(name, value);
    handle(deps, request, response).catch((error: unknown) => {
      if (!(error instanceof ApiError)) console.error("[hearth] inspector:", error);
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const apiError = error instanceof ApiError ? error : new ApiError(500, "internal", error instanceof Error ? error.message : String(error));
      send(response, { status: apiError.status, json: { error: { code: apiError.code, message: apiError.message } } });
    });
  };
}

async function handle(deps: HandlerDeps, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const host = checkHost(request, deps.allowedHosts);
  const url = new URL(request.url ?? "/", "http://inspector");
  const method = request.method ?? "GET";
  if (url.pathname.startsWith("/api/") || url.pathname === "/api" || url.pathname === "/metrics") {
    response.setHeader("cache-control", "no-store");
    const { route, params, allowed } = matchRoute(deps.routes, method === "HEAD" ? "GET" : method, url.pathname);
    if (!route) {
      if (allowed.length > 0) {
        response.setHeader("allow", allowed.join(", "));
        throw new ApiError(405, "method_not_allowed", `${method} is not allowed on ${url.pathname} (allowed: ${allowed.join(", ")})`);
      }
      throw new ApiError(404, "not_found", `No API route ${method} ${url.pathname} (see /api/openapi.json)`);
    }
    if (method !== "GET" && method !== "HEAD") checkOrigin(request, host);
    if (route.stream) checkOrigin(request, host);
    const role: Role = route.open ? "viewer" : deps.credentials.roleOf(request);
    if (route.write && role !== "admin") throw new ApiError(403, "admin_required", `${method} ${url.pathname} changes data: it needs the admin token`);
    let body: Promise<Record<string, unknown>> | undefined;
    const ctx: RouteContext = {
      params,
      query: url.searchParams,
      role,
      request,
      response,
      sources: deps.sources,
      stream: deps.stream,
      audit: deps.audit,
      info: deps.info,
      body: () => (body ??= readJsonBody(request).then(objectBody)),
      audited: auditor(deps.audit, role),
    };
    const reply = await route.handler(ctx);
    if (reply !== STREAMED) send(response, reply, method === "HEAD");
    return;
  }
  if (method !== "GET" && method !== "HEAD") throw new ApiError(405, "method_not_allowed", `${method} is not allowed on the UI's pages`);
  const file = uiFile(deps.uiDir, url.pathname) ?? (url.pathname.startsWith("/assets/") ? undefined : indexHtml(deps.uiDir));
  response.setHeader("content-security-policy", UI_CSP);
  if (!file) {
    if (url.pathname.startsWith("/assets/")) throw new ApiError(404, "not_found", `No UI file ${url.pathname}`);
    send(response, { status: 200, text: NO_UI_PAGE, contentType: "text/html; charset=utf-8", headers: { "cache-control": "no-store" } }, method === "HEAD");
    return;
  }
  response.writeHead(200, { "content-type": file.contentType, "cache-control": file.immutable ? "public, max-age=31536000, immutable" : "no-store" });
  response.end(method === "HEAD" ? undefined : file.body);
}

function send(response: ServerResponse, reply: Reply, headOnly = false): void {
  const text = reply.text ?? toJson(reply.json ?? null);
  response.writeHead(reply.status ?? 200, {
    "content-type": reply.contentType ?? "application/json; charset=utf-8",
    ...reply.headers,
  });
  response.end(headOnly ? undefined : text);
}
