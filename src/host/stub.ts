import { HANDLE } from "../agent/agent-base.ts";
import { callerOfCurrentScope } from "../agent/context.ts";
import type { Actor } from "./actor.ts";
import { copyAcross, copyArguments } from "./copy.ts";
import { answerUnlessAborted } from "./abortable-fetch.ts";

/** Runs a task on one actor (waking it), in its mailbox. */
export type ActorDelivery = <R>(task: (actor: Actor) => R | Promise<R>) => Promise<R>;

/**
 * A stub that sends `fetch` and method calls to one actor through `deliver`: arguments and results are
 * structured-cloned, as across a network boundary. Used for actors reached by place (facets,
 * sub-agents) rather than through a namespace.
 */
export function actorStub(deliver: ActorDelivery): Record<string, unknown> {
  const fetch = (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request && init === undefined ? input : new Request(input, init);
    return answerUnlessAborted(request, () => deliver((actor) => actor[HANDLE.request](request)));
  };
  return new Proxy({} as Record<string, unknown>, {
    get(_target, property) {
      if (property === "fetch") return fetch;
      // Not thenable: `await stub` must yield the stub itself.
      if (typeof property !== "string" || property === "then") return undefined;
      return async (...args: unknown[]) => {
        const copied = copyArguments(args);
        const caller = callerOfCurrentScope();
        return copyAcross(await deliver((actor) => actor[HANDLE.invoke](property, copied, caller)));
      };
    },
  });
}
