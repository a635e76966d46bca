/** Width of one counting bucket, in ms: `countSince` is exact to this. */
export const BUCKET_MS = 10_000;
/** Buckets kept per fingerprint: `countSince` looks back at most BUCKET_MS × BUCKETS (one hour). */
export const BUCKETS = 360;

/**
 * Occurrences of one error per 10-second bucket over the last hour, in a fixed ring (1.4 KiB), so a
 * count since any time in the last hour costs at most 360 additions and no memory grows.
 */
export class ErrorBuckets {
  readonly #counts = new Uint32Array(BUCKETS);
  /** The bucket number (time / BUCKET_MS) each slot counts; a slot whose number is stale is empty. */
  readonly #numbers = new Float64Array(BUCKETS).fill(-1);

  add(time: number): void {
    const number = Math.floor(time / BUCKET_MS);
    const slot = number % BUCKETS;
    if (this.#numbers[slot] !== number) {
      if (this.#numbers[slot]! > number) return; // older than the window
      this.#numbers[slot] = number;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]!++;
  }

  /** Occurrences at or after `since` (whole buckets: one that straddles `since` counts fully), up to `now`. */
  countSince(since: number, now: number): number {
    const first = Math.max(Math.floor(since / BUCKET_MS), Math.floor(now / BUCKET_MS) - BUCKETS + 1);
    let total = 0;
    for (let slot = 0; slot < BUCKETS; slot++) if (this.#numbers[slot]! >= first) total += this.#counts[slot]!;
    return total;
  }
}
