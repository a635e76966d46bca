import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SmallFileCache } from "../../src/assets/small-files.ts";
import { Sites } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

describe("small-file cache", () => {
  it("keeps at most its budget, dropping the oldest read first, and never a file over the budget", () => {
    const { site } = sites.make({ "a.txt": "aaaaaa", "b.txt": "bbbbbb", "c.txt": "cccc", "big.txt": "x".repeat(11) });
    const cache = new SmallFileCache(10);
    const read = (name: string) => cache.read(join(site, name), statSync(join(site, name)));
    expect(new TextDecoder().decode(read("a.txt").bytes)).toBe("aaaaaa");
    expect(cache.heldBytes).toBe(6);
    read("b.txt");
    expect(cache.heldBytes).toBe(6); // a.txt dropped to make room
    read("c.txt");
    expect(cache.heldBytes).toBe(10);
    expect(read("big.txt").bytes.byteLength).toBe(11);
    expect(cache.heldBytes).toBe(10);
  });

  it("reads a file again once its size or modification time changed", () => {
    const { site } = sites.make({ "a.txt": "one" });
    const path = join(site, "a.txt");
    const cache = new SmallFileCache(1024);
    const first = cache.read(path, statSync(path));
    expect(cache.read(path, statSync(path))).toBe(first);
    writeFileSync(path, "three");
    const second = cache.read(path, statSync(path));
    expect(new TextDecoder().decode(second.bytes)).toBe("three");
    expect(second.etag).not.toBe(first.etag);
    expect(cache.heldBytes).toBe(5);
  });
});
