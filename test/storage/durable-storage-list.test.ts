import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DurableObjectStorage, type DurableObjectListOptions } from "../../src/storage/durable-storage.ts";

let dir: string;
let db: AgentDatabase;
let storage: DurableObjectStorage;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "hearth-do-list-"));
  db = new AgentDatabase({ path: join(dir, "list.sqlite"), durability: "relaxed", identity: "list/a", currentOwner: () => undefined });
  let alarm: number | null = null;
  storage = new DurableObjectStorage(db, { alarms: { get: () => alarm, set: (at) => void (alarm = at), delete: () => void (alarm = null) } });
  await storage.put(Object.fromEntries(["a", "b", "ba", "bb", "bc", "c", "d"].map((key) => [key, key.toUpperCase()])));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function keys(options?: DurableObjectListOptions): Promise<string[]> {
  const listed = await storage.list(options);
  // The async list and the synchronous kv.list take the same options and give the same answer.
  const { allowConcurrency: _a, noCache: _n, ...kvOptions } = options ?? {};
  expect([...storage.kv.list(kvOptions).keys()]).toEqual([...listed.keys()]);
  return [...listed.keys()];
}

describe("list", () => {
  it("returns every entry in key order with its value", async () => {
    const all = await storage.list<string>();
    expect([...all]).toEqual([
      ["a", "A"],
      ["b", "B"],
      ["ba", "BA"],
      ["bb", "BB"],
      ["bc", "BC"],
      ["c", "C"],
      ["d", "D"],
    ]);
  });

  it("takes start (inclusive), startAfter (exclusive) and end (exclusive)", async () => {
    expect(await keys({ start: "b" })).toEqual(["b", "ba", "bb", "bc", "c", "d"]);
    expect(await keys({ startAfter: "b" })).toEqual(["ba", "bb", "bc", "c", "d"]);
    expect(await keys({ startAfter: "bz" })).toEqual(["c", "d"]);
    expect(await keys({ end: "bb" })).toEqual(["a", "b", "ba"]);
    expect(await keys({ start: "ba", end: "c" })).toEqual(["ba", "bb", "bc"]);
    expect(await keys({ startAfter: "ba", end: "c" })).toEqual(["bb", "bc"]);
    expect(await keys({ start: "c", end: "b" })).toEqual([]);
    expect(await keys({ start: "b", end: "b" })).toEqual([]);
  });

  it("takes a prefix, alone or with a range", async () => {
    expect(await keys({ prefix: "b" })).toEqual(["b", "ba", "bb", "bc"]);
    expect(await keys({ prefix: "ba" })).toEqual(["ba"]);
    expect(await keys({ prefix: "" })).toHaveLength(7);
    expect(await keys({ prefix: "x" })).toEqual([]);
    expect(await keys({ prefix: "b", start: "bb" })).toEqual(["bb", "bc"]);
    expect(await keys({ prefix: "b", startAfter: "b" })).toEqual(["ba", "bb", "bc"]);
    expect(await keys({ prefix: "b", start: "a" })).toEqual(["b", "ba", "bb", "bc"]);
    expect(await keys({ prefix: "b", start: "c" })).toEqual([]);
    expect(await keys({ prefix: "b", end: "bb" })).toEqual(["b", "ba"]);
    expect(await keys({ prefix: "b", end: "z" })).toEqual(["b", "ba", "bb", "bc"]);
    expect(await keys({ prefix: "b", end: "a" })).toEqual([]);
  });

  it("reverses the order without changing what start and end mean, and limits", async () => {
    expect(await keys({ reverse: true })).toEqual(["d", "c", "bc", "bb", "ba", "b", "a"]);
    expect(await keys({ reverse: true, start: "b", end: "c" })).toEqual(["bc", "bb", "ba", "b"]);
    expect(await keys({ reverse: true, prefix: "b", limit: 2 })).toEqual(["bc", "bb"]);
    expect(await keys({ limit: 3 })).toEqual(["a", "b", "ba"]);
    expect(await keys({ limit: 100 })).toHaveLength(7);
    expect(await keys({ limit: 2.9 })).toEqual(["a", "b"]);
    expect(await keys({ startAfter: "a", limit: 1, reverse: false })).toEqual(["b"]);
    expect(await keys({ startAfter: "b", end: "d", limit: 2, reverse: true })).toEqual(["c", "bc"]);
  });

  it("compares keys by UTF-8 bytes, prefixes of any character included", async () => {
    await storage.deleteAll();
    const all = ["é", "éa", "é\u{10FFFF}", "ê", "\uD7FF", "\uD7FFx", "\uE000", "\u{1F600}", "\u{1F600}!", "\u{1F601}", "\u{10FFFF}", "\u{10FFFF}z"];
    await storage.put(Object.fromEntries(all.map((key) => [key, 1])));
    expect(await keys({ prefix: "é" })).toEqual(["é", "éa", "é\u{10FFFF}"]);
    expect(await keys({ prefix: "\uD7FF" })).toEqual(["\uD7FF", "\uD7FFx"]);
    expect(await keys({ prefix: "\u{1F600}" })).toEqual(["\u{1F600}", "\u{1F600}!"]);
    // The highest code point has no successor: the prefix has no upper bound, and still filters.
    expect(await keys({ prefix: "\u{10FFFF}" })).toEqual(["\u{10FFFF}", "\u{10FFFF}z"]);
    expect(await keys({ start: "\uE000", end: "\u{1F601}" })).toEqual(["\uE000", "\u{1F600}", "\u{1F600}!"]);
  });

  it("refuses bad options with Cloudflare's errors", async () => {
    await expect(storage.list({ start: "a", startAfter: "b" })).rejects.toThrow(
      new TypeError("list() cannot be called with both start and startAfter values."),
    );
    for (const limit of [0, -1, 0.5, NaN, "3" as never]) {
      await expect(storage.list({ limit }), String(limit)).rejects.toThrow(new TypeError("List limit must be positive."));
    }
    await expect(storage.list({ prefix: 5 as never })).rejects.toThrow(new TypeError("list(): option prefix must be a string, got number"));
    expect(() => storage.kv.list({ limit: 0 })).toThrow("List limit must be positive.");
  });

  it("takes a limit up to 2^31 - 1, as workerd reads it as a 32-bit integer, and refuses larger ones clearly", async () => {
    await storage.deleteAll();
    await storage.put({ a: 1, b: 2 });
    expect([...(await storage.list({ limit: 2 ** 31 - 1 })).keys()]).toEqual(["a", "b"]);
    expect([...(await storage.list({ limit: 1.9 })).keys()]).toEqual(["a"]);
    for (const [limit, text] of [[2 ** 31, "2147483648"], [1e20, "100000000000000000000"], [Infinity, "Infinity"]] as const) {
      await expect(storage.list({ limit }), text).rejects.toThrow(new TypeError(`List limit must be at most 2147483647, got ${text}.`));
    }
    expect(() => storage.kv.list({ limit: Infinity })).toThrow("List limit must be at most 2147483647, got Infinity.");
  });
});
