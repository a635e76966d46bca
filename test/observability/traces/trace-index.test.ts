/**
 * The span ring's index of trace ids: over many thousands of adds and removes in random order —
 * W3C ids, ids differing in one byte, ids in upper case and ids that are not hex at all — it answers
 * exactly what a `Map` would, including after removals in the middle of a probe run.
 */
import { describe, expect, it } from "vitest";
import { seededRandom } from "../../support/seeded-random.ts";
import { TraceIndex } from "../../../src/observability/traces/trace-index.ts";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

describe("TraceIndex", () => {
  it("finds what a Map finds through adds and removes of every kind of id", () => {
    const slots = 64;
    const index = new TraceIndex(slots);
    const model = new Map<string, number>();
    const free = Array.from({ length: slots }, (_, slot) => slot);
    const next = seededRandom(11);
    const ids = [
      ...Array.from({ length: 60 }, (_, i) => hex(i + 1, 32)), // differ in the last byte only
      ...Array.from({ length: 40 }, (_, i) => `${hex(i, 2)}${"ab".repeat(15)}`), // differ in the first byte only
      ...Array.from({ length: 20 }, (_, i) => hex(i + 7, 32).toUpperCase()), // not lower case: kept as text
      ...Array.from({ length: 20 }, (_, i) => `not-hex-${i}`),
      "",
    ];
    for (let step = 0; step < 40_000; step++) {
      const id = ids[Math.floor(next() * ids.length)]!;
      const held = model.get(id);
      expect(index.find(id)).toBe(held ?? -1);
      if (held === undefined && free.length > 0 && next() < 0.6) {
        const slot = free.splice(Math.floor(next() * free.length), 1)[0]!;
        index.add(id, slot);
        model.set(id, slot);
      } else if (held !== undefined && next() < 0.5) {
        index.remove(held);
        model.delete(id);
        free.push(held);
      }
    }
    for (const id of ids) expect(index.find(id)).toBe(model.get(id) ?? -1);
  });

  it("holds a full set of slots and gives each back", () => {
    const slots = 2_001;
    const index = new TraceIndex(slots);
    const ids = Array.from({ length: slots }, (_, i) => hex(i * 0x10000, 32));
    ids.forEach((id, slot) => index.add(id, slot));
    ids.forEach((id, slot) => expect(index.find(id)).toBe(slot));
    for (let slot = 0; slot < slots; slot += 2) index.remove(slot);
    ids.forEach((id, slot) => expect(index.find(id)).toBe(slot % 2 === 0 ? -1 : slot));
  });
});
