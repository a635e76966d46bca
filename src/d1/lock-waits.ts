import { setTimeout as sleep } from "node:timers/promises";

/**
 * How long a call waits for another process's write (e.g. `hearth d1 execute` beside a running
 * server) to finish, before it fails with `D1_ERROR: database is locked: SQLITE_BUSY`.
 */
export const LOCK_WAIT_MS = 5_000;
/** The first pause before a locked call is tried again; each pause doubles, up to the longest. */
const FIRST_PAUSE_MS = 2;
const LONGEST_PAUSE_MS = 100;
/** SQLite's primary result code for "the file is locked by another connection". */
const SQLITE_BUSY = 5;

/**
 * Waits for another process's write lock without holding the thread. A connection that waits inside
 * SQLite (its busy timeout) blocks the event loop, and with it every request of the server; here a
 * call runs once, and when it finds the database locked (SQLITE_BUSY, its transaction rolled back) it
 * is tried again after a pause, until {@link LOCK_WAIT_MS} have passed since it was made.
 * Calls keep their order: while one waits, those made after it wait behind it.
 * @example
 * const waits = new LockWaits();
 * const rows = await waits.run(() => engine.query(query, "all", true)); // tried again while another process writes
 */
export class LockWaits {
  /** Settles when the last call queued behind a locked one has finished. */
  #tail: Promise<void> | undefined;

  run<T>(attempt: () => T): Promise<T> {
    const madeAt = performance.now();
    if (this.#tail === undefined) {
      try {
        return Promise.resolve(attempt());
      } catch (error) {
        if (!isBusy(error)) return Promise.reject(error);
      }
      return this.#enqueue(() => retry(attempt, madeAt, FIRST_PAUSE_MS));
    }
    return this.#enqueue(() => retry(attempt, madeAt, 0));
  }

  #enqueue<T>(call: () => Promise<T>): Promise<T> {
    const result = (this.#tail ?? Promise.resolve()).then(call);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tail = tail;
    void tail.then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    return result;
  }
}

/** Runs `attempt` (after `pause` ms when not 0) until it is not locked out or the wait is over. */
async function retry<T>(attempt: () => T, madeAt: number, pause: number): Promise<T> {
  for (;;) {
    if (pause > 0) await sleep(Math.max(0, Math.min(pause, madeAt + LOCK_WAIT_MS - performance.now())));
    try {
      return attempt();
    } catch (error) {
      if (!isBusy(error) || performance.now() - madeAt >= LOCK_WAIT_MS) throw error;
    }
    pause = Math.min(Math.max(pause * 2, FIRST_PAUSE_MS), LONGEST_PAUSE_MS);
  }
}

/** True when `error`, or an error it wraps, is SQLite's SQLITE_BUSY (any of its extended codes). */
export function isBusy(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const errcode = (current as { errcode?: unknown }).errcode;
    if (typeof errcode === "number") return (errcode & 0xff) === SQLITE_BUSY;
  }
  return false;
}
