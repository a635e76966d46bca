import { LIMITS } from "../limits.ts";
import type { AgentDatabase } from "../storage/database.ts";

/** State is JSON split over rows of this many characters, so no single row holds a large state. */
const CHUNK_CHARS = 512 * 1024;

/**
 * Persists an agent's state in `_hearth_state`, chunked, with an in-memory copy. Reads are lazy: a
 * woken agent that never touches `this.state` never parses it.
 */
export class StateStore {
  readonly #db: AgentDatabase;
  #cache: { value: unknown; json: string | undefined } | undefined;
  /**
   * How many rows the table holds, when known (after a read or a write; not after a rollback, nor
   * after the agent's own SQL named the state table, nor while a trigger names it): a state that fits
   * one row replaces row 0 alone when no later rows are left to delete — one statement per `setState`
   * instead of two.
   */
  #rows: number | undefined;
  /** The database's count of agent SQL naming the state table when {@link #rows} was last known. */
  #touches = 0;
  /** Nothing was written through this store yet. */
  #unwritten = true;

  constructor(db: AgentDatabase) {
    this.#db = db;
  }

  /**
   * The stored state, or undefined when none was ever stored. A state set to `undefined` reads back
   * as `undefined` until the agent leaves memory and as `null` after, as in the Agents SDK.
   */
  read(): { value: unknown; json: string | undefined } | undefined {
    if (this.#cache) return this.#cache;
    // A new agent's file, made from the template by this connection's open, has no state: unless the
    // agent's own SQL named the table since, there is nothing to read (a statement fewer per new agent).
    if (this.#unwritten && this.#db.madeByThisOpen && this.#db.stateTableTouches === 0) {
      this.#knowRows(0);
      return undefined;
    }
    const rows = this.#db.statement("SELECT data FROM _hearth_state ORDER BY chunk").all();
    this.#knowRows(rows.length);
    if (rows.length === 0) return undefined;
    const json = rows.length === 1 ? (rows[0]!.data as string) : rows.map((r) => r.data as string).join("");
    this.#cache = { value: JSON.parse(json), json };
    return this.#cache;
  }

  /** Stores `value`; returns its JSON (undefined for an undefined state). */
  write(value: unknown): string | undefined {
    const json = JSON.stringify(value);
    if (json !== undefined && json.length > LIMITS.maxStateBytes) {
      throw new RangeError(`State is ${json.length} characters of JSON; the limit is ${LIMITS.maxStateBytes} (maxStateBytes)`);
    }
    this.#unwritten = false;
    // Unknown until the statements below have all run: one that fails may leave any number.
    const trusted = this.#db.stateTableTouches === this.#touches && !this.#db.stateTableHasTriggers;
    const known = trusted ? this.#rows : undefined;
    this.#rows = undefined;
    // An undefined state is still a state that was set: its row ("null", as the Agents SDK stores a
    // NULL) keeps a woken agent from seeding `initialState` again. No row means never set.
    const stored = json ?? "null";
    if (stored.length <= CHUNK_CHARS) {
      this.#db.statement("INSERT OR REPLACE INTO _hearth_state (chunk, data) VALUES (0, ?)").run(stored);
      if (known === undefined || known > 1) this.#db.statement("DELETE FROM _hearth_state WHERE chunk > 0").run();
      this.#knowRows(1);
    } else {
      this.#db.statement("DELETE FROM _hearth_state").run();
      const insert = this.#db.statement("INSERT INTO _hearth_state (chunk, data) VALUES (?, ?)");
      let chunks = 0;
      for (let start = 0; start < stored.length; chunks++) {
        let end = Math.min(start + CHUNK_CHARS, stored.length);
        // Never split a surrogate pair: a lone half would not survive UTF-8 storage.
        if (end < stored.length && isHighSurrogate(stored.charCodeAt(end - 1))) end--;
        insert.run(chunks, stored.slice(start, end));
        start = end;
      }
      this.#knowRows(chunks);
    }
    // Keep a private copy: later mutation of the caller's object must not change what we serve.
    this.#cache = { value: json === undefined ? undefined : JSON.parse(json), json };
    return json;
  }

  #knowRows(rows: number): void {
    this.#rows = rows;
    this.#touches = this.#db.stateTableTouches;
  }

  /** Forgets the in-memory copy and the row count (after a rollback). */
  invalidate(): void {
    this.#cache = undefined;
    this.#rows = undefined;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
