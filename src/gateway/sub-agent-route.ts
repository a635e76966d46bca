/**
 * Requests for a sub-agent: `/sub/{class}/{name}` after its parent's address (repeated for deeper
 * children), as `routeAgentRequest` serves them and `routeSubAgentRequest` routes them below a
 * parent reached some other way. The walk down the tree is the host's (`toSubAgent`).
 */
import { AGENT_RUNTIME, HANDLE } from "../agent/agent-base.ts";
import { agentClassOfSegment, STUB_ADDRESS, type StubAddress } from "../host/namespace.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { decodeNameSegment, MalformedPathSegmentError } from "../web/url-path.ts";

/** The address behind an agent stub (`what` names the caller in the error for anything else). */
export function stubAddressOf(stub: unknown, what: string): StubAddress {
  const address = typeof stub === "object" && stub !== null ? (stub as Record<symbol, StubAddress | undefined>)[STUB_ADDRESS] : undefined;
  if (!address) throw new TypeError(`${what}: the parent must be an agent stub (getAgentByName(env.X, name) or getSubAgentByName(…))`);
  return address;
}

/**
 * The `/sub/{class}/{name}` steps at the start of `rest`, each with the path left below it, and the
 * path left after them all; a name that is not valid percent-encoding throws a
 * MalformedPathSegmentError. With `served`, the steps end at the first `{class}` it refuses: the rest
 * is the path of the agent reached before it.
 */
export function parseSubAgentSteps(rest: string, served?: (segment: string) => boolean): { steps: Array<{ segment: string; name: string; below: string }>; leafPath: string } {
  const steps: Array<{ segment: string; name: string; below: string }> = [];
  let remaining = rest;
  for (;;) {
    const match = /^\/sub\/([^/]+)\/([^/]+)(.*)$/.exec(remaining);
    if (!match || (served !== undefined && !served(match[1]!))) break;
    remaining = match[3]!;
    steps.push({ segment: match[1]!, name: decodeNameSegment(match[2]!), below: remaining });
  }
  return { steps, leafPath: remaining };
}

/** Per dispatcher (one per host), the worker's actor classes (`ctx.exports`): fixed once the host started. */
const exportsByDispatcher = new WeakMap<object, Record<string, unknown>>();

/** The worker's actor classes, bound or only exported, as the agent at `address` sees them (`ctx.exports`). */
async function exportsSeenBy(address: StubAddress): Promise<Record<string, unknown>> {
  // The host's own list, where the dispatcher carries it; else asked of the agent, once.
  const known = address.dispatcher.exports ?? exportsByDispatcher.get(address.dispatcher);
  if (known !== undefined) return known;
  const exports = await address.dispatcher.toSubAgent(address.className, address.name, address.steps, undefined, (actor) => {
    const runtime = (actor as unknown as { [AGENT_RUNTIME]?: { exports?: Record<string, unknown> } })[AGENT_RUNTIME];
    return runtime?.exports;
  });
  if (exports instanceof Response || exports === undefined) return {};
  exportsByDispatcher.set(address.dispatcher, exports);
  return exports;
}

/**
 * `routeAgentRequest`'s `/sub/{class}/{name}…` after an agent's address (`rest`): the sub-agent's
 * answer, or undefined when `{class}` names no agent class of the worker, as the SDK's
 * parseSubAgentPath finds no child then: the path is the agent's own (its onRequest, or its socket).
 * Deeper steps end at the first class that is not served, as they do in the SDK's children.
 */
export async function routeToServedSubAgent(request: Request, parent: unknown, rest: string): Promise<Response | undefined> {
  const address = stubAddressOf(parent, "routeAgentRequest");
  const exports = await exportsSeenBy(address);
  let parsed: ReturnType<typeof parseSubAgentSteps>;
  try {
    parsed = parseSubAgentSteps(rest, (segment) => agentClassOfSegment(exports, segment) !== undefined);
  } catch (error) {
    if (error instanceof MalformedPathSegmentError) return Response.json({ error: error.message }, { status: 400 });
    throw error;
  }
  if (parsed.steps.length === 0) return undefined;
  return walkToLeaf(request, address, parsed, undefined);
}

/**
 * Routes `/sub/{child}/{name}[/…]` (repeated for deeper children) below a parent you reached yourself:
 * each parent's `onBeforeSubAgent` runs, the children are created on first use, and the last one gets
 * the request with only the path after its address (HTTP or a WebSocket upgrade).
 * @example
 * const inbox = await getAgentByName(env.Inbox, userId);
 * return routeSubAgentRequest(request, inbox, { fromPath: "/sub/thread/t-1/messages" });
 */
export async function routeSubAgentRequest(request: Request, parent: unknown, options: { fromPath?: string } = {}): Promise<Response> {
  const address = stubAddressOf(parent, "routeSubAgentRequest");
  const fromPath = options.fromPath ?? new URL(request.url).pathname;
  let parsed: ReturnType<typeof parseSubAgentSteps>;
  try {
    parsed = parseSubAgentSteps(fromPath);
  } catch (error) {
    if (error instanceof MalformedPathSegmentError) return Response.json({ error: error.message }, { status: 400 });
    throw error;
  }
  if (parsed.steps.length === 0) return Response.json({ error: `No /sub/{class}/{name} in ${fromPath}` }, { status: 400 });
  // The parent sees the request at the path routed (as the SDK hands it to the parent's fetch).
  return walkToLeaf(request, address, parsed, options.fromPath === undefined ? undefined : pathOnly(options.fromPath));
}

/**
 * Walks from `address` down `steps` (each parent's onBeforeSubAgent deciding) and gives the last child
 * the request, at `leafPath`. The first parent sees the request at `firstPath` (else as it came); each
 * middle parent sees it at the path left below it (`/sub/{class}/{name}/…`), as the SDK forwards it.
 */
function walkToLeaf(request: Request, address: StubAddress, { steps, leafPath }: ReturnType<typeof parseSubAgentSteps>, firstPath: string | undefined): Promise<Response> {
  const routed = steps.map((step, index) => {
    const path = index === 0 ? firstPath : steps[index - 1]!.below;
    return { className: step.segment, name: step.name, ...(path === undefined ? {} : { requestPath: path === "" ? "/" : path }) };
  });
  const all = [...address.steps, ...routed];
  return address.dispatcher.toSubAgent(address.className, address.name, all, request, (actor, forwarded, place) => {
    const original = forwarded ?? request;
    const url = new URL(original.url);
    url.pathname = leafPath === "" ? "/" : leafPath;
    const leaf = new Request(url, original);
    if (isWebSocketUpgrade(leaf)) return upgradeResponse({ className: address.className, name: address.name, request: leaf, place });
    return actor[HANDLE.request](leaf);
  });
}

/** The path of `fromPath` (its query left out), starting with a slash. */
function pathOnly(fromPath: string): string {
  const path = fromPath.split("?", 1)[0]!;
  return path.startsWith("/") ? path : `/${path}`;
}
