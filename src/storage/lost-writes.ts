import { dropHeld, type HeldOutput } from "./held-output.ts";
import type { ReleaseQueue } from "./release-queue.ts";

/** Identifies who is writing, so one event's failure rolls back only its own writes. */
export type TransactionOwner = object | undefined;

/**
 * Events whose writes were lost (a failed commit, or SQLite's own rollback) while they were still
 * running, with the error each gets. Kept by the database across its connections: a connection
 * parked while such an event awaits must not forget it.
 */
export class LostWrites {
  readonly #errors = new WeakMap<object, unknown>();
  /** Whether any loss was ever marked: until then every statement's look-up is skipped (losses are rare). */
  #any = false;

  mark(owner: object, error: unknown): void {
    this.#any = true;
    this.#errors.set(owner, error);
  }

  /** The error `owner`'s writes were lost with, if they were. */
  of(owner: TransactionOwner): unknown {
    return owner === undefined || !this.#any ? undefined : this.#errors.get(owner);
  }

  /** As {@link of}, and forgets it (the event ended). */
  take(owner: TransactionOwner): unknown {
    const error = this.of(owner);
    if (error !== undefined) this.#errors.delete(owner!);
    return error;
  }
}

/**
 * Output made while no transaction is open (none began yet, or the connection is parked): never for an
 * event whose writes were lost (it is dropped), else sent once the replica holds what came before (at
 * once without one).
 */
export function outputOutsideTransaction(lost: LostWrites, releases: ReleaseQueue | undefined, owner: TransactionOwner, output: HeldOutput): void {
  if (lost.of(owner) !== undefined) dropHeld([output]);
  else if (releases === undefined) output.send();
  else releases.output(output);
}

/**
 * An event that ends while no transaction is open: rejected with the error its writes were lost with,
 * else settled when its output is released (a failed event's wait never rejects).
 */
export function endEventOutsideTransaction(lost: LostWrites, releases: ReleaseQueue | undefined, owner: TransactionOwner, failed: boolean): Promise<void> | undefined {
  const error = lost.take(owner);
  if (error !== undefined && !failed) return Promise.reject(error);
  const released = releases?.whenReleased(owner);
  return failed ? released?.catch(() => {}) : released;
}
