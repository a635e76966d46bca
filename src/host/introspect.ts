/**
 * Looking inside a running agent from outside it (the inspector, `hearth inspect`): work runs INSIDE
 * the agent, as one of its events, through its mailbox (input gate) — so it sees a consistent
 * database, its writes join the agent's implicit transaction, and state changes reach connected
 * clients exactly as the agent's own `setState` does. Nothing here creates an agent: visiting one
 * that has no storage fails with {@link AgentNotFoundError}.
 */
import { AGENT_RUNTIME, AgentBase, HANDLE } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import type { AgentDatabase } from "../storage/database.ts";
import type { Actor, ActorPathStep } from "./actor.ts";
import type { ActorHost as Host } from "./host.ts";

/** What a visit sees: the actor, and for an Agent its instance, runtime and database. */
export interface AgentVisit {
  readonly className: string;
  readonly name: string;
  /** The host's entry points of the actor (every kind of actor has them). */
  readonly actor: Actor;
  /** The Agent instance; undefined for a plain Durable Object. */
  readonly agent: AgentBase | undefined;
  /** The agent's runtime (sockets, clock, children); undefined for a plain Durable Object. */
  readonly runtime: AgentRuntime | undefined;
  /** The agent's SQLite database; undefined for a plain Durable Object. */
  readonly db: AgentDatabase | undefined;
}

/** Options of {@link visitAgent}. */
export interface VisitOptions {
  /** A sub-agent below the root: each step's class and name, root's child first. */
  readonly sub?: readonly ActorPathStep[];
}

/** The agent (or sub-agent) asked for has no storage: nothing to look at. */
export class AgentNotFoundError extends Error {
  override readonly name = "AgentNotFoundError";
}

/**
 * Runs `fn` inside the agent `className`/`name` (or its sub-agent `options.sub`) as one of its events,
 * waking it if it hibernates. Fails with {@link AgentNotFoundError} when there is no such agent, and
 * with a TypeError when no class of that name is registered.
 * @example
 * const state = await visitAgent(host, "Counter", "a", ({ agent }) => agent?.state);
 */
export async function visitAgent<T>(host: Host, className: string, name: string, fn: (visit: AgentVisit) => T | Promise<T>, options: VisitOptions = {}): Promise<T> {
  if (!host.exists(className, name)) throw new AgentNotFoundError(`${className}/${name} does not exist (it has no storage)`);
  const steps = options.sub ?? [];
  for (let depth = 0; depth < steps.length; depth++) {
    const step = steps[depth]!;
    const known = await run(host, className, name, steps.slice(0, depth), ({ agent }) => hasSubAgent(agent, step));
    if (!known) {
      const where = [className, name, ...steps.slice(0, depth + 1).flatMap((s) => [s.className, s.name])].join("/");
      throw new AgentNotFoundError(`${where} does not exist (its parent has no such sub-agent)`);
    }
  }
  return run(host, className, name, steps, (visit) => fn({ ...visit, className: steps.at(-1)?.className ?? className, name: steps.at(-1)?.name ?? name }));
}

/**
 * What the host tells about itself beyond the public API: which agents are in memory.
 * @example
 * const inMemory = hostInternals(host).isLive("Counter", "a");
 */
export function hostInternals(host: Host): { isLive(className: string, name: string): boolean } {
  return host.internals;
}

async function run<T>(host: Host, className: string, name: string, steps: readonly ActorPathStep[], fn: (visit: AgentVisit) => T | Promise<T>): Promise<T> {
  const result = await host.toSubAgent(className, name, steps, undefined, (actor) =>
    actor[HANDLE.scoped](() => {
      const agent = actor instanceof AgentBase ? actor : undefined;
      const runtime = agent?.[AGENT_RUNTIME];
      return fn({ className, name, actor, agent, runtime, db: runtime?.db });
    }),
  );
  if (result instanceof Response) throw new AgentNotFoundError(`${className}/${name}: a parent refused the way to the sub-agent (${result.status})`);
  return result;
}

function hasSubAgent(agent: AgentBase | undefined, step: ActorPathStep): boolean {
  const list = (agent as { listSubAgents?: (cls?: string) => Array<{ className: string; name: string }> } | undefined)?.listSubAgents;
  if (typeof list !== "function") return false;
  return list.call(agent, step.className).some((child) => child.name === step.name);
}
