import { AsyncLocalStorage } from "node:async_hooks";

/** The fiber whose function runs the current code. */
export interface CurrentFiber {
  /**
   * Whose fiber it is (the agent's fibers): code of another agent that the fiber calls (an RPC in the
   * same process) runs in the same context, and must not reach this checkpoint.
   */
  readonly owner: object;
  readonly id: string;
  stash(data: unknown): void;
}

/** The fiber whose function is running, followed across awaits: what `this.stash()` writes to. */
export const currentFiber = new AsyncLocalStorage<CurrentFiber>();
