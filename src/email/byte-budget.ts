/**
 * Bytes held in memory across all sessions of a listener, up to `limit`: each message takes its
 * share while it is received and delivered, and gives it back when its answer is sent.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`The in-flight byte budget must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  /** Bytes still free. */
  get available(): number {
    return this.limit - this.#used;
  }

  /** Takes `bytes` when they fit; false (nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}
