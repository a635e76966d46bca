import { describe, expect, it } from "vitest";
import { KV_LIMITS } from "../../src/kv/index.ts";
import { freshNamespace, rejection, START_SECONDS } from "./setup.ts";

const KEY_512 = "k".repeat(512);
const KEY_513 = "k".repeat(513);
// 171 three-byte characters: 513 bytes in 171 UTF-16 code units.
const WIDE_KEY = "€".repeat(171);

async function expectError(promise: Promise<unknown>, type: ErrorConstructor | TypeErrorConstructor, message: string): Promise<void> {
  const error = await rejection(promise);
  expect(error.message).toBe(message);
  expect(error).toBeInstanceOf(type);
}

describe("KV key rules", () => {
  it("refuses an empty key with workerd's TypeError", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.get(""), TypeError, "Key name cannot be empty.");
    await expectError(kv.put("", "v"), TypeError, "Key name cannot be empty.");
    await expectError(kv.delete(""), TypeError, "Key name cannot be empty.");
    await expectError(kv.getWithMetadata(""), TypeError, "Key name cannot be empty.");
  });

  it('refuses "." and ".."', async () => {
    const { kv } = freshNamespace();
    await expectError(kv.put(".", "v"), TypeError, '"." is not allowed as a key name.');
    await expectError(kv.get(".."), TypeError, '".." is not allowed as a key name.');
    await expectError(kv.delete(".."), TypeError, '".." is not allowed as a key name.');
  });

  it("accepts a key of 512 UTF-8 bytes and refuses 513, naming the method", async () => {
    const { kv } = freshNamespace();
    await kv.put(KEY_512, "v");
    expect(await kv.get(KEY_512)).toBe("v");
    const tooLong = "UTF-8 encoded length of 513 exceeds key length limit of 512.";
    await expectError(kv.put(KEY_513, "v"), Error, `KV PUT failed: 414 ${tooLong}`);
    await expectError(kv.get(KEY_513), Error, `KV GET failed: 414 ${tooLong}`);
    await expectError(kv.delete(KEY_513), Error, `KV DELETE failed: 414 ${tooLong}`);
    await expectError(kv.put(WIDE_KEY, "v"), Error, `KV PUT failed: 414 ${tooLong}`);
  });

  it("counts a lone surrogate as the replacement character it is stored as", async () => {
    const { kv } = freshNamespace();
    await kv.put("a\uD800b", "v");
    expect(await kv.get("a\uFFFDb")).toBe("v");
    expect((await kv.list()).keys.map((key) => key.name)).toEqual(["a\uFFFDb"]);
  });
});

describe("KV put errors", () => {
  it("refuses values of other types with workerd's TypeError", async () => {
    const { kv } = freshNamespace();
    const message = "KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams as values.";
    for (const value of [{ a: 1 }, [1, 2], undefined, null, Symbol("s"), new Map()]) {
      await expectError(kv.put("k", value as unknown as string), TypeError, message);
    }
    expect(await kv.get("k")).toBeNull();
  });

  it("refuses a stream that yields strings", async () => {
    const { kv } = freshNamespace();
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue("text");
        controller.close();
      },
    });
    const error = await rejection(kv.put("k", stream));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(/did not return bytes/);
    expect(await kv.get("k")).toBeNull();
  });

  it("accepts a value of exactly 25 MiB and refuses one byte more, keeping the stored value", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "old");
    const limit = KV_LIMITS.maxValueBytes;
    expect(limit).toBe(26_214_400);
    await expectError(kv.put("k", "x".repeat(limit + 1)), Error, `KV PUT failed: 413 Value length of ${limit + 1} exceeds limit of ${limit}.`);
    await expectError(kv.put("k", new Uint8Array(limit + 2)), Error, `KV PUT failed: 413 Value length of ${limit + 2} exceeds limit of ${limit}.`);
    expect(await kv.get("k")).toBe("old");
    await kv.put("big", new Uint8Array(limit));
    expect((await kv.get("big", "arrayBuffer"))!.byteLength).toBe(limit);
  });

  it("measures a string value in UTF-8 bytes", async () => {
    const { kv } = freshNamespace();
    const limit = KV_LIMITS.maxValueBytes;
    // Two-byte characters: half as many code units as bytes.
    const value = "é".repeat(limit / 2) + "é";
    await expectError(kv.put("k", value), Error, `KV PUT failed: 413 Value length of ${limit + 2} exceeds limit of ${limit}.`);
  });

  it("refuses an oversized stream with its full length", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "old");
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 26) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const total = 26 * 1024 * 1024;
    await expectError(kv.put("k", stream), Error, `KV PUT failed: 413 Value length of ${total} exceeds limit of ${KV_LIMITS.maxValueBytes}.`);
    expect(await kv.get("k")).toBe("old");
  });

  it("refuses an expirationTtl under 60 or not above 0", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.put("k", "v", { expirationTtl: 59 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of 59. Expiration TTL must be at least 60.");
    await expectError(kv.put("k", "v", { expirationTtl: 0 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of 0. Please specify integer greater than 0.");
    await expectError(kv.put("k", "v", { expirationTtl: -5 }), Error, "KV PUT failed: 400 Invalid expiration_ttl of -5. Please specify integer greater than 0.");
    await expectError(kv.put("k", "v", { expirationTtl: Number.NaN }), Error, "KV PUT failed: 400 Invalid expiration_ttl of NaN. Please specify integer greater than 0.");
    await kv.put("k", "v", { expirationTtl: 60 });
    expect((await kv.list()).keys).toEqual([{ name: "k", expiration: START_SECONDS + 60 }]);
  });

  it("refuses an expiration in the past or under 60 s ahead", async () => {
    const { kv } = freshNamespace();
    const past = START_SECONDS - 10;
    await expectError(
      kv.put("k", "v", { expiration: past }),
      Error,
      `KV PUT failed: 400 Invalid expiration of ${past}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
    );
    await expectError(
      kv.put("k", "v", { expiration: START_SECONDS }),
      Error,
      `KV PUT failed: 400 Invalid expiration of ${START_SECONDS}. Please specify integer greater than the current number of seconds since the UNIX epoch.`,
    );
    const soon = START_SECONDS + 59;
    await expectError(
      kv.put("k", "v", { expiration: soon }),
      Error,
      `KV PUT failed: 400 Invalid expiration of ${soon}. Expiration times must be at least 60 seconds in the future.`,
    );
    await kv.put("k", "v", { expiration: START_SECONDS + 60 });
    expect((await kv.list()).keys).toEqual([{ name: "k", expiration: START_SECONDS + 60 }]);
  });

  it("lets expirationTtl win when both are given, as the KV server does", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "v", { expirationTtl: 120, expiration: START_SECONDS + 10_000 });
    expect((await kv.list()).keys[0]!.expiration).toBe(START_SECONDS + 120);
  });

  it("accepts metadata of 1024 bytes and refuses 1025, keeping the stored value", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "old", { metadata: { v: 1 } });
    const ok = "x".repeat(1022); // JSON adds the two quotes: 1024 bytes
    await kv.put("fits", "v", { metadata: ok });
    expect((await kv.getWithMetadata("fits")).metadata).toBe(ok);
    await expectError(kv.put("k", "new", { metadata: "x".repeat(1023) }), Error, "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.");
    await expectError(kv.put("k", "new", { metadata: "é".repeat(512) }), Error, "KV PUT failed: 413 Metadata length of 1026 exceeds limit of 1024.");
    expect(await kv.getWithMetadata("k")).toEqual({ value: "old", metadata: { v: 1 }, cacheStatus: null });
  });

  it("refuses metadata that is not JSON-serializable", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.put("k", "v", { metadata: () => 1 }), TypeError, "KV put(): metadata must be a JSON-serializable value");
    await expect(kv.put("k", "v", { metadata: 1n })).rejects.toThrow(TypeError);
    expect(await kv.get("k")).toBeNull();
  });
});

describe("KV get and list errors", () => {
  it("refuses an unknown type with workerd's TypeError", async () => {
    const { kv } = freshNamespace();
    const message = 'Unknown response type. Possible types are "text", "arrayBuffer", "json", and "stream".';
    await expectError(kv.get("k", "blob" as "text"), TypeError, message);
    await expectError(kv.get("k", { type: "xml" as "text" }), TypeError, message);
    await expectError(kv.getWithMetadata("k", "bytes" as "text"), TypeError, message);
  });

  it("refuses a cacheTtl under 30 seconds and accepts 30", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.get("k", { type: "text", cacheTtl: 29 }), Error, "KV GET failed: 400 Invalid cache_ttl of 29. Cache TTL must be at least 30.");
    await expectError(kv.get("k", { cacheTtl: Number.NaN }), Error, "KV GET failed: 400 Invalid cache_ttl of NaN. Cache TTL must be at least 30.");
    expect(await kv.get("k", { type: "text", cacheTtl: 30 })).toBeNull();
  });

  it("throws JSON.parse's SyntaxError for a json read of a non-JSON value", async () => {
    const { kv } = freshNamespace();
    await kv.put("k", "not json");
    await expect(kv.get("k", "json")).rejects.toThrow(SyntaxError);
  });

  it("refuses a list limit under 1 or over 1000", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.list({ limit: 0 }), Error, "KV GET failed: 400 Invalid key_count_limit of 0. Please specify an integer greater than 0.");
    await expectError(kv.list({ limit: -3 }), Error, "KV GET failed: 400 Invalid key_count_limit of -3. Please specify an integer greater than 0.");
    await expectError(kv.list({ limit: 1001 }), Error, "KV GET failed: 400 Invalid key_count_limit of 1001. Please specify an integer less than 1000.");
    expect((await kv.list({ limit: 1000 })).list_complete).toBe(true);
  });

  it("refuses a list prefix over 512 bytes", async () => {
    const { kv } = freshNamespace();
    await expectError(kv.list({ prefix: KEY_513 }), Error, "KV GET failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.");
  });

  it("rejects every call after close", async () => {
    const { kv, path } = freshNamespace();
    kv.close();
    await expectError(kv.get("k"), Error, `KV namespace ${path} is closed`);
    await expectError(kv.put("k", "v"), Error, `KV namespace ${path} is closed`);
    await expectError(kv.list(), Error, `KV namespace ${path} is closed`);
  });
});
