import { createHash } from "node:crypto";

/**
 * Which of `nodes` should take `actorId` over: the one with the highest hash of (actor, node)
 * (rendezvous hashing). Every node computes the same answer from the same list, so one claims at once
 * and the others only step in after a grace period; a node leaving or joining moves only its share.
 * Undefined for an empty list.
 *
 * @example
 * preferredNode("counter/a", ["a", "b", "c"]); // the same id on every node
 */
export function preferredNode(actorId: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const node of nodes) {
    const score = rendezvousScore(actorId, node);
    if (score > bestScore || (score === bestScore && best !== undefined && node < best)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}

/** The first 64 bits of sha-256(actor NUL node), as an unsigned integer. */
export function rendezvousScore(actorId: string, nodeId: string): bigint {
  return createHash("sha256").update(actorId).update("\0").update(nodeId).digest().readBigUInt64BE(0);
}
