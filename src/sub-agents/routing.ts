export { routeSubAgentRequest } from "../gateway/sub-agent-route.ts";
import { HANDLE } from "../agent/agent-base.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import { STUB_ADDRESS, type StubAddress } from "../host/namespace.ts";
import { stubAddressOf } from "../gateway/sub-agent-route.ts";
import type { SubAgentClass } from "./sub-agent-agent.ts";
import type { SubAgentStub } from "./stub.ts";
import { copyAcross, copyArguments } from "../host/copy.ts";

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
  const address = stubAddressOf(parent, "getSubAgentByName");
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
        const copied = copyArguments(args);
        const caller = callerOfCurrentScope();
        const result = await address.dispatcher.toSubAgent(address.className, address.name, steps, undefined, (actor) =>
          actor[HANDLE.invoke](property, copied, caller),
        );
        return copyAcross(result);
      };
    },
  });
}
