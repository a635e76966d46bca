/** Live sessions one MCP endpoint holds at most, by default (option `maxSessions`). */
export const MAX_MCP_SESSIONS = 10_000;

/** At the limit, sessions that ended out of sight (on another node) are looked for at most this often. */
const SWEEP_INTERVAL_MS = 1_000;
/** Sessions looked for at once in a sweep. */
const SWEEP_BATCH = 64;

/**
 * The endpoints counting at least one live session. A session's end is offered to each (there are
 * as many as `serve()` calls): one that did not count it ignores it.
 */
const counting = new Set<SessionSlots>();

/** A session's agent removed itself (DELETE, expiry, closed stream): its place is free again. */
export function mcpSessionEnded(name: string): void {
  for (const slots of counting) slots.release(name);
}

/**
 * The live sessions of one endpoint. Every session is an agent with its own SQLite file kept until it
 * ends or expires, so without a bound a loop of anonymous `initialize` requests fills the disk.
 * Counted in this process: sessions opened before a restart count again once a client uses them.
 */
export class SessionSlots {
  readonly max: number;
  readonly #live = new Set<string>();
  #lastSweep = Number.NEGATIVE_INFINITY;
  #sweeping: Promise<void> | undefined;

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`serve({ maxSessions }): expected a positive integer, got ${String(max)}`);
    this.max = max;
  }

  /** Counts a session that already exists (opened before a restart, or by another endpoint). */
  note(name: string): void {
    this.#add(name);
  }

  /**
   * Takes a place for a new session; false at the limit. `known` tells whether a session still
   * exists, for sessions whose end this process did not see.
   */
  async take(name: string, known: (name: string) => Promise<boolean>): Promise<boolean> {
    if (this.#live.size >= this.max) await this.#sweep(known);
    if (this.#live.size >= this.max) return false;
    this.#add(name);
    return true;
  }

  release(name: string): void {
    this.#live.delete(name);
    // An endpoint without sessions is not kept reachable from here.
    if (this.#live.size === 0) counting.delete(this);
  }

  #add(name: string): void {
    this.#live.add(name);
    counting.add(this);
  }

  #sweep(known: (name: string) => Promise<boolean>): Promise<void> {
    // Bounded: a flood of refused initialize requests must not check every session each time.
    if (this.#sweeping !== undefined) return this.#sweeping;
    if (Date.now() - this.#lastSweep < SWEEP_INTERVAL_MS) return Promise.resolve();
    this.#lastSweep = Date.now();
    this.#sweeping = (async () => {
      // A few look-ups at a time (in a cluster each is a query): ten thousand in a row took seconds.
      const names = [...this.#live];
      for (let i = 0; i < names.length; i += SWEEP_BATCH) {
        const batch = names.slice(i, i + SWEEP_BATCH);
        const alive = await Promise.all(batch.map((name) => known(name)));
        batch.forEach((name, k) => {
          if (!alive[k]) this.release(name);
        });
      }
    })()
      // A failed look-up frees nothing: the endpoint stays at its limit.
      .catch(() => {})
      .finally(() => (this.#sweeping = undefined));
    return this.#sweeping;
  }
}
