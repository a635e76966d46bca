import { describe, expect, it } from "vitest";
import type { KvNamespace } from "../../src/kv/index.ts";
import { freshNamespace, START_SECONDS } from "./setup.ts";

async function putAll(kv: KvNamespace, keys: string[]): Promise<void> {
  await Promise.all(keys.map((key) => kv.put(key, `value of ${key}`)));
}

async function listAll(kv: KvNamespace, prefix?: string, limit?: number): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await kv.list({ prefix, limit, cursor });
    pages++;
    names.push(...page.keys.map((key) => key.name));
    if (page.list_complete) {
      expect("cursor" in page).toBe(false);
      return { names, pages };
    }
    expect(typeof page.cursor).toBe("string");
    cursor = page.cursor;
  }
}

describe("KV list", () => {
  it("lists nothing in an empty namespace, complete, without a cursor", async () => {
    const { kv } = freshNamespace();
    expect(await kv.list()).toEqual({ keys: [], list_complete: true, cacheStatus: null });
  });

  it("sorts keys by their UTF-8 bytes, not by UTF-16 code units", async () => {
    const { kv } = freshNamespace();
    // In UTF-16 "😀" (D83D DE00) sorts before "\uFFFD"; in UTF-8 (F0… vs EF…) after it.
    const keys = ["b", "a", "B", "\uFFFD", "😀", "é", "a0", "a/"];
    await putAll(kv, keys);
    const names = (await kv.list()).keys.map((key) => key.name);
    expect(names).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(names.indexOf("\uFFFD")).toBeLessThan(names.indexOf("😀"));
  });

  it("filters by prefix, including prefixes that end in multi-byte characters", async () => {
    const { kv } = freshNamespace();
    await putAll(kv, ["user:1", "user:2", "user;", "users", "use", "é1", "é2", "ê", "😀a", "😀b", "😁", "\u{10FFFF}x", "\u{10FFFF}"]);
    expect((await kv.list({ prefix: "user:" })).keys.map((k) => k.name)).toEqual(["user:1", "user:2"]);
    expect((await kv.list({ prefix: "user" })).keys.map((k) => k.name)).toEqual(["user:1", "user:2", "user;", "users"]);
    expect((await kv.list({ prefix: "é" })).keys.map((k) => k.name)).toEqual(["é1", "é2"]);
    expect((await kv.list({ prefix: "😀" })).keys.map((k) => k.name)).toEqual(["😀a", "😀b"]);
    expect((await kv.list({ prefix: "\u{10FFFF}" })).keys.map((k) => k.name)).toEqual(["\u{10FFFF}", "\u{10FFFF}x"]);
    expect((await kv.list({ prefix: "nothing" })).keys).toEqual([]);
    expect((await kv.list({ prefix: null })).keys).toHaveLength(13);
  });

  it("pages with limit and cursor; cursor only while list_complete is false", async () => {
    const { kv } = freshNamespace();
    const keys = Array.from({ length: 25 }, (_, i) => `k${String(i).padStart(2, "0")}`);
    await putAll(kv, keys);
    const first = await kv.list({ limit: 10 });
    expect(first.list_complete).toBe(false);
    expect(first.keys.map((k) => k.name)).toEqual(keys.slice(0, 10));
    const { names, pages } = await listAll(kv, undefined, 10);
    expect(names).toEqual(keys);
    expect(pages).toBe(3);
    // Exactly a page: complete at once, no empty extra page.
    expect(await kv.list({ limit: 25 })).toMatchObject({ list_complete: true });
  });

  it("pages within a prefix when the prefix is passed again with the cursor", async () => {
    const { kv } = freshNamespace();
    await putAll(kv, ["a1", "a2", "a3", "a4", "a5", "b1", "b2"]);
    const { names, pages } = await listAll(kv, "a", 2);
    expect(names).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    expect(pages).toBe(3);
  });

  it("defaults to 1000 keys a page", async () => {
    const { kv } = freshNamespace();
    await putAll(
      kv,
      Array.from({ length: 1001 }, (_, i) => `key${String(i).padStart(4, "0")}`),
    );
    const page = await kv.list();
    expect(page.keys).toHaveLength(1000);
    expect(page.list_complete).toBe(false);
    const rest = await kv.list({ cursor: page.list_complete ? undefined : page.cursor });
    expect(rest.keys.map((k) => k.name)).toEqual(["key1000"]);
    expect(rest.list_complete).toBe(true);
  });

  it("reports expiration as absolute epoch seconds and metadata only when set", async () => {
    const { kv } = freshNamespace();
    await kv.put("plain", "v");
    await kv.put("ttl", "v", { expirationTtl: 300 });
    await kv.put("at", "v", { expiration: START_SECONDS + 7200 });
    await kv.put("meta", "v", { metadata: { role: "admin" } });
    await kv.put("both", "v", { metadata: [1, 2], expirationTtl: 90 });
    expect((await kv.list()).keys).toEqual([
      { name: "at", expiration: START_SECONDS + 7200 },
      { name: "both", expiration: START_SECONDS + 90, metadata: [1, 2] },
      { name: "meta", metadata: { role: "admin" } },
      { name: "plain" },
      { name: "ttl", expiration: START_SECONDS + 300 },
    ]);
    const plain = (await kv.list({ prefix: "plain" })).keys[0]!;
    expect(Object.keys(plain)).toEqual(["name"]);
  });

  it("continues after a key deleted between pages", async () => {
    const { kv } = freshNamespace();
    await putAll(kv, ["a", "b", "c", "d"]);
    const first = await kv.list({ limit: 2 });
    await kv.delete("b");
    await kv.delete("c");
    const rest = await kv.list({ cursor: first.list_complete ? undefined : first.cursor });
    expect(rest.keys.map((k) => k.name)).toEqual(["d"]);
  });
});
