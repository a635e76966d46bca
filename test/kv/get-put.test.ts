import { describe, expect, it } from "vitest";
import { freshNamespace } from "./setup.ts";

describe("KV get / put / delete", () => {
  it("reads a missing key as null, in every type", async () => {
    const { kv } = freshNamespace();
    expect(await kv.get("missing")).toBeNull();
    expect(await kv.get("missing", "json")).toBeNull();
    expect(await kv.get("missing", { type: "arrayBuffer" })).toBeNull();
    expect(await kv.get("missing", "stream")).toBeNull();
    expect(await kv.getWithMetadata("missing")).toEqual({ value: null, metadata: null, cacheStatus: null });
  });

  it("round-trips a string as text, json, arrayBuffer and stream", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", JSON.stringify({ name: "Ada", n: [1, 2] }));
    expect(await kv.get("k")).toBe('{"name":"Ada","n":[1,2]}');
    expect(await kv.get("k", "text")).toBe('{"name":"Ada","n":[1,2]}');
    expect(await kv.get("k", { type: "json" })).toEqual({ name: "Ada", n: [1, 2] });
    const buffer = await kv.get("k", "arrayBuffer");
    expect(buffer).toBeInstanceOf(ArrayBuffer);
    expect(new TextDecoder().decode(buffer!)).toBe('{"name":"Ada","n":[1,2]}');
    const stream = await kv.get("k", { type: "stream", cacheTtl: 60 });
    expect(stream).toBeInstanceOf(ReadableStream);
    expect(await new Response(stream).text()).toBe('{"name":"Ada","n":[1,2]}');
  });

  it("keeps non-ASCII text, NUL characters and a byte-order mark exactly", async () => {
    const { kv } = freshNamespace();
    const text = "\uFEFFhéllo\0wörld 🌍";
    await kv.put("k", text);
    expect(await kv.get("k")).toBe(text);
    const bytes = new Uint8Array((await kv.get("k", "arrayBuffer"))!);
    expect(Buffer.from(bytes).equals(Buffer.from(text, "utf8"))).toBe(true);
  });

  it("stores bytes from an ArrayBuffer, a view over part of a buffer, and a ReadableStream", async () => {
    const { kv } = freshNamespace();
    await kv.put("buffer", new Uint8Array([1, 2, 3]).buffer);
    const whole = new Uint8Array([9, 9, 4, 5, 6, 9]);
    await kv.put("view", whole.subarray(2, 5));
    await kv.put("dataview", new DataView(whole.buffer, 1, 2));
    await kv.put(
      "stream",
      new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array([7, 8]));
          controller.enqueue(new TextEncoder().encode("ab"));
          controller.close();
        },
      }),
    );
    const read = async (key: string) => [...new Uint8Array((await kv.get(key, "arrayBuffer"))!)];
    expect(await read("buffer")).toEqual([1, 2, 3]);
    expect(await read("view")).toEqual([4, 5, 6]);
    expect(await read("dataview")).toEqual([9, 4]);
    expect(await read("stream")).toEqual([7, 8, 97, 98]);
    expect(await kv.get("stream")).toBe("\x07\x08ab");
  });

  it("stores an empty value, which is not a missing one", async () => {
    const { kv } = freshNamespace();
    await kv.put("empty", "");
    await kv.put("empty-bytes", new Uint8Array(0));
    expect(await kv.get("empty")).toBe("");
    expect((await kv.get("empty-bytes", "arrayBuffer"))!.byteLength).toBe(0);
    expect(await new Response(await kv.get("empty", "stream")).text()).toBe("");
    expect(await kv.getWithMetadata("empty")).toEqual({ value: "", metadata: null, cacheStatus: null });
  });

  it("takes numbers and booleans as strings, as workerd does", async () => {
    const { kv } = freshNamespace();
    await kv.put("n", 42 as unknown as string);
    await kv.put("b", true as unknown as string);
    expect(await kv.get("n", "json")).toBe(42);
    expect(await kv.get("b")).toBe("true");
  });

  it("gives each arrayBuffer read its own buffer", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "abc");
    const first = new Uint8Array((await kv.get("k", "arrayBuffer"))!);
    first[0] = 0;
    expect(await kv.get("k")).toBe("abc");
  });

  it("overwrites a value, its metadata and its expiration", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "one", { metadata: { v: 1 }, expirationTtl: 120 });
    await kv.put("k", "two");
    expect(await kv.getWithMetadata("k")).toEqual({ value: "two", metadata: null, cacheStatus: null });
    expect((await kv.list()).keys).toEqual([{ name: "k" }]);
  });

  it("returns metadata with getWithMetadata, in every value type", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", '{"a":1}', { metadata: { owner: "ada", tags: ["x"], n: 1.5 } });
    expect(await kv.getWithMetadata("k")).toEqual({ value: '{"a":1}', metadata: { owner: "ada", tags: ["x"], n: 1.5 }, cacheStatus: null });
    expect(await kv.getWithMetadata("k", "json")).toEqual({ value: { a: 1 }, metadata: { owner: "ada", tags: ["x"], n: 1.5 }, cacheStatus: null });
    const { value, metadata } = await kv.getWithMetadata("k", { type: "arrayBuffer" });
    expect(new TextDecoder().decode(value!)).toBe('{"a":1}');
    expect(metadata).toEqual({ owner: "ada", tags: ["x"], n: 1.5 });
  });

  it("keeps metadata that is a plain string or number", async () => {
    const { kv } = freshNamespace();
    await kv.put("s", "v", { metadata: "just text" });
    await kv.put("n", "v", { metadata: 0 });
    expect((await kv.getWithMetadata("s")).metadata).toBe("just text");
    expect((await kv.getWithMetadata("n")).metadata).toBe(0);
  });

  it("deletes a key, and deleting a missing key succeeds", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "v");
    await kv.delete("k");
    expect(await kv.get("k")).toBeNull();
    await expect(kv.delete("never-there")).resolves.toBeUndefined();
  });

  it("sees a write at once, before its promise resolves (strongly consistent on one machine)", async () => {
    const { kv } = freshNamespace();
    const written = kv.put("k", "v");
    expect(await kv.get("k")).toBe("v");
    await written;
  });

  it("applies many concurrent writes, each durable when it resolves", async () => {
    const { kv, path } = freshNamespace();
    await Promise.all(Array.from({ length: 500 }, (_, i) => kv.put(`key:${String(i).padStart(3, "0")}`, `value ${i}`)));
    kv.close();
    const { kv: again } = freshNamespace({ path });
    expect(await again.get("key:499")).toBe("value 499");
    expect((await again.list()).keys).toHaveLength(500);
  });

  it("keeps data across close and reopen", async () => {
    const { kv, path } = freshNamespace();
    await kv.put("k", new Uint8Array([1, 2]), { metadata: { m: true } });
    kv.close();
    const { kv: again } = freshNamespace({ path });
    const { value, metadata } = await again.getWithMetadata("k", "arrayBuffer");
    expect([...new Uint8Array(value!)]).toEqual([1, 2]);
    expect(metadata).toEqual({ m: true });
  });

  it("applies a stream put when the stream ends", async () => {
    const { kv } = freshNamespace();
    let close!: () => void;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("late"));
        close = () => controller.close();
      },
    });
    const written = kv.put("k", stream);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await kv.get("k")).toBeNull();
    close();
    await written;
    expect(await kv.get("k")).toBe("late");
  });
});
