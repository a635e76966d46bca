import { resolve } from "node:path";

/**
 * One open object per file in this process, shared by reference count: every binding that names the
 * same file gets the same object, so a SQLite file is never opened twice (its exclusive lock would
 * refuse the second opening anyway). The last release closes it.
 */
export class SharedFiles<T> {
  readonly #entries = new Map<string, { value: T; refs: number }>();

  /**
   * The object open for `path`, with one more reference; `open` makes it if none is. `check` may refuse
   * an existing one opened with other options (by throwing).
   */
  acquire(path: string, open: (path: string) => T, check: (existing: T) => void): T {
    const key = resolve(path);
    const entry = this.#entries.get(key);
    if (entry !== undefined) {
      check(entry.value);
      entry.refs++;
      return entry.value;
    }
    const value = open(key);
    this.#entries.set(key, { value, refs: 1 });
    return value;
  }

  /** The object open for `path`, if any (without a reference of its own: what a call from another thread reaches). */
  get(path: string): T | undefined {
    return this.#entries.get(resolve(path))?.value;
  }

  /** Drops one reference; true when it was the last one (the caller closes the object). */
  release(path: string, value: T): boolean {
    const key = resolve(path);
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.value !== value) return false;
    if (--entry.refs > 0) return false;
    this.#entries.delete(key);
    return true;
  }

  /** Forgets every object, whatever its references, and returns them (the caller closes them). */
  takeAll(): T[] {
    const values = [...this.#entries.values()].map((entry) => entry.value);
    this.#entries.clear();
    return values;
  }
}
