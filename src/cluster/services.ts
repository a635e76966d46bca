import type { DatabaseReplication } from "../storage/replication.ts";

/**
 * Something other than an agent that lives, like an agent, on exactly one node at a time: a database
 * file of its own, replicated through the same log, leased, forwarded to and taken over the same way
 * (a D1 database: src/cluster/bindings/d1.ts). Its log key is `<kind>/<name>`; kinds begin with "~",
 * which no agent's storage name does.
 */
export interface OwnedService {
  /** The local file of `name`, rebuilt from the log whenever this node claims it. */
  file(name: string): string;
  /** The file's table (`key TEXT PRIMARY KEY, value`) that keeps its log position, created by its first commit. */
  readonly metaTable: string;
  /**
   * Runs `method` on `name`, which this node holds now. `replication` is the log its commits go to;
   * an answer leaves only once the commits it may have read are in the log.
   */
  invoke(name: string, method: string, args: readonly unknown[], replication: () => DatabaseReplication): Promise<unknown>;
  /** This node no longer holds `name` (moved, lost, draining): close its local copy. */
  release(name: string, reason: Error): void;
  /**
   * Whether `name` could move to another node now without cutting work short (nothing under way in
   * it). Only services kept spread over the nodes (`ClusterNode.keepHeld`) are asked; without
   * it a service stays where it is until its node leaves.
   */
  movable?(name: string): boolean;
}

/** Service kinds start with this, agents' storage names never do. */
export const SERVICE_KIND_PREFIX = "~";

/** The kind of an actor id (`~d1/app` → `~d1`), or undefined for an agent's. */
export function serviceKindOf(actorId: string): string | undefined {
  return actorId.startsWith(SERVICE_KIND_PREFIX) ? actorId.slice(0, actorId.indexOf("/")) : undefined;
}
