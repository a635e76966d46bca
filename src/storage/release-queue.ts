import { dropHeld, sendHeld, type HeldOutput } from "./held-output.ts";

/**
 * The output gate's second half when a database is replicated (src/storage/replication.ts): output
 * of a commit leaves only once that commit — and every earlier one — is durable in the replica log,
 * in commit order. With no replication nothing is ever queued, and the gate is the local COMMIT alone.
 * Lives as long as the agent's database object, across its connections (parking, reopening).
 */
export class ReleaseQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Events whose writes a failed replication took with it, and that error. */
  readonly #lost = new WeakMap<object, Error>();
  /**
   * Commits whose replication failed so far, and the last reason. Output queued while such a commit
   * was pending may have read its writes (still in the local file): it never leaves.
   */
  #failures = 0;
  #lastFailure: Error | undefined;

  /** Commits whose replication failed so far: a transaction that began before one failed may have read its writes. */
  get failures(): number {
    return this.#failures;
  }

  /** Nothing is waiting for replication: output may go at once. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * A commit that settles when `replicated` does: `held` output is then sent and `durable` resolved,
   * after everything queued before. If replication fails, the output is dropped (and told so), `durable` rejects
   * and each of `writers` learns it when it ends ({@link takeLost}). It fails too if any commit fails
   * after `failuresAtBegin` was read (when its transaction began: it may have read that commit's writes).
   */
  add(replicated: Promise<void>, held: readonly HeldOutput[], durable: { resolve(): void; reject(error: unknown): void } | undefined, writers: readonly object[], failuresAtBegin = this.#failures): void {
    this.#pending++;
    const failures = failuresAtBegin;
    const fail = (lost: Error): void => {
      for (const writer of writers) this.#lost.set(writer, lost);
      this.#failures++;
      this.#lastFailure = lost;
      dropHeld(held);
      durable?.reject(lost);
    };
    this.#tail = this.#tail
      .then(() => replicated)
      .then(
        () => {
          this.#pending--;
          // An earlier commit failed meanwhile: this one's output may rest on its writes.
          if (this.#failures !== failures) return fail(new Error(`Replication failed before this event's output could leave: ${this.#lastFailure?.message}`, { cause: this.#lastFailure }));
          for (const output of held) sendHeld(output);
          durable?.resolve();
        },
        (error: unknown) => {
          this.#pending--;
          fail(new Error(`Replication failed, this event's writes are not durable: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
        },
      );
  }

  /**
   * Sends after everything queued so far (at once when nothing is); dropped if a commit queued before
   * it fails to replicate meanwhile (what it says may rest on that commit's writes; `dropped` then runs).
   */
  output(output: HeldOutput): void {
    if (this.#pending === 0) return sendHeld(output);
    const failures = this.#failures;
    this.#tail = this.#tail.then(() => {
      if (this.#failures === failures) sendHeld(output);
      else dropHeld([output]);
    });
  }

  /**
   * Settles once everything queued so far is released; rejects when `owner`'s own writes were lost
   * on the way, or when a commit queued before the call failed to replicate (the event may have read
   * its writes). Undefined when nothing is queued and nothing of `owner` was lost.
   */
  whenReleased(owner: object | undefined): Promise<void> | undefined {
    if (this.#pending === 0) {
      const lost = this.takeLost(owner);
      return lost === undefined ? undefined : Promise.reject(lost);
    }
    const failures = this.#failures;
    return this.#tail.then(() => {
      const lost = this.takeLost(owner);
      if (lost !== undefined) throw lost;
      // It may have read writes that never became durable: its answer must not leave.
      if (this.#failures !== failures) throw new Error(`Replication failed before this event's output could leave: ${this.#lastFailure?.message}`, { cause: this.#lastFailure });
    });
  }

  /** The error that took `owner`'s writes, once (undefined if none). */
  takeLost(owner: object | undefined): Error | undefined {
    if (owner === undefined) return undefined;
    const lost = this.#lost.get(owner);
    if (lost !== undefined) this.#lost.delete(owner);
    return lost;
  }
}
