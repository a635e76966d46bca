/**
 * Objects the first thread holds for the bindings that name them (a KV namespace by id, a D1 database
 * by name): bindings naming the same one share it, by reference count, as one thread shares a file
 * between its bindings. The last release says so (the caller closes the object).
 * @example
 * const stores = new SharedByName<KvStore>();
 * const store = stores.acquire("cache", () => new KvStore(options)); // a second binding gets the same one
 * if (stores.release("cache", store)) store.close();
 */
export class SharedByName<T> {
  readonly #entries = new Map<string, { value: T; refs: number }>();

  /** The object held for `name`, with one more reference; `open` makes it when none is held. */
  acquire(name: string, open: () => T): T {
    const entry = this.#entries.get(name);
    if (entry !== undefined) {
      entry.refs++;
      return entry.value;
    }
    const value = open();
    this.#entries.set(name, { value, refs: 1 });
    return value;
  }

  /** The object held for `name`, if any (what another thread's call reaches). */
  get(name: string): T | undefined {
    return this.#entries.get(name)?.value;
  }

  /** Drops one reference; true when it was the last one (the caller closes the object). */
  release(name: string, value: T): boolean {
    const entry = this.#entries.get(name);
    if (entry === undefined || entry.value !== value) return false;
    if (--entry.refs > 0) return false;
    this.#entries.delete(name);
    return true;
  }
}
