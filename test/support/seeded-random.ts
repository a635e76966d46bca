/**
 * A seeded generator of numbers in [0, 1) (mulberry32): randomized tests draw the same sequence on
 * every run, so a failure comes back when the test runs again.
 * @example const next = seededRandom(3); next(); // 0.…, the same each run
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
