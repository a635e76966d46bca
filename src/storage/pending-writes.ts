import type { KvTarget } from "./kv-operations.ts";
import { matches, type ListQuery } from "./kv-table.ts";

/**
 * The writes of a running `transaction()` closure, kept in memory until it finishes, then applied to
 * what lies beneath (the database, or an enclosing transaction) in one atomic batch. Reads see
 * these writes over the ones beneath.
 *
 * Why in memory and not a SQLite savepoint: the closure may await real I/O, and then other events
 * of the object run and write. Their writes must neither vanish when this transaction rolls back
 * nor be committed half-way with it, and a savepoint cannot stay open across them (the implicit
 * transaction commits at the end of each turn). Buffered, a transaction that rolls back leaves
 * nothing behind and one that commits lands whole, whatever ran in between.
 */
export class PendingWrites implements KvTarget {
  readonly #beneath: KvTarget;
  /** Key → serialized value, or null for a deletion. */
  readonly #writes = new Map<string, Uint8Array | null>();
  /** The alarm as this transaction set it (null: deleted); undefined when untouched. */
  #alarm: { at: number | null } | undefined;

  constructor(beneath: KvTarget) {
    this.#beneath = beneath;
  }

  read(key: string): Uint8Array | undefined {
    const pending = this.#writes.get(key);
    if (pending !== undefined) return pending ?? undefined;
    return this.#beneath.read(key);
  }

  list(query: ListQuery): Array<[string, Uint8Array]> {
    const overlay = [...this.#writes].filter(([key]) => matches(key, query.conditions));
    if (overlay.length === 0) return this.#beneath.list(query);
    // Each pending key may hide one entry beneath, so read that many more to still fill the limit.
    const limit = query.limit === undefined ? undefined : query.limit + overlay.length;
    const merged = new Map(this.#beneath.list({ ...query, limit }));
    for (const [key, value] of overlay) {
      if (value === null) merged.delete(key);
      else merged.set(key, value);
    }
    const direction = query.reverse ? -1 : 1;
    const entries = [...merged]
      .map(([key, value]) => ({ bytes: Buffer.from(key, "utf8"), entry: [key, value] as [string, Uint8Array] }))
      .sort((a, b) => direction * Buffer.compare(a.bytes, b.bytes))
      .map(({ entry }) => entry);
    return query.limit === undefined ? entries : entries.slice(0, query.limit);
  }

  write(key: string, value: Uint8Array): void {
    this.#writes.set(key, value);
  }

  remove(key: string): boolean {
    const existed = this.read(key) !== undefined;
    this.#writes.set(key, null);
    return existed;
  }

  getAlarm(): number | null {
    return this.#alarm === undefined ? this.#beneath.getAlarm() : this.#alarm.at;
  }

  setAlarm(scheduledTime: number): void {
    this.#alarm = { at: scheduledTime };
  }

  deleteAlarm(): void {
    this.#alarm = { at: null };
  }

  /** Nothing to do: pending writes are applied all together anyway. */
  batch<T>(fn: () => T): T {
    return fn();
  }

  /** Applies every write to what lies beneath, atomically. */
  apply(): void {
    if (this.#writes.size === 0 && this.#alarm === undefined) return;
    const beneath = this.#beneath;
    beneath.batch(() => {
      for (const [key, value] of this.#writes) {
        if (value === null) beneath.remove(key);
        else beneath.write(key, value);
      }
      if (this.#alarm?.at === null) beneath.deleteAlarm();
      else if (this.#alarm !== undefined) beneath.setAlarm(this.#alarm.at);
    });
  }
}
