/**
 * A run's scratchpad: what steps saved (`step(node, { saveAs: "key" })`), read by later steps'
 * `input(input, scratch)`. A key with a reducer merges every write (parallel branches writing the same
 * key); one without keeps the last write. Nothing is stored: a resumed run rebuilds it as the walk
 * returns the journaled outputs, so reducers must not depend on the order branches finish in (append
 * then sort, sum, max, a set…).
 */

/** How one key's writes are merged. */
export interface ScratchKey<T = unknown> {
  /** The value before any write. */
  initial: T;
  /** Method syntax on purpose: a key typed for strings fits a spec of unknown values. */
  reduce(current: T, written: unknown): T;
}

/** Keys with reducers, by name (`team(…, { scratchpad: { sources: appendReducer() } })`). */
export type ScratchpadSpec = Readonly<Record<string, ScratchKey>>;

/** Most keys one run's scratchpad holds. */
export const MAX_SCRATCH_KEYS = 256;

export class Scratchpad {
  readonly #spec: ScratchpadSpec;
  readonly #values = new Map<string, unknown>();

  constructor(spec: ScratchpadSpec = {}) {
    this.#spec = spec;
    for (const [key, def] of Object.entries(spec)) this.#values.set(key, structuredClone(def.initial));
  }

  write(key: string, value: unknown): void {
    if (!this.#values.has(key) && this.#values.size >= MAX_SCRATCH_KEYS) throw new RangeError(`A team run's scratchpad holds at most ${MAX_SCRATCH_KEYS} keys`);
    const def = this.#spec[key];
    this.#values.set(key, def ? def.reduce(this.#values.get(key), value) : value);
  }

  /** A frozen copy for a step's `input` function. */
  view(): Readonly<Record<string, unknown>> {
    return Object.freeze(Object.fromEntries(this.#values));
  }
}

/**
 * A reducer that appends every write (arrays are flattened one level) and keeps the list sorted by
 * `order` (default: JSON text), so the result is the same whatever order branches finished in.
 * @example
 * team("research", node, { scratchpad: { sources: appendReducer() } });
 */
export function appendReducer<T>(order: (a: T, b: T) => number = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))): ScratchKey<T[]> {
  return {
    initial: [],
    reduce: (current, written) => [...current, ...(Array.isArray(written) ? (written as T[]) : [written as T])].sort(order),
  };
}
