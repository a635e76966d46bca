/**
 * Which slot of the span ring holds a trace, by trace id, kept in typed arrays: a W3C id is stored as
 * its 16 bytes, its slot found through an open-addressing table of slot numbers. Nothing it keeps is
 * a JavaScript object, so an index of thousands of short-lived traces costs the garbage collector
 * nothing (a `Map` keyed by id strings kept every id alive until its trace left, long enough to be
 * copied to the old generation and swept from it). Ids that are not 32 lowercase hex digits (rare:
 * another system's) are kept in a small `Map` of their own.
 */
import { randomFillSync } from "node:crypto";
import { writeIdBytes } from "./ids.ts";

const ID_BYTES = 16;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export class TraceIndex {
  /** Each slot's id, for slots indexed by bytes. */
  readonly #ids: Uint8Array;
  readonly #words: Uint32Array;
  readonly #hashes: Uint32Array;
  /** Open addressing with linear probing: slot + 1 at each place, 0 for none. */
  readonly #table: Int32Array;
  readonly #mask: number;
  /** Ids that are not hex, by text; and which slots hold one. */
  readonly #text = new Map<string, number>();
  readonly #textOf: Array<string | undefined>;
  /** Where an id being looked up is parsed to (16 bytes, 4 words). */
  readonly #key = new Uint8Array(ID_BYTES);
  readonly #keyWords = new Uint32Array(this.#key.buffer);
  /** Per process: ids a client sends cannot be chosen to land on one place. */
  readonly #seed: number;
  /** The id last parsed into `#key` (a lookup that found nothing is mostly followed by an add of the same id), and its hash. */
  #parsed: string | undefined;
  #parsedHash = 0;

  constructor(slots: number) {
    this.#ids = new Uint8Array(slots * ID_BYTES);
    this.#words = new Uint32Array(this.#ids.buffer);
    this.#hashes = new Uint32Array(slots);
    this.#textOf = new Array<string | undefined>(slots).fill(undefined);
    let size = 16;
    while (size < slots * 2) size *= 2; // at most half full: probes stay short
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    this.#seed = randomFillSync(new Uint32Array(1))[0]!;
  }

  /** The slot holding `traceId`, or -1. */
  find(traceId: string): number {
    if (!this.#parse(traceId)) return this.#text.get(traceId) ?? -1;
    const key = this.#keyWords;
    const hash = this.#parsedHash;
    const words = this.#words;
    for (let at = hash & this.#mask; ; at = (at + 1) & this.#mask) {
      const entry = this.#table[at]!;
      if (entry === 0) return -1;
      const slot = entry - 1;
      const w = slot * 4;
      if (this.#hashes[slot] === hash && words[w] === key[0] && words[w + 1] === key[1] && words[w + 2] === key[2] && words[w + 3] === key[3]) return slot;
    }
  }

  /** Records that `slot` holds `traceId` (not indexed yet: {@link find} gave -1). */
  add(traceId: string, slot: number): void {
    if (!this.#parse(traceId)) {
      this.#text.set(traceId, slot);
      this.#textOf[slot] = traceId;
      return;
    }
    const key = this.#keyWords;
    const w = slot * 4;
    this.#words[w] = key[0]!;
    this.#words[w + 1] = key[1]!;
    this.#words[w + 2] = key[2]!;
    this.#words[w + 3] = key[3]!;
    const hash = this.#parsedHash;
    this.#hashes[slot] = hash;
    let at = hash & this.#mask;
    while (this.#table[at] !== 0) at = (at + 1) & this.#mask;
    this.#table[at] = slot + 1;
  }

  /** Forgets the id of `slot` (its trace left the ring). */
  remove(slot: number): void {
    const text = this.#textOf[slot];
    if (text !== undefined) {
      this.#text.delete(text);
      this.#textOf[slot] = undefined;
      return;
    }
    const mask = this.#mask;
    const table = this.#table;
    let hole = this.#hashes[slot]! & mask;
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    // Backward-shift deletion: move later entries of the probe run into the hole, so a lookup never
    // stops early at it (no tombstones to clean up later).
    for (let at = (hole + 1) & mask; table[at] !== 0; at = (at + 1) & mask) {
      const home = this.#hashes[table[at]! - 1]! & mask;
      if (((at - home) & mask) >= ((at - hole) & mask)) {
        table[hole] = table[at]!;
        hole = at;
      }
    }
    table[hole] = 0;
  }

  /** The id `slot` holds, as it was added. */
  idOf(slot: number): string {
    const text = this.#textOf[slot];
    if (text !== undefined) return text;
    let id = "";
    for (let i = slot * ID_BYTES; i < (slot + 1) * ID_BYTES; i++) id += HEX[this.#ids[i]!];
    return id;
  }

  /** Parses `traceId` into `#key` (and hashes it) unless it is there already; false when it is not 32 lowercase hex digits. */
  #parse(traceId: string): boolean {
    if (traceId === this.#parsed) return true;
    if (!writeIdBytes(this.#key, 0, traceId, ID_BYTES)) {
      this.#parsed = undefined; // the key was partly written over
      return false;
    }
    this.#parsed = traceId;
    this.#parsedHash = this.#hash(this.#keyWords);
    return true;
  }

  #hash(key: Uint32Array): number {
    let hash = this.#seed;
    for (let i = 0; i < 4; i++) {
      hash = Math.imul(hash ^ key[i]!, 0x9e3779b1);
      hash ^= hash >>> 15;
    }
    return hash >>> 0;
  }
}
