import type { WebSocket } from "ws";
import type { AgentCaller } from "../agent/context.ts";
import type { ActorDispatcher, ActorPathStep } from "./actor.ts";

/**
 * Which host runs which actor, when agents are spread over several hosts (the shards of one process,
 * later the nodes of a cluster). A host given a placement runs only the root actors it owns — with
 * every sub-agent and facet below them — and hands every event for another actor to `remote`.
 * Without one, a host owns everything (one shard: Hearth as it always was).
 */
export interface HostPlacement {
  /** Whether this host runs the root actor stored under `slug` (the class's storage name) as `name`. */
  owns(slug: string, name: string): boolean;
  /** Where events for actors this host does not own go. */
  readonly remote: RemoteActors;
  /** Durable time across hosts (a cluster): told of root agents' next wakes, able to add one. */
  readonly time?: PlacementTime;
}

/**
 * What a placement learns of the host's due index, and what it may add to it: when one host dies,
 * another learns its agents' wakes from a shared table and takes over (docs/cluster/due.md).
 */
export interface PlacementTime {
  /**
   * The earliest entry of a root agent's tree (it, its sub-agents and facets) in this host's due index
   * changed: the tree is next woken at `at` (epoch ms), or not at all (null). Called after the index
   * write, synchronously, on every change of that earliest entry.
   */
  nextWakeChanged(slug: string, name: string, at: number | null): void;
  /** Given once by the host: makes sure the agent (a root, or a facet by its index name `root\0child`) is woken here by `at` (one taken over from another host). */
  attach(wakes: { lower(slug: string, name: string, at: number): void }): void;
}

/** The events a host can hand to the owner of an actor it does not run. */
export interface RemoteActors {
  request(className: string, name: string, request: Request): Promise<Response>;
  invoke(className: string, name: string, method: string, args: unknown[], caller?: AgentCaller): Promise<unknown>;
  start(className: string, name: string, props?: Record<string, unknown>): Promise<void>;
  /** See ActorDispatcher.learnName. */
  learnName?(className: string, name: string, idName: string): void;
  /** An upgraded client socket for the agent: this host keeps the socket and relays its frames. */
  acceptSocket(className: string, name: string, ws: WebSocket, request: Request): void;
  /** Whether the agent was ever created, wherever it lives, without creating it (a cluster asks Postgres). */
  exists?(className: string, name: string): Promise<boolean>;
}

/**
 * The dispatcher a placed host gives its namespaces: each call goes to `local` when the host owns the
 * agent, else to the placement's remote side. `exists` of a remote agent looks at its file (every
 * host sees the same data directory). A sub-agent is reached through its root's owner.
 */
export function placedDispatcher(local: ActorDispatcher, placement: HostPlacement, slugOf: (className: string) => string, fileExists: (className: string, name: string) => boolean): ActorDispatcher {
  const owns = (className: string, name: string): boolean => placement.owns(slugOf(className), name);
  return {
    // The same classes everywhere the placement spreads them.
    get exports() {
      return local.exports;
    },
    request: (className, name, request) => (owns(className, name) ? local.request(className, name, request) : placement.remote.request(className, name, request)),
    exists: (className, name) => (owns(className, name) ? local.exists(className, name) : fileExists(className, name)),
    existsAnywhere: async (className, name) => {
      if (owns(className, name)) return local.exists(className, name);
      return fileExists(className, name) || ((await placement.remote.exists?.(className, name)) ?? false);
    },
    start: (className, name, props) => (owns(className, name) ? local.start(className, name, props) : placement.remote.start(className, name, props)),
    // Where this host owns the object, its own namespace made the id and knows the name already.
    learnName: (className, name, idName) => (owns(className, name) ? undefined : placement.remote.learnName?.(className, name, idName)),
    invoke: (className, name, method, args, caller) =>
      owns(className, name) ? local.invoke(className, name, method, args, caller) : placement.remote.invoke(className, name, method, args, caller),
    toSubAgent: <T>(className: string, name: string, steps: readonly ActorPathStep[], request: Request | undefined, task: Parameters<ActorDispatcher["toSubAgent"]>[4]) => {
      if (owns(className, name)) return local.toSubAgent<T>(className, name, steps, request, task as never);
      return Promise.reject(
        new Error(
          `${className}/${name} runs on another thread: its sub-agents are reached through it (a request to /agents/…/${name}/sub/…, or a call on the parent), not from here`,
        ),
      );
    },
  };
}
