/**
 * Reaching the agent a URL names: `:class/:name`, and for a sub-agent `?sub=<Class>/<name>/…` (each
 * part URL-encoded). Work runs inside the agent through src/host/introspect.ts.
 */
import { AgentNotFoundError, visitAgent, type AgentVisit } from "../../host/introspect.ts";
import { ApiError, badRequest, notFound } from "../http.ts";
import type { RouteContext } from "../router.ts";

/** Which agent a request is about. */
export interface AgentAddress {
  className: string;
  name: string;
  sub: Array<{ className: string; name: string }>;
  /** `Class/name[/Class/name…]`, for audit rows and messages. */
  label: string;
}

export function agentAddress(ctx: RouteContext): AgentAddress {
  const className = ctx.params.class!;
  const name = ctx.params.name!;
  const raw = ctx.query.get("sub");
  const sub: AgentAddress["sub"] = [];
  if (raw !== null && raw !== "") {
    const parts = raw.split("/").map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw badRequest(`sub has a part that is not URL-encoded: ${JSON.stringify(part)}`);
      }
    });
    if (parts.length % 2 !== 0 || parts.some((part) => part === "")) throw badRequest("sub must be <Class>/<name> pairs, e.g. sub=Child/a");
    for (let i = 0; i < parts.length; i += 2) sub.push({ className: parts[i]!, name: parts[i + 1]! });
  }
  const label = [className, name, ...sub.flatMap((step) => [step.className, step.name])].join("/");
  return { className, name, sub, label };
}

/** Runs `fn` inside the agent the request names; 404 when there is no such class or agent. */
export async function inAgent<T>(ctx: RouteContext, fn: (visit: AgentVisit, address: AgentAddress) => T | Promise<T>): Promise<T> {
  const address = agentAddress(ctx);
  if (!knownClass(ctx, address.className)) throw notFound(`No agent class ${JSON.stringify(address.className)} is registered`);
  try {
    return await visitAgent(ctx.sources.host, address.className, address.name, (visit) => fn(visit, address), { sub: address.sub });
  } catch (error) {
    if (error instanceof AgentNotFoundError) throw notFound(error.message);
    throw error;
  }
}

/** Like {@link inAgent}, for an Agent (not a plain Durable Object): 400 `not_an_agent` otherwise. */
export function inAgentBase<T>(ctx: RouteContext, fn: (visit: AgentVisit & { agent: NonNullable<AgentVisit["agent"]>; db: NonNullable<AgentVisit["db"]> }, address: AgentAddress) => T | Promise<T>): Promise<T> {
  return inAgent(ctx, (visit, address) => {
    if (!visit.agent || !visit.db) throw new ApiError(400, "not_an_agent", `${address.label} is a plain Durable Object: the inspector shows agents' state, SQL, connections and tasks only`);
    return fn(visit as AgentVisit & { agent: NonNullable<AgentVisit["agent"]>; db: NonNullable<AgentVisit["db"]> }, address);
  });
}

export function knownClass(ctx: RouteContext, className: string): boolean {
  return Object.hasOwn(ctx.sources.host.exports, className);
}
