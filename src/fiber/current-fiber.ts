import { AsyncLocalStorage } from "node:async_hooks";

/** The fiber whose function runs the current code. */
export interface CurrentFiber {
  readonly id: string;
  stash(data: unknown): void;
}

/** The fiber whose function is running, followed across awaits: what `this.stash()` writes to. */
export const currentFiber = new AsyncLocalStorage<CurrentFiber>();
