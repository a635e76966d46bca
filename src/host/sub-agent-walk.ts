/**
 * The way from a root actor to one of its sub-agents: each parent on the path opens the next child
 * (its `onBeforeSubAgent` may answer instead), then `task` runs on the last one.
 */
import { HANDLE } from "../agent/agent-base.ts";
import type { Actor, ActorPathStep } from "./actor.ts";
import { childPlace, type CellPlace } from "./place.ts";

/** Runs `task` on the actor at `place`, waking it. */
type DeliverAt = <T>(place: CellPlace, task: (actor: Actor) => T | Promise<T>) => Promise<T>;

export async function walkToSubAgent<T>(
  deliverAt: DeliverAt,
  root: CellPlace,
  steps: readonly ActorPathStep[],
  request: Request | undefined,
  task: (actor: Actor, request: Request | undefined, place: CellPlace) => T | Promise<T>,
): Promise<T | Response> {
  let place = root;
  let forwarded = request;
  for (const step of steps) {
    if (forwarded !== undefined && step.requestPath !== undefined) forwarded = withPath(forwarded, step.requestPath);
    const seen = forwarded;
    const opened = await deliverAt(place, (actor) => {
      const open = actor[HANDLE.openChild]?.bind(actor);
      if (!open) throw new TypeError(`${step.className}/${step.name}: its parent does not have sub-agents`);
      return open((step.cls as object | undefined) ?? step.className, step.name, seen);
    });
    if (opened instanceof Response) return opened;
    forwarded = opened.request ?? forwarded;
    place = childPlace(place, opened.facet);
  }
  const at = place;
  return deliverAt(at, (actor) => task(actor, forwarded, at));
}

/** `request` at another path of its URL (its query, method, headers and body kept). */
function withPath(request: Request, path: string): Request {
  const url = new URL(request.url);
  if (url.pathname === path) return request;
  url.pathname = path;
  return new Request(url, request);
}
