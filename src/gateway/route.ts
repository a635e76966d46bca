import { AgentNameError, validateAgentName } from "../host/names.ts";
import { getAgentByName, isAgentNamespace, type AgentNamespace } from "../host/namespace.ts";
import { corsHeaders, withCors, type AgentCorsOption } from "./cors.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { decodeNameSegment, MalformedPathSegmentError, pathnameOf } from "../web/url-path.ts";
import { routeToServedSubAgent } from "./sub-agent-route.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { checkRoutingRetry, type RoutingRetryOptions } from "../host/routing-retry.ts";

/** Which agent a request is for, as the hooks see it. */
export interface Lobby {
  /** URL segment of the class, e.g. "chat-room". */
  readonly party: string;
  /** Binding name of the class, e.g. "ChatRoom". */
  readonly className: string;
  /** Instance name, decoded. */
  readonly name: string;
}

/** Return a Response to reject, a Request to rewrite, nothing to continue. */
export type BeforeHook = (request: Request, lobby: Lobby) => Response | Request | void | Promise<Response | Request | void>;

export interface RouteOptions {
  /** First path segment(s), e.g. "api/agents". Default (and when empty) "agents". */
  prefix?: string;
  /** CORS headers on every answer and a 200 preflight: `true` for permissive ones, or the headers (`HeadersInit`), as on Cloudflare. */
  cors?: AgentCorsOption;
  /** Runs before a WebSocket upgrade: authenticate here. */
  onBeforeConnect?: BeforeHook;
  /** Runs before an HTTP request reaches the agent. */
  onBeforeRequest?: BeforeHook;
  /** Passed to the agent's `onStart(props)` when this request starts it (e.g. the caller's identity). */
  props?: Record<string, unknown>;
  /** Cloudflare's placement hint for the Durable Object: accepted and ignored (one host, no placement). */
  locationHint?: string;
  /** Cloudflare's jurisdiction for the Durable Object: accepted and ignored (one host, no placement). */
  jurisdiction?: string;
  /**
   * The Agents SDK's retry of transient Durable Object infrastructure errors: accepted and checked as
   * the SDK checks it (a policy it refuses throws), and not used: Hearth retries its own transient
   * routing failures below this, where it knows whether the agent was reached (host/routing-retry.ts).
   */
  routingRetry?: false | RoutingRetryOptions;
}

export type { RoutingRetryEvent, RoutingRetryOptions } from "../host/routing-retry.ts";

/**
 * Routes `/{prefix}/{class}/{name}/…` to the agent's onRequest, or its WebSocket upgrade to the agent
 * (a plain Durable Object binding's requests and upgrades to the object's own `fetch`, as in the SDK).
 * Returns null when the path is not `/{prefix}/{class}/{name}…` (so the worker's own routes, such as
 * `/agents/list`, still get their requests); an unknown class is a 400, as in the Agents SDK (the
 * classes that are served are logged, not shown to the client), and so is a name that is not valid
 * percent-encoding.
 * @example
 * export default {
 *   fetch: async (req: Request, env: Env) =>
 *     (await routeAgentRequest(req, env, { onBeforeConnect: requireToken })) ?? new Response("Not found", { status: 404 }),
 * };
 */
export async function routeAgentRequest(request: Request, env: object, options: RouteOptions = {}): Promise<Response | null> {
  // As the SDK: an empty prefix is the default one, and empty path segments (`//agents/c/x`,
  // `/agents//c/x`) are dropped before matching. Slashes around the prefix are ignored.
  const prefixParts = (options.prefix || "agents").split("/").filter(Boolean);
  if (prefixParts.length === 0) return null; // "/": the SDK matches nothing with it either
  // A Request's url is serialized already: its path is read off the string, not parsed again.
  const path = pathnameOf(request.url);
  if (!path.includes(prefixParts[0]!)) return null; // not an agent's path: no splitting
  const parts = path.split("/").filter(Boolean);
  if (parts.length < prefixParts.length + 2 || !prefixParts.every((part, index) => parts[index] === part)) return null;
  const prefix = prefixParts.join("/");
  const slug = parts[prefixParts.length]!;
  const encodedName = parts[prefixParts.length + 1]!;
  const rest = parts.length > prefixParts.length + 2 ? `/${parts.slice(prefixParts.length + 2).join("/")}` : "";
  const cors = corsHeaders(options.cors);
  const upgrade = isWebSocketUpgrade(request);
  // A preflight is answered once the class is known, as partyserver answers it.
  const preflight = cors !== undefined && request.method === "OPTIONS" && !upgrade;
  const namespace = findNamespace(env, slug);
  if (!namespace) {
    const plain = findObjectNamespace(env, slug);
    if (!plain) return unknownClass(request, env, `/${prefix}/${slug}/`, cors);
    if (preflight) return new Response(null, { status: 200, headers: cors });
    return routeToObject(plain, request, encodedName, upgrade, options, cors);
  }
  if (preflight) return new Response(null, { status: 200, headers: cors });
  let name: string;
  try {
    name = validateAgentName(decodeNameSegment(encodedName));
  } catch (error) {
    if (error instanceof AgentNameError || error instanceof MalformedPathSegmentError) return problem(400, error.message, cors);
    throw error;
  }
  const forwarded = await runHook(request, { party: slug, className: namespace.className, name }, upgrade, options);
  if (forwarded instanceof Response) return withCors(forwarded, cors);
  checkRoutingRetry(options.routingRetry); // where the SDK checks it: the agent is about to be reached
  if (options.props !== undefined) await getAgentByName(namespace, name, { props: options.props });
  // A sub-agent below this agent: its parent's onBeforeSubAgent decides, the child gets the rest. Only
  // when `/sub/{class}` names a class the worker serves, as the SDK's parseSubAgentPath: any other
  // `/sub/…` path is the agent's own.
  if (SUB_AGENT_STEP.test(rest)) {
    const below = await routeToServedSubAgent(forwarded, namespace.getByName(name), rest);
    if (below !== undefined) return withCors(below, upgrade ? undefined : cors);
  }
  if (upgrade) return upgradeResponse({ className: namespace.className, name, request: forwarded });
  return withCors(await namespace.getByName(name).fetch(forwarded), cors);
}

/** Per env, the binding that served each slug last: one property read per request instead of a scan. */
const namespacesByEnv = new WeakMap<object, Map<string, { key: string; namespace: AgentNamespace }>>();

/** The agent binding served at `/agents/<slug>/…` in `env` (cached per env, checked against it each time). */
export function findNamespace(env: object, slug: string): AgentNamespace | undefined {
  let known = namespacesByEnv.get(env);
  const hit = known?.get(slug);
  // Checked against env each time: a binding replaced or removed is not served from the cache.
  if (hit !== undefined && (env as Record<string, unknown>)[hit.key] === hit.namespace) return hit.namespace;
  for (const [key, value] of Object.entries(env)) {
    // By its class's URL segment, or by the binding's own name, as the Agents SDK routes every binding
    // (a second binding of a class, `env.Other`, is served at /agents/other/ too: the same instances).
    if (isAgentNamespace(value) && (value.slug === slug || camelCaseToKebabCase(key) === slug)) {
      if (known === undefined) namespacesByEnv.set(env, (known = new Map()));
      known.set(slug, { key, namespace: value });
      return value;
    }
  }
  return undefined;
}

/**
 * A plain Durable Object binding (`env.ROOMS`), as the Agents SDK's router serves it too: the class
 * may be a partyserver-style server or any object with its own `fetch`.
 */
interface ObjectNamespace {
  readonly slug: string;
  readonly className: string;
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

function isObjectNamespace(value: unknown): value is ObjectNamespace {
  if (typeof value !== "object" || value === null || isAgentNamespace(value)) return false;
  const candidate = value as Partial<ObjectNamespace>;
  return typeof candidate.slug === "string" && typeof candidate.idFromName === "function" && typeof candidate.get === "function";
}

function findObjectNamespace(env: object, slug: string): ObjectNamespace | undefined {
  for (const [key, value] of Object.entries(env)) {
    if (isObjectNamespace(value) && (value.slug === slug || camelCaseToKebabCase(key) === slug)) return value;
  }
  return undefined;
}

/** `/{prefix}/{class}/{name}/…` of a plain Durable Object: the hooks run, then the object's own `fetch` answers (an upgrade too). */
async function routeToObject(
  namespace: ObjectNamespace,
  request: Request,
  encodedName: string,
  upgrade: boolean,
  options: RouteOptions,
  cors: Record<string, string> | undefined,
): Promise<Response> {
  let id: unknown;
  let name: string;
  try {
    name = decodeNameSegment(encodedName);
    id = namespace.idFromName(name);
  } catch (error) {
    return problem(400, error instanceof Error ? error.message : String(error), cors);
  }
  const forwarded = await runHook(request, { party: namespace.slug, className: namespace.className, name }, upgrade, options);
  if (forwarded instanceof Response) return withCors(forwarded, cors);
  checkRoutingRetry(options.routingRetry);
  const response = await namespace.get(id).fetch(forwarded);
  return upgrade ? response : withCors(response, cors);
}

/** `onBeforeConnect` (an upgrade) or `onBeforeRequest`: the Response it answers with, else the request to forward (rewritten or not). */
async function runHook(request: Request, lobby: Lobby, upgrade: boolean, options: RouteOptions): Promise<Request | Response> {
  const hook = upgrade ? options.onBeforeConnect : options.onBeforeRequest;
  const outcome = hook === undefined ? undefined : await hook(request, lobby);
  return outcome instanceof Response || outcome instanceof Request ? outcome : request;
}

/**
 * The 400 for a class nobody serves, as partyserver answers it: which classes are served is logged
 * for whoever runs the server, not shown to the client.
 */
function unknownClass(request: Request, env: object, path: string, cors: Record<string, string> | undefined): Response {
  const known = Object.values(env).filter((value) => isAgentNamespace(value) || isObjectNamespace(value)).map((ns) => (ns as { slug: string }).slug);
  console.error(`[hearth] ${request.method} ${pathnameOf(request.url)}: no agent class is served at ${path} (served: ${known.join(", ") || "none"}); is the class exported and bound?`);
  return problem(400, `Invalid request: no agent class is served at ${path}`, cors);
}

/** A path that goes on to `/sub/{class}/{name}`: a sub-agent's (a name with a bad escape is refused there). */
const SUB_AGENT_STEP = /^\/sub\/[^/]+\/[^/]/;

function problem(status: number, error: string, cors: Record<string, string> | undefined): Response {
  return Response.json({ error }, { status, headers: cors });
}
