/**
 * The `ready` promise of a connection: it resolves once the server
 * identified the instance, and a fresh one replaces it when that connection
 * closes. A promise still pending at a close stays, so whoever awaits it is
 * released by the next connection.
 *
 * @example
 * ```ts
 * const ready = new ReadySignal();
 * socket.addEventListener("close", () => ready.reset());
 * onIdentified(() => ready.resolve());
 * await ready.promise;
 * ```
 */
export class ReadySignal {
  #promise!: Promise<void>;
  #resolve: (() => void) | null = null;

  constructor() {
    this.#renew();
  }

  /** Settles once the current (or next) connection is identified. */
  get promise(): Promise<void> {
    return this.#promise;
  }

  /** Whether the current promise has resolved. */
  get resolved(): boolean {
    return this.#resolve === null;
  }

  resolve(): void {
    this.#resolve?.();
    this.#resolve = null;
  }

  /** After a close: a resolved promise is replaced by a pending one. */
  reset(): void {
    if (this.resolved) this.#renew();
  }

  #renew(): void {
    this.#promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
}
