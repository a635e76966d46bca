import { HANDLE } from "../agent/agent-base.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import { isWebSocketUpgrade, upgradeResponse } from "../host/upgrade.ts";
import { STUB_ADDRESS, type StubAddress } from "../host/namespace.ts";
import { parseSubAgentSteps } from "./paths.ts";
import type { SubAgentClass } from "./sub-agent-agent.ts";
import type { SubAgentStub } from "./stub.ts";

function addressOf(stub: unknown, what: string): StubAddress {
  const address = typeof stub === "object" && stub !== null ? (stub as Record<symbol, StubAddress | undefined>)[STUB_ADDRESS] : undefined;
  if (!address) throw new TypeError(`${what}: the parent must be an agent stub (getAgentByName(env.X, name) or getSubAgentByName(…))`);
  return address;
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
  const address = addressOf(parent, "routeSubAgentRequest");
  const fromPath = options.fromPath ?? new URL(request.url).pathname;
  const { steps, leafPath } = parseSubAgentSteps(fromPath);
  if (steps.length === 0) return Response.json({ error: `No /sub/{class}/{name} in ${fromPath}` }, { status: 400 });
  const all = [...address.steps, ...steps.map((step) => ({ className: step.segment, name: step.name }))];
  return address.dispatcher.toSubAgent(address.className, address.name, all, request, (actor, forwarded, place) => {
    const original = forwarded ?? request;
    const url = new URL(original.url);
    url.pathname = leafPath === "" ? "/" : leafPath;
    const leaf = new Request(url, original);
    if (isWebSocketUpgrade(leaf)) return upgradeResponse({ className: address.className, name: address.name, request: leaf, place });
    return actor[HANDLE.request](leaf);
  });
}

/**
 * A stub for the sub-agent `cls`/`name` of `parent` from outside it: RPC only (each call goes through
 * the parent, which creates the child on first use; `onBeforeSubAgent` does not run, as
 * `getAgentByName` runs no `onBeforeConnect`).
 * @example
 * const inbox = await getAgentByName(env.Inbox, userId);
 * const thread = await getSubAgentByName(inbox, Thread, "t-1");
 * await thread.addMessage("hi");
 */
export async function getSubAgentByName<T>(parent: unknown, cls: SubAgentClass<T> | string, name: string): Promise<SubAgentStub<T>> {
  const address = addressOf(parent, "getSubAgentByName");
  const steps = [...address.steps, typeof cls === "string" ? { className: cls, name } : { className: cls.name, name, cls }];
  const target: StubAddress = { ...address, steps };
  return new Proxy({} as SubAgentStub<T>, {
    get(_target, property) {
      if (property === STUB_ADDRESS) return target;
      if (property === "fetch") {
        return () => Promise.reject(new TypeError("getSubAgentByName stubs are RPC only; route HTTP and WebSockets with routeSubAgentRequest"));
      }
      if (typeof property !== "string" || property === "then") return undefined;
      return async (...args: unknown[]) => {
        const copied = structuredClone(args);
        const caller = callerOfCurrentScope();
        const result = await address.dispatcher.toSubAgent(address.className, address.name, steps, undefined, (actor) =>
          actor[HANDLE.invoke](property, copied, caller),
        );
        return structuredClone(result);
      };
    },
  });
}
