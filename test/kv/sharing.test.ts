import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { closeAllKvNamespaces, KvNamespace, openKvNamespace } from "../../src/kv/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { rejection, tempDir, virtualClock } from "./setup.ts";

describe("KV namespaces shared in a process", () => {
  it("shares one open file between every namespace object naming it", async () => {
    const path = join(tempDir(), "shared.sqlite");
    const clock = virtualClock();
    const a = openKvNamespace(path, { clock });
    const b = new KvNamespace({ path: join(path, "..", "shared.sqlite"), clock });
    await a.put("k", "from a");
    expect(await b.get("k")).toBe("from a");
    a.close();
    // b still holds the file open.
    expect(await b.get("k")).toBe("from a");
    await b.put("k2", "from b");
    b.close();
    const c = openKvNamespace(path, { clock });
    expect(await c.get("k2")).toBe("from b");
  });

  it("closes once per object: a second close does not release another holder's reference", async () => {
    const path = join(tempDir(), "ns.sqlite");
    const clock = virtualClock();
    const a = openKvNamespace(path, { clock });
    const b = openKvNamespace(path, { clock });
    a.close();
    a.close();
    expect(await b.get("k")).toBeNull();
  });

  it("refuses a second opening with other options", () => {
    const path = join(tempDir(), "ns.sqlite");
    const clock = virtualClock();
    openKvNamespace(path, { clock });
    expect(() => openKvNamespace(path, { clock, durability: "strict" })).toThrow(
      `KV namespace ${path} is already open with durability "relaxed", not "strict"`,
    );
    const other = new VirtualClock();
    try {
      expect(() => openKvNamespace(path, { clock: other })).toThrow(`KV namespace ${path} is already open with another clock`);
    } finally {
      other.dispose();
    }
  });

  it("keeps namespaces in different files apart", async () => {
    const dir = tempDir();
    const clock = virtualClock();
    const one = openKvNamespace(join(dir, "one.sqlite"), { clock });
    const two = openKvNamespace(join(dir, "two.sqlite"), { clock });
    await one.put("k", "1");
    expect(await two.get("k")).toBeNull();
  });

  it("closeAllKvNamespaces commits and closes every file; later calls reject; reopening works", async () => {
    const path = join(tempDir(), "deep", "dir", "ns.sqlite");
    const clock = virtualClock();
    const kv = openKvNamespace(path, { clock, durability: "strict" });
    const written = kv.put("k", "v");
    closeAllKvNamespaces();
    await written;
    expect((await rejection(kv.get("k"))).message).toBe(`KV namespace ${path} is closed`);
    kv.close();
    const again = openKvNamespace(path, { clock });
    expect(await again.get("k")).toBe("v");
  });

  it("refuses a file that is not a KV namespace of this version", async () => {
    const { DatabaseSync } = await import("node:sqlite");
    const path = join(tempDir(), "newer.sqlite");
    const db = new DatabaseSync(path);
    db.exec("PRAGMA user_version = 99");
    db.close();
    expect(() => openKvNamespace(path)).toThrow(`KV namespace ${path} was written by a newer Hearth (schema 99, this one knows 1)`);
  });
});
