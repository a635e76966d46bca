import { describe, expect, it } from "vitest";
import { KV_LIMITS } from "../../src/kv/index.ts";
import { freshNamespace, rejection } from "./setup.ts";

describe("KV bulk get", () => {
  it("returns a Map of up to 100 keys, null for missing ones", async () => {
    const { kv } = freshNamespace();
    await kv.put("a", "1");
    await kv.put("b", '{"x":2}');
    const values = await kv.get(["a", "b", "missing"]);
    expect(values).toBeInstanceOf(Map);
    expect([...values]).toEqual([
      ["a", "1"],
      ["b", '{"x":2}'],
      ["missing", null],
    ]);
    const json = await kv.get<unknown>(["a", "b"], "json");
    expect([...json]).toEqual([
      ["a", 1],
      ["b", { x: 2 }],
    ]);
    expect([...(await kv.get(["b"], { type: "json", cacheTtl: 60 }))]).toEqual([["b", { x: 2 }]]);
  });

  it("reads bytes stored with put as text", async () => {
    const { kv } = freshNamespace();
    await kv.put("bytes", new TextEncoder().encode("héllo"));
    expect((await kv.get(["bytes"])).get("bytes")).toBe("héllo");
  });

  it("returns values with metadata; a missing key maps to null", async () => {
    const { kv } = freshNamespace();
    await kv.put("a", "1", { metadata: { m: "a" } });
    await kv.put("b", "");
    const result = await kv.getWithMetadata(["a", "b", "missing"]);
    expect(result.get("a")).toEqual({ value: "1", metadata: { m: "a" }, cacheStatus: null });
    expect(result.get("b")).toEqual({ value: "", metadata: null, cacheStatus: null });
    expect(result.get("missing")).toBeNull();
    const json = await kv.getWithMetadata(["a"], "json");
    expect(json.get("a")).toEqual({ value: 1, metadata: { m: "a" }, cacheStatus: null });
  });

  it("accepts 100 keys and refuses 101 or none", async () => {
    const { kv } = freshNamespace();
    const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
    expect((await kv.get(keys)).size).toBe(100);
    expect((await rejection(kv.get([...keys, "one-more"]))).message).toBe("KV GET_BULK failed: 400 You can request a maximum of 100 keys");
    expect((await rejection(kv.get([]))).message).toBe("KV GET_BULK failed: 400 You must request a minimum of 1 key");
    expect((await rejection(kv.getWithMetadata([]))).message).toBe("KV GET_BULK failed: 400 You must request a minimum of 1 key");
  });

  it("refuses types other than text and json", async () => {
    const { kv } = freshNamespace();
    expect((await rejection(kv.get(["a"], "arrayBuffer" as "text"))).message).toBe(
      'KV GET_BULK failed: 400 "arrayBuffer" is not a valid type. Use "json" or "text"',
    );
    expect((await rejection(kv.get(["a"], { type: "stream" as "text" }))).message).toBe(
      'KV GET_BULK failed: 400 "stream" is not a valid type. Use "json" or "text"',
    );
  });

  it("checks every key and the cacheTtl with the KV server's texts", async () => {
    const { kv } = freshNamespace();
    expect((await rejection(kv.get(["a", ""]))).message).toBe("KV GET_BULK failed: 400 Key names must not be empty");
    expect((await rejection(kv.get([".."]))).message).toBe('KV GET_BULK failed: 400 Illegal key name "..". Please use a different name.');
    expect((await rejection(kv.get(["k".repeat(513)]))).message).toBe(
      "KV GET_BULK failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
    );
    expect((await rejection(kv.get(["a"], { type: "text", cacheTtl: 10 }))).message).toBe(
      "KV GET_BULK failed: 400 Invalid cache_ttl of 10. Cache TTL must be at least 30.",
    );
  });

  it("refuses a json read when one value is not JSON", async () => {
    const { kv } = freshNamespace();
    await kv.put("ok", "1");
    await kv.put("bad", "{");
    expect((await rejection(kv.get(["ok", "bad"], "json"))).message).toBe(
      "KV GET_BULK failed: 400 At least one of the requested keys corresponds to a non-json value",
    );
  });

  it("refuses a bulk read whose values pass 25 MiB together", async () => {
    const { kv } = freshNamespace();
    const half = KV_LIMITS.maxBulkBytes / 2;
    await kv.put("a", new Uint8Array(half));
    await kv.put("b", new Uint8Array(half));
    await kv.put("c", "x");
    expect((await kv.get(["a", "b"])).size).toBe(2);
    expect((await rejection(kv.get(["a", "b", "c"]))).message).toBe("KV GET_BULK failed: 413 Total size of request exceeds the limit of 25MB");
  });
});
