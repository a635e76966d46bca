import type { Clock } from "../time/clock.ts";

/** Expired keys are removed at most this often (they are never returned meanwhile). */
const MIN_PURGE_GAP_MS = 1_000;

/** What the purger needs from the store. */
export interface ExpiryTarget {
  /** Deletes a batch of keys expired at `nowSeconds`; true when more may remain. */
  purgeExpired(nowSeconds: number): Promise<boolean>;
  /** The earliest expiration stored (epoch seconds), or undefined when no key expires. */
  earliestExpiration(): number | undefined;
}

/**
 * Removes expired keys in the background: one timer on the clock (the system clock's is unref'd, so
 * it never keeps the process alive), armed for the earliest stored expiration and re-armed after each
 * purge. A put with an earlier expiration brings the timer forward.
 */
export class ExpiryPurger {
  readonly #clock: Clock;
  readonly #target: ExpiryTarget;
  #cancel: (() => void) | undefined;
  /** When the armed timer fires, epoch ms; undefined when none is armed. */
  #armedAt: number | undefined;
  #lastRun = Number.NEGATIVE_INFINITY;
  #running = false;
  #stopped = false;

  constructor(clock: Clock, target: ExpiryTarget) {
    this.#clock = clock;
    this.#target = target;
  }

  /** Arms the timer for what is stored now. */
  start(): void {
    this.#rearm();
  }

  /** A key was stored with this expiration (epoch seconds). */
  noteExpiration(seconds: number): void {
    if (this.#stopped || this.#running) return;
    const at = this.#fireTime(seconds);
    if (this.#armedAt === undefined || at < this.#armedAt) this.#arm(at);
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
    this.#armedAt = undefined;
  }

  #fireTime(seconds: number): number {
    return Math.max(seconds * 1000, this.#lastRun + MIN_PURGE_GAP_MS);
  }

  #rearm(): void {
    if (this.#stopped) return;
    const earliest = this.#target.earliestExpiration();
    if (earliest === undefined) {
      this.#cancel?.();
      this.#cancel = undefined;
      this.#armedAt = undefined;
    } else {
      this.#arm(this.#fireTime(earliest));
    }
  }

  #arm(at: number): void {
    this.#cancel?.();
    this.#armedAt = at;
    this.#cancel = this.#clock.setTimer(at, () => this.#run());
  }

  async #run(): Promise<void> {
    this.#cancel = undefined;
    this.#armedAt = undefined;
    if (this.#stopped) return;
    this.#running = true;
    let more = false;
    try {
      this.#lastRun = this.#clock.now();
      more = await this.#target.purgeExpired(Math.floor(this.#lastRun / 1000));
    } catch (error) {
      if (!this.#stopped) console.error("[hearth] KV: purging expired keys failed:", error);
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return;
    // A full batch: go on at once (the gap applies between rounds of the timer, not within one).
    if (more) this.#arm(this.#clock.now());
    else this.#rearm();
  }
}
