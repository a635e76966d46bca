/**
 * An agent as an A2A endpoint: JSON-RPC 2.0 over HTTP POST (SSE for streams), the agent card at
 * `…/.well-known/agent-card.json`, v1.0 method names and v0.3's, tasks in the agent's own SQLite.
 */
import { readBodyWithLimit } from "../gateway/bounded-body.ts";
import { runtimeOf } from "./agent-state.ts";
import { buildCard } from "./card.ts";
import { A2A_ERROR_CODES, A2AError } from "./errors.ts";
import { headerVersion, lookupMethod, type A2AOperation } from "./methods.ts";
import { resolveServerOptions, type A2AServerOptions, type ResolvedServerOptions } from "./options.ts";
import { pushDelete, pushGet, pushList, pushSet } from "./push-methods.ts";
import { TaskRunner } from "./task-runner.ts";
import { cancel, get, list, send, subscribe, type A2ACall, type A2AOutcome } from "./task-methods.ts";
import type { JsonRpcId } from "./task-stream.ts";
import { isRecord } from "./wire.ts";

/** Where the card is served under the endpoint (the second is the name v0.2 clients ask for). */
const CARD_PATHS = ["/.well-known/agent-card.json", "/.well-known/agent.json"];

const JSON_HEADERS = { "content-type": "application/json" };

/**
 * Serves A2A for `agent` from its `onRequest`: the card on GET `…/.well-known/agent-card.json`, every
 * JSON-RPC method on POST. Tasks are stored in the agent's SQLite and survive restarts; streams
 * replay what a client missed from its `Last-Event-ID`.
 * @example
 * class Desk extends Agent {
 *   onRequest(request: Request) {
 *     return handleA2ARequest(this, request, {
 *       card: { name: "Desk", description: "Answers support questions" },
 *       executor: async (message, ctx) => ctx.emit({ artifact: { name: "answer", text: await answer(message) } }),
 *     });
 *   }
 * }
 * // POST /agents/desk/main  {"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{…}}}
 */
export async function handleA2ARequest(agent: object, request: Request, options: A2AServerOptions): Promise<Response> {
  const config = resolveServerOptions(options);
  const url = new URL(request.url);
  const path = url.pathname.replace(/\/+$/, "");
  const cardPath = CARD_PATHS.find((suffix) => path.endsWith(suffix));
  const basePath = config.basePath ?? (cardPath ? path.slice(0, -cardPath.length) : path);
  if (config.basePath !== undefined && path !== basePath && !CARD_PATHS.some((suffix) => path === basePath + suffix)) {
    return Response.json({ error: `No A2A endpoint at ${url.pathname} (it is at ${basePath})` }, { status: 404 });
  }
  if (cardPath) {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed("GET");
    if (config.basePath === undefined && runtimeOf(agent).name === ".well-known") {
      // A client given the endpoint without a trailing slash resolved the card's relative path against
      // its parent: the router took ".well-known" for the agent's name.
      return Response.json(
        { error: `No A2A agent card at ${url.pathname}: this path names an agent called ".well-known". Give the client the card's URL (<endpoint>/.well-known/agent-card.json), or the endpoint ending with "/"` },
        { status: 404 },
      );
    }
    const card = buildCard(config.card, { url: url.origin + basePath, pushNotifications: config.push !== undefined, extendedAgentCard: config.extendedCard !== undefined });
    return Response.json(card, { headers: { "cache-control": "public, max-age=300" } });
  }
  if (request.method !== "POST") return methodNotAllowed("POST");
  if (config.authenticate) {
    const verdict = await config.authenticate(request);
    if (verdict instanceof Response) return verdict;
    if (verdict !== true) return rpcError(null, new A2AError(A2A_ERROR_CODES.unauthorized, "Unauthorized: this agent's authenticate hook refused the request"), 401);
  }
  const contentType = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    return rpcError(null, new A2AError(A2A_ERROR_CODES.invalidRequest, `Content-Type must be application/json, got ${JSON.stringify(contentType)}`), 415);
  }
  const max = config.limits.maxBodyBytes;
  // A declared length over the limit is refused without touching the body (Node drains it).
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  const text = declared > max ? undefined : await readBodyWithLimit(request, max);
  if (text === undefined) return rpcError(null, new A2AError(A2A_ERROR_CODES.invalidRequest, `Request body exceeds the limit of ${max} bytes (maxBodyBytes)`), 413);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return rpcError(null, new A2AError(A2A_ERROR_CODES.parseError, `Parse error: ${(error as Error).message}`));
  }
  const rpcId = isRecord(body) && (typeof body.id === "string" || typeof body.id === "number") ? body.id : null;
  try {
    const outcome = await dispatch(agent, request, config, body, url.origin + basePath);
    return "response" in outcome ? outcome.response : Response.json({ jsonrpc: "2.0", id: rpcId, result: outcome.result ?? null }, { headers: JSON_HEADERS });
  } catch (error) {
    if (error instanceof A2AError) return rpcError(rpcId, error);
    return rpcError(rpcId, new A2AError(A2A_ERROR_CODES.internalError, `Internal error: ${error instanceof Error ? error.message : String(error)}`));
  }
}

async function dispatch(agent: object, request: Request, config: ResolvedServerOptions, body: unknown, endpoint: string): Promise<A2AOutcome> {
  if (Array.isArray(body)) throw new A2AError(A2A_ERROR_CODES.invalidRequest, "Batch requests are not supported: send one JSON-RPC request per HTTP request");
  if (!isRecord(body) || body.jsonrpc !== "2.0") throw new A2AError(A2A_ERROR_CODES.invalidRequest, 'Invalid request: a JSON-RPC 2.0 request object with "jsonrpc": "2.0" is expected');
  if (typeof body.method !== "string") throw new A2AError(A2A_ERROR_CODES.invalidRequest, "Invalid request: method must be a string");
  if (typeof body.id !== "string" && typeof body.id !== "number") {
    throw new A2AError(A2A_ERROR_CODES.invalidRequest, "Invalid request: id must be a string or a number (notifications are not supported)");
  }
  const method = lookupMethod(body.method);
  if (!method) throw new A2AError(A2A_ERROR_CODES.methodNotFound, `Method not found: ${body.method}`, { method: body.method });
  const version = headerVersion(request.headers.get("a2a-version")) ?? method.version;
  if (body.params !== undefined && !isRecord(body.params)) throw new A2AError(A2A_ERROR_CODES.invalidParams, "params must be an object");
  const params = (body.params ?? {}) as Record<string, unknown>;
  const runner = new TaskRunner(agent, { executor: config.executor, limits: config.limits, onInterrupted: config.onInterrupted, push: config.push });
  runner.recover();
  const call: A2ACall = { runner, options: config, version, params, rpcId: body.id, request };
  return run(method.op, call, endpoint);
}

async function run(op: A2AOperation, call: A2ACall, endpoint: string): Promise<A2AOutcome> {
  switch (op) {
    case "send":
      return send(call, false);
    case "stream":
      return send(call, true);
    case "get":
      return get(call);
    case "list":
      return list(call);
    case "cancel":
      return cancel(call);
    case "subscribe":
      return subscribe(call);
    case "pushSet":
      return pushSet(call);
    case "pushGet":
      return pushGet(call);
    case "pushList":
      return pushList(call);
    case "pushDelete":
      return pushDelete(call);
    case "extendedCard":
      return extendedCard(call, endpoint);
  }
}

async function extendedCard(call: A2ACall, endpoint: string): Promise<A2AOutcome> {
  const source = call.options.extendedCard;
  if (!source) throw new A2AError(A2A_ERROR_CODES.extendedAgentCardNotConfigured, "This agent has no extended agent card");
  const input = typeof source === "function" ? await source(call.request) : source;
  return { result: buildCard(input, { url: endpoint, pushNotifications: call.options.push !== undefined, extendedAgentCard: true }) };
}

function rpcError(id: JsonRpcId, error: A2AError, status = 200): Response {
  const body = { jsonrpc: "2.0", id, error: { code: error.code, message: error.message, ...(error.data !== undefined ? { data: error.data } : {}) } };
  return Response.json(body, { status, headers: JSON_HEADERS });
}

function methodNotAllowed(allow: string): Response {
  return Response.json({ error: `Method not allowed here; use ${allow}` }, { status: 405, headers: { allow } });
}
