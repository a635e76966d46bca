import type { Clock } from "../../time/clock.ts";

/** How often each namespace object looks for expired keys to delete, in ms of its clock. */
export const KV_PURGE_INTERVAL_MS = 60_000;

/**
 * Deletes a namespace's expired rows from Postgres in the background: once when opened (keys that
 * expired while no node was running), then every {@link KV_PURGE_INTERVAL_MS}, batch after batch while
 * batches come back full. Reads never depend on it: they filter expired rows themselves. Several
 * nodes may purge the same namespace at once; the statement skips rows another one has locked.
 */
export class KvPurger {
  readonly #clock: Clock;
  readonly #purge: (nowSeconds: number) => Promise<boolean>;
  #cancel: (() => void) | undefined;
  #stopped = false;

  /** `purge` deletes one batch of keys expired at `nowSeconds` and says whether more may remain. */
  constructor(clock: Clock, purge: (nowSeconds: number) => Promise<boolean>) {
    this.#clock = clock;
    this.#purge = purge;
  }

  start(): void {
    this.#arm(this.#clock.now());
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = undefined;
  }

  #arm(at: number): void {
    if (this.#stopped) return;
    this.#cancel = this.#clock.setTimer(at, () => this.#run());
  }

  async #run(): Promise<void> {
    this.#cancel = undefined;
    let more = false;
    try {
      if (!this.#stopped) more = await this.#purge(Math.floor(this.#clock.now() / 1000));
    } catch (error) {
      if (!this.#stopped) console.error("[hearth] KV: purging expired keys from Postgres failed:", error);
    }
    this.#arm(more ? this.#clock.now() : this.#clock.now() + KV_PURGE_INTERVAL_MS);
  }
}
