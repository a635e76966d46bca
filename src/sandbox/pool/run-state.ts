/**
 * What a worker is doing, in shared memory the host thread reads without asking it: which sandbox's
 * code the engine is running, whether that code sleeps for a host answer, and a count bumped every
 * time either changes. A worker stuck in one native builtin cannot answer a message, so this is how
 * the host's watchdog (stuck-watch.ts) sees it: the same sandbox running, not waiting, the count
 * unchanged from one look to the next.
 */

/** The context whose code the engine runs now (0: none). */
const RUNNING = 0;
/** 1 while that code sleeps for the host's answer to a sync call (the host's slowness is not its fault). */
const WAITING = 1;
/** Bumped whenever the engine starts or stops running code and whenever a wait for the host ends. */
const STRETCH = 2;
const WORDS = 3;

/** A new block of run state, for one worker. */
export function newRunState(): SharedArrayBuffer {
  return new SharedArrayBuffer(WORDS * Int32Array.BYTES_PER_ELEMENT);
}

/** The worker's side: written as the engine enters and leaves a sandbox's code, and around host waits. */
export class RunStateWriter {
  readonly #words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer);
  }

  /** The engine starts running context `ctx`'s code; returns what to call when it stops (entries nest). */
  running(ctx: number): () => void {
    const outer = Atomics.exchange(this.#words, RUNNING, ctx);
    Atomics.add(this.#words, STRETCH, 1);
    return () => {
      Atomics.store(this.#words, RUNNING, outer);
      Atomics.add(this.#words, STRETCH, 1);
    };
  }

  /** Sets whether the running code sleeps for the host; returns what to call to put the previous state back. */
  waiting(on: boolean): () => void {
    const outer = Atomics.exchange(this.#words, WAITING, on ? 1 : 0);
    return () => {
      Atomics.store(this.#words, WAITING, outer);
      Atomics.add(this.#words, STRETCH, 1);
    };
  }
}

/** One look at a worker's run state. */
export interface RunSnapshot {
  /** The context whose code runs (0: none). */
  ctx: number;
  waiting: boolean;
  /** Equal in two looks: the same stretch of running, with no host wait in between. */
  stretch: number;
}

/** The host's side: reads a worker's state. */
export class RunStateReader {
  readonly #words: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer);
  }

  look(): RunSnapshot {
    return { ctx: Atomics.load(this.#words, RUNNING), waiting: Atomics.load(this.#words, WAITING) === 1, stretch: Atomics.load(this.#words, STRETCH) };
  }
}
