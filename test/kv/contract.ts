import { expect, it } from "vitest";
import type { KvNamespace } from "../../src/kv/index.ts";
import type { VirtualClock } from "../../src/time/clock.ts";

/** What the shared API tests need from a store under test. */
export interface KvUnderTest {
  kv: KvNamespace;
  /** The namespace's clock (virtual, started at {@link CONTRACT_START}). */
  clock: VirtualClock;
  /** How the namespace is named in "KV namespace … is closed". */
  label: string;
}

/** 2030-01-01T00:00:00Z, in epoch seconds: the virtual clock's start for these tests. */
export const CONTRACT_START_SECONDS = Date.parse("2030-01-01T00:00:00Z") / 1000;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/**
 * The KV API tests every store must pass unchanged (the SQLite file and the cluster's Postgres table):
 * values of every type, metadata, overwrite and delete, list order, prefix and cursor, expiration, bulk
 * gets, limits and their error texts. Call inside a `describe`; `open` gives a fresh, empty namespace.
 */
export function kvContract(open: () => Promise<KvUnderTest>): void {
  it("reads what was put, as text, json, arrayBuffer and stream; a missing key is null", async () => {
    const { kv } = await open();
    expect(await kv.get("missing")).toBeNull();
    expect(await kv.getWithMetadata("missing")).toEqual({ value: null, metadata: null, cacheStatus: null });
    await kv.put("k", '{"a":[1,2]}');
    expect(await kv.get("k")).toBe('{"a":[1,2]}');
    expect(await kv.get("k", "json")).toEqual({ a: [1, 2] });
    expect(new TextDecoder().decode((await kv.get("k", { type: "arrayBuffer" }))!)).toBe('{"a":[1,2]}');
    expect(await new Response(await kv.get("k", "stream")).text()).toBe('{"a":[1,2]}');
    const text = "\uFEFFhéllo\0wörld 🌍";
    await kv.put("unicode", text);
    expect(await kv.get("unicode")).toBe(text);
  });

  it("stores bytes (views and streams) and keeps them when the caller reuses its buffer", async () => {
    const { kv } = await open();
    const whole = new Uint8Array([9, 9, 4, 5, 6, 9]);
    const written = kv.put("view", whole.subarray(2, 5));
    whole.fill(0);
    await written;
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array([7, 8]));
        controller.close();
      },
    });
    await kv.put("stream", stream);
    expect([...new Uint8Array((await kv.get("view", "arrayBuffer"))!)]).toEqual([4, 5, 6]);
    expect([...new Uint8Array((await kv.get("stream", "arrayBuffer"))!)]).toEqual([7, 8]);
  });

  it("keeps metadata and expiration, overwrites, and deletes (a missing key too)", async () => {
    const { kv } = await open();
    await kv.put("k", "one", { metadata: { v: 1 }, expiration: CONTRACT_START_SECONDS + 3600 });
    expect(await kv.getWithMetadata("k", "text")).toEqual({ value: "one", metadata: { v: 1 }, cacheStatus: null });
    expect((await kv.list()).keys).toEqual([{ name: "k", expiration: CONTRACT_START_SECONDS + 3600, metadata: { v: 1 } }]);
    await kv.put("k", "two");
    expect(await kv.getWithMetadata("k")).toEqual({ value: "two", metadata: null, cacheStatus: null });
    expect((await kv.list()).keys).toEqual([{ name: "k" }]);
    await kv.delete("k");
    await kv.delete("never-there");
    expect(await kv.get("k")).toBeNull();
  });

  it("applies the writes of one turn in order: the last write of a key wins", async () => {
    const { kv } = await open();
    await kv.put("gone", "old");
    await Promise.all([
      kv.put("a", "1"),
      kv.put("a", "2"),
      kv.put("b", "x"),
      kv.delete("b"),
      kv.delete("gone"),
      kv.put("c", "y"),
      ...Array.from({ length: 50 }, (_, i) => kv.put(`many:${String(i).padStart(2, "0")}`, `v${i}`)),
    ]);
    expect(await kv.get("a")).toBe("2");
    expect(await kv.get("b")).toBeNull();
    expect(await kv.get("gone")).toBeNull();
    expect(await kv.get("c")).toBe("y");
    expect((await kv.list({ prefix: "many:" })).keys).toHaveLength(50);
  });

  it("reads its own writes at once, even before they resolve", async () => {
    const { kv } = await open();
    const written = kv.put("k", "v");
    expect(await kv.get("k")).toBe("v");
    await written;
  });

  it("lists keys in UTF-8 byte order, by prefix, page by page with a cursor", async () => {
    const { kv } = await open();
    const names = ["b", "a", "ab", "a\uFFFD", "a😀", "c:1", "c:2", "c:3", "c;", "c"];
    await Promise.all(names.map((name) => kv.put(name, "v")));
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["a", "ab", "a\uFFFD", "a😀", "b", "c", "c:1", "c:2", "c:3", "c;"]);
    expect((await kv.list({ prefix: "a" })).keys.map((key) => key.name)).toEqual(["a", "ab", "a\uFFFD", "a😀"]);
    const first = await kv.list({ prefix: "c:", limit: 2 });
    expect(first.keys.map((key) => key.name)).toEqual(["c:1", "c:2"]);
    expect(first.list_complete).toBe(false);
    if (first.list_complete) throw new Error("unreachable");
    const second = await kv.list({ prefix: "c:", limit: 2, cursor: first.cursor });
    expect(second).toEqual({ keys: [{ name: "c:3" }], list_complete: true, cacheStatus: null });
    expect((await kv.list({ prefix: "none" })).keys).toEqual([]);
  });

  it("refuses a cursor that no listing made, and takes back every cursor it made", async () => {
    const { kv } = await open();
    const names = ["a", "b", "é", "😀", "\uFEFFbom", "k".repeat(512)];
    await Promise.all(names.map((name) => kv.put(name, "v")));
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await kv.list({ limit: 1, cursor });
      seen.push(...page.keys.map((key) => key.name));
      if (page.list_complete) break;
      cursor = page.cursor;
    }
    expect(seen).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    const valid = Buffer.from("a", "utf8").toString("base64url");
    const invalid = [
      "not a cursor!",
      `${valid}==`,
      `${valid}.`,
      "YQ=",
      "Y",
      "YR",
      Buffer.from([0xff, 0xfe]).toString("base64url"),
      Buffer.from([0xed, 0xa0, 0x80]).toString("base64url"),
      Buffer.from(".", "utf8").toString("base64url"),
      Buffer.from("k".repeat(513), "utf8").toString("base64url"),
      "A".repeat(100_000),
    ];
    for (const bad of invalid) {
      const error = await rejection(kv.list({ cursor: bad }));
      expect(error.message, bad).toBe("KV GET failed: 400 Invalid cursor: pass back the cursor of a previous list() unchanged.");
    }
    expect((await kv.list({ cursor: valid })).keys[0]?.name).toBe("b");
  });

  it("never returns an expired key", async () => {
    const { kv, clock } = await open();
    await kv.put("ttl", "v", { expirationTtl: 60, metadata: { m: 1 } });
    await kv.put("forever", "v");
    await clock.advance("59 seconds");
    expect(await kv.get("ttl")).toBe("v");
    await clock.advance("1 second");
    expect(await kv.get("ttl")).toBeNull();
    expect(await kv.getWithMetadata("ttl")).toEqual({ value: null, metadata: null, cacheStatus: null });
    expect([...(await kv.get(["ttl", "forever"]))]).toEqual([
      ["ttl", null],
      ["forever", "v"],
    ]);
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["forever"]);
  });

  it("gets many keys at once, as text or json, with or without metadata", async () => {
    const { kv } = await open();
    await kv.put("x", '{"n":1}', { metadata: { m: "x" } });
    await kv.put("y", "[2]");
    expect([...(await kv.get(["x", "missing", "y"]))]).toEqual([
      ["x", '{"n":1}'],
      ["missing", null],
      ["y", "[2]"],
    ]);
    expect([...(await kv.get(["x", "y"], "json"))]).toEqual([
      ["x", { n: 1 }],
      ["y", [2]],
    ]);
    expect([...(await kv.getWithMetadata(["x", "missing"], { type: "json" }))]).toEqual([
      ["x", { value: { n: 1 }, metadata: { m: "x" }, cacheStatus: null }],
      ["missing", null],
    ]);
  });

  it("refuses bad input with the documented texts and keeps what is stored", async () => {
    const { kv } = await open();
    await kv.put("k", "kept", { metadata: { v: 1 } });
    const failure = async (promise: Promise<unknown>): Promise<string> => (await rejection(promise)).message;
    expect(await failure(kv.put("", "v"))).toBe("Key name cannot be empty.");
    expect(await failure(kv.get(".."))).toBe('".." is not allowed as a key name.');
    expect(await failure(kv.put("k".repeat(513), "v"))).toBe("KV PUT failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
    expect(await failure(kv.put("k", "v", { expirationTtl: 59 }))).toBe(
      "KV PUT failed: 400 Invalid expiration_ttl of 59. Expiration TTL must be at least 60.",
    );
    expect(await failure(kv.put("k", "v", { metadata: "m".repeat(1100) }))).toBe("KV PUT failed: 413 Metadata length of 1102 exceeds limit of 1024.");
    expect(await failure(kv.put("k", new Uint8Array(25 * 1024 * 1024 + 1)))).toBe(
      "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
    );
    expect(await failure(kv.get(Array.from({ length: 101 }, (_, i) => `k${i}`)))).toBe("KV GET_BULK failed: 400 You can request a maximum of 100 keys");
    expect(await failure(kv.get([]))).toBe("KV GET_BULK failed: 400 You must request a minimum of 1 key");
    expect(await failure(kv.get(["k"], "arrayBuffer" as "text"))).toBe('KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use "json" or "text"');
    expect(await failure(kv.get(["k"], "json"))).toBe("KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value");
    expect(await failure(kv.list({ limit: 1001 }))).toBe("KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.");
    expect(await kv.getWithMetadata("k")).toEqual({ value: "kept", metadata: { v: 1 }, cacheStatus: null });
  });

  it("rejects every call after close()", async () => {
    const { kv, label } = await open();
    kv.close();
    expect((await rejection(kv.get("k"))).message).toBe(`KV namespace ${label} is closed`);
    expect((await rejection(kv.put("k", "v"))).message).toBe(`KV namespace ${label} is closed`);
    kv.close();
  });
}
