/** Width of a fine bucket, in ms: counts since a time in the last hour are exact to this. */
export const BUCKET_MS = 10_000;
/** Fine buckets kept per fingerprint (one hour). */
export const BUCKETS = 360;
/** Width of a coarse bucket, in ms: counts since a time further back are exact to this. */
export const COARSE_BUCKET_MS = 300_000;
/** Coarse buckets kept per fingerprint (one day: the longest alert window). */
export const COARSE_BUCKETS = 288;
/** How far back counts reach, in ms (one day). */
export const COUNT_LOOK_BACK_MS = COARSE_BUCKET_MS * COARSE_BUCKETS;

/**
 * Counts per fixed-width bucket over a fixed number of the latest buckets, in a ring, in one or more
 * lanes (one per agent class, say) that share the ring's bucket numbers: a lane costs only its counts.
 */
class Tier {
  /** The bucket number (time / width) each slot counts; a slot whose number is stale is empty. */
  readonly #numbers: Int32Array;
  readonly #lanes: Uint32Array[] = [];

  readonly width: number;
  readonly size: number;

  constructor(width: number, size: number) {
    this.width = width;
    this.size = size;
    this.#numbers = new Int32Array(size).fill(-1);
  }

  addLane(): void {
    this.#lanes.push(new Uint32Array(this.size));
  }

  clearLane(lane: number): void {
    this.#lanes[lane]!.fill(0);
  }

  add(time: number, lane: number): void {
    const number = Math.floor(time / this.width);
    const slot = number % this.size;
    if (this.#numbers[slot] !== number) {
      if (this.#numbers[slot]! > number) return; // older than the window
      this.#numbers[slot] = number;
      for (const counts of this.#lanes) counts[slot] = 0;
    }
    this.#lanes[lane]![slot]!++;
  }

  /** Occurrences since `since` in `lane`, or in all lanes when `lane` is undefined. */
  countSince(since: number, now: number, lane: number | undefined): number {
    const first = Math.max(Math.floor(since / this.width), Math.floor(now / this.width) - this.size + 1);
    const lanes = lane === undefined ? this.#lanes : [this.#lanes[lane]!];
    let total = 0;
    for (let slot = 0; slot < this.size; slot++) {
      if (this.#numbers[slot]! < first) continue;
      for (const counts of lanes) total += counts[slot]!;
    }
    return total;
  }
}

/**
 * Occurrences of one error in 10-second buckets over the last hour and 5-minute buckets over the last
 * day, in fixed rings, in lanes (2.5 KiB each, plus 2.5 KiB for the ring): a count since any time costs
 * at most a few hundred additions per lane and no memory grows but by adding a lane.
 */
export class ErrorBuckets {
  readonly #fine = new Tier(BUCKET_MS, BUCKETS);
  readonly #coarse = new Tier(COARSE_BUCKET_MS, COARSE_BUCKETS);
  #lanes = 0;

  /** Adds an empty lane; returns its number. */
  addLane(): number {
    this.#fine.addLane();
    this.#coarse.addLane();
    return this.#lanes++;
  }

  /** Empties a lane, to count something else in it. */
  clearLane(lane: number): void {
    this.#fine.clearLane(lane);
    this.#coarse.clearLane(lane);
  }

  add(time: number, lane: number): void {
    this.#fine.add(time, lane);
    this.#coarse.add(time, lane);
  }

  /**
   * Occurrences at or after `since` in `lane` (all lanes when undefined): from the fine buckets when
   * `since` is within the last hour, else from the coarse ones (at most a day back). A bucket that
   * straddles `since` counts whole.
   */
  countSince(since: number, now: number, lane?: number): number {
    const tier = since >= now - BUCKET_MS * (BUCKETS - 1) ? this.#fine : this.#coarse;
    return tier.countSince(since, now, lane);
  }
}
