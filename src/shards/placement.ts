/**
 * Which shard owns an agent: rendezvous (highest random weight) hashing of the agent's storage name
 * and instance name over the shard numbers. Every shard computes the same answer with no table and no
 * coordination; when the number of shards changes, only the agents whose winner changed move (about
 * 1/N of them), which is what a cluster of hosts needs too.
 */

/** The most shards a process runs (worker threads). */
export const MAX_SHARDS = 64;

/**
 * The shard (0 … count-1) that owns the root agent `name` of the class stored under `slug`.
 * @example
 * shardOf("counter", "room-1", 4); // → 2, on every thread, every time
 */
export function shardOf(slug: string, name: string, count: number): number {
  if (count <= 1) return 0;
  const key = fnv1a(name, fnv1a(slug, FNV_OFFSET) ^ 0x2f);
  let best = 0;
  let bestWeight = -1;
  for (let shard = 0; shard < count; shard++) {
    const weight = mix(key ^ Math.imul(shard + 1, 0x9e3779b1));
    if (weight > bestWeight) {
      bestWeight = weight;
      best = shard;
    }
  }
  return best;
}

const FNV_OFFSET = 0x811c9dc5;

function fnv1a(text: string, seed: number): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A 32-bit finalizer (murmur3's): nearby keys get unrelated weights. */
function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
