/**
 * The receiving side of a forwarded inspector request: another cluster node asked this one (under the
 * cluster key) to run a request about something it holds. It runs through the same routes as a
 * request from a browser, under the role the caller had where it signed in: a viewer's write is
 * refused here too, and a change is audited here, where it ran, naming the node that forwarded it.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { AuditLog } from "./audit.ts";
import type { ForwardedAnswer, ForwardedDispatch, ForwardedRequest } from "./cluster.ts";
import { ApiError, objectBody, toJson, type Reply } from "./http.ts";
import { auditor, matchRoute, STREAMED, type Route, type RouteContext } from "./router.ts";
import type { InspectorSources } from "./sources.ts";
import type { LiveStream } from "./stream.ts";

export interface ForwardedDeps {
  /** The public routes and the ones only other nodes call. */
  routes: readonly Route[];
  sources: InspectorSources;
  stream: LiveStream;
  audit: AuditLog;
  info: RouteContext["info"];
}

/**
 * The function that runs forwarded requests on this node.
 * @example
 * const dispatch = forwardedDispatch({ routes, sources, stream, audit, info });
 * const answer = await dispatch({ method: "GET", path: "/api/agents/Chat/a/state", role: "viewer", from: "b" });
 */
export function forwardedDispatch(deps: ForwardedDeps): ForwardedDispatch {
  return async (forwarded) => {
    try {
      return answerOf(await run(deps, forwarded));
    } catch (error) {
      if (!(error instanceof ApiError)) console.error("[hearth] inspector (forwarded):", error);
      const apiError = error instanceof ApiError ? error : new ApiError(500, "internal", error instanceof Error ? error.message : String(error));
      return { status: apiError.status, contentType: "application/json; charset=utf-8", body: toJson({ error: { code: apiError.code, message: apiError.message } }) };
    }
  };
}

async function run(deps: ForwardedDeps, forwarded: ForwardedRequest): Promise<Reply> {
  const url = new URL(forwarded.path, "http://inspector");
  const { route, params } = matchRoute(deps.routes, forwarded.method, url.pathname);
  if (!route || route.stream || route.open) throw new ApiError(404, "not_found", `No API route ${forwarded.method} ${url.pathname} can be forwarded between nodes`);
  if (forwarded.role !== "admin" && forwarded.role !== "viewer") throw new ApiError(400, "bad_request", "A forwarded request names the role viewer or admin");
  if (route.write && forwarded.role !== "admin") throw new ApiError(403, "admin_required", `${forwarded.method} ${url.pathname} changes data: it needs the admin token`);
  const request = syntheticRequest(forwarded, url);
  const ctx: RouteContext = {
    params,
    query: url.searchParams,
    role: forwarded.role,
    request,
    response: new ServerResponse(request),
    sources: deps.sources,
    stream: deps.stream,
    audit: deps.audit,
    info: deps.info,
    forwardedFrom: forwarded.from,
    body: async () => objectBody(forwarded.body ?? {}),
    audited: auditor(deps.audit, forwarded.role, forwarded.from),
  };
  const reply = await route.handler(ctx);
  if (reply === STREAMED) throw new ApiError(400, "bad_request", "A streamed answer cannot be forwarded between nodes");
  return reply;
}

function answerOf(reply: Reply): ForwardedAnswer {
  return { status: reply.status ?? 200, contentType: reply.contentType ?? "application/json; charset=utf-8", body: reply.text ?? toJson(reply.json ?? null) };
}

/** A request object for the handlers' context: no route that can be forwarded reads from it (bodies come from `body()`). */
function syntheticRequest(forwarded: ForwardedRequest, url: URL): IncomingMessage {
  const request = new IncomingMessage(new Socket());
  request.method = forwarded.method;
  request.url = url.pathname + url.search;
  request.headers = { host: "127.0.0.1" };
  request.push(null);
  return request;
}
