/** Width of a fine bucket, in ms: counts since a time in the last hour are exact to this. */
export const BUCKET_MS = 10_000;
/** Fine buckets kept per fingerprint (one hour). */
export const BUCKETS = 360;
/** Width of a coarse bucket, in ms: counts since a time further back are exact to this. */
export const COARSE_BUCKET_MS = 300_000;
/** Coarse buckets kept per fingerprint (one day: the longest alert window). */
export const COARSE_BUCKETS = 288;

/** Counts per fixed-width bucket over a fixed number of the latest buckets, in a ring. */
class Tier {
  readonly #counts: Uint32Array;
  /** The bucket number (time / width) each slot counts; a slot whose number is stale is empty. */
  readonly #numbers: Int32Array;

  readonly width: number;
  readonly size: number;

  constructor(width: number, size: number) {
    this.width = width;
    this.size = size;
    this.#counts = new Uint32Array(size);
    this.#numbers = new Int32Array(size).fill(-1);
  }

  add(time: number): void {
    const number = Math.floor(time / this.width);
    const slot = number % this.size;
    if (this.#numbers[slot] !== number) {
      if (this.#numbers[slot]! > number) return; // older than the window
      this.#numbers[slot] = number;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]!++;
  }

  countSince(since: number, now: number): number {
    const first = Math.max(Math.floor(since / this.width), Math.floor(now / this.width) - this.size + 1);
    let total = 0;
    for (let slot = 0; slot < this.size; slot++) if (this.#numbers[slot]! >= first) total += this.#counts[slot]!;
    return total;
  }
}

/**
 * Occurrences of one error in 10-second buckets over the last hour and 5-minute buckets over the last
 * day, in fixed rings (5 KiB): a count since any time costs at most a few hundred additions and no
 * memory grows.
 */
export class ErrorBuckets {
  readonly #fine = new Tier(BUCKET_MS, BUCKETS);
  readonly #coarse = new Tier(COARSE_BUCKET_MS, COARSE_BUCKETS);

  add(time: number): void {
    this.#fine.add(time);
    this.#coarse.add(time);
  }

  /**
   * Occurrences at or after `since`: from the fine buckets when `since` is within the last hour, else
   * from the coarse ones (at most a day back). A bucket that straddles `since` counts whole.
   */
  countSince(since: number, now: number): number {
    const tier = since >= now - BUCKET_MS * (BUCKETS - 1) ? this.#fine : this.#coarse;
    return tier.countSince(since, now);
  }
}
