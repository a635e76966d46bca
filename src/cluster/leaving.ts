import type { ActorReplications } from "./actor-replications.ts";
import type { ClaimedFiles } from "./claimed-files.ts";
import type { ClusterTime } from "./due/cluster-time.ts";
import type { FacetReplicas } from "./facet-replicas.ts";
import type { Ownership } from "./ownership.ts";
import type { GroupCommitter } from "./pg/committer.ts";
import type { Leases } from "./pg/leases.ts";

/** What an actor leaving its node needs of the node (src/cluster/node.ts). */
export interface LeavingParts {
  readonly nodeId: string;
  readonly ownership: Ownership;
  readonly replications: ActorReplications;
  readonly facets: FacetReplicas;
  readonly time: ClusterTime;
  readonly committer: GroupCommitter;
  readonly files: ClaimedFiles;
  /** The node's leases now (made again when it joins again). */
  leases(): Leases;
  /** Takes the actor's copy out of memory. */
  evict(actorId: string, reason: Error): void;
  /** Waits, at most a lease TTL, until the actor's commits are in the log. */
  settle(actorId: string): Promise<void>;
}

/**
 * Hands service `actorId` held here to node `to`: calls wait for the move, its commits reach the log,
 * its lease goes to `to` (or back to nobody when `to` cannot take it).
 */
export async function handOverService(parts: LeavingParts, actorId: string, to: string): Promise<void> {
  const held = parts.ownership.held(actorId);
  if (held === undefined) return;
  const moving = Promise.withResolvers<void>();
  parts.ownership.handOver(actorId, moving.promise);
  try {
    parts.evict(actorId, new Error(`${actorId} moves to cluster node ${to}`));
    await parts.settle(actorId);
    await parts.committer.flush();
    const leases = parts.leases();
    if (!(await leases.transfer(actorId, held.epoch, to))) await leases.release(actorId, held.epoch);
    console.error(`[hearth] cluster: node ${parts.nodeId} handed ${actorId} to node ${to}`);
  } finally {
    parts.replications.forget(actorId);
    moving.resolve();
  }
}

/**
 * Gives back the lease of an agent idle since the last look (src/cluster/idle-release.ts), unless
 * something reached it since: its routes wait meanwhile, then claim it anew (here or on another node)
 * and rebuild it from the log — or, here with nothing appended since, serve its file as it is
 * (src/cluster/claimed-files.ts). True when the lease was given back.
 */
export async function giveBackIdle(parts: LeavingParts, actorId: string): Promise<boolean> {
  // Its next wake in actor_due first: once released, only a node's scanner reading it there fires it.
  await parts.time.settled(actorId);
  if (parts.time.writer.unsettled(actorId)) return false; // Postgres slow to answer: kept, tried at the next look
  const leaving = Promise.withResolvers<void>();
  const held = parts.ownership.leaveIfIdle(actorId, leaving.promise);
  if (held === undefined) return false;
  // The log's head as the lease was released; undefined: not released, it was no longer this node's.
  let head: number | undefined;
  try {
    head = await parts.leases().releaseAt(actorId, held.epoch);
  } catch {
    // Its outcome unknown: held again, as Postgres may still name this node (whose scanner would then
    // never fire the agent's schedules: nobody would claim it).
    parts.ownership.holdAgain(actorId, held);
    leaving.resolve();
    return false;
  }
  // Released, or fenced meanwhile: nothing of it stays but, given back cleanly, that its file is the
  // log's state at that head (a claim right after serves it as it is).
  if (head !== undefined) parts.files.gaveBack(actorId, head);
  parts.replications.forget(actorId);
  parts.facets.dropRoot(actorId);
  leaving.resolve();
  return head !== undefined;
}
