import { describe, expect, test } from "vitest";
import { preferredNode } from "../../../src/cluster/due/rendezvous.ts";

describe("rendezvous preference", () => {
  const actors = Array.from({ length: 3_000 }, (_, i) => `ticker/${i}`);

  test("the same answer whatever the order of the list; none for an empty list", () => {
    for (const id of actors.slice(0, 100)) expect(preferredNode(id, ["a", "b", "c"])).toBe(preferredNode(id, ["c", "a", "b"]));
    expect(preferredNode("ticker/1", [])).toBeUndefined();
    expect(preferredNode("ticker/1", ["only"])).toBe("only");
  });

  test("agents spread over the nodes, and a node leaving moves only its own", () => {
    const before = new Map(actors.map((id) => [id, preferredNode(id, ["a", "b", "c"])!]));
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const node of before.values()) counts[node]!++;
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(actors.length / 3 - 200);
    for (const id of actors) {
      const after = preferredNode(id, ["a", "b"]);
      if (before.get(id) !== "c") expect(after).toBe(before.get(id));
    }
  });
});
