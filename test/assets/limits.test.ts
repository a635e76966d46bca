import { truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ASSET_LIMITS, AssetsConfigError } from "../../src/assets/index.ts";
import { Sites } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

describe("asset limits", () => {
  it("has Cloudflare's values", () => {
    expect(ASSET_LIMITS.maxFileBytes).toBe(25 * 1024 * 1024);
    expect(ASSET_LIMITS.maxFiles).toBe(100_000);
  });

  it("refuses a file over 25 MiB at start, naming it, its size and the limit", () => {
    const { site } = sites.make({ "index.html": "HOME" });
    writeFileSync(join(site, "film.mp4"), "");
    truncateSync(join(site, "film.mp4"), 25 * 1024 * 1024 + 1); // sparse: no 25 MiB written
    const attempt = () => sites.routerAt(site);
    expect(attempt).toThrow(AssetsConfigError);
    expect(attempt).toThrow(
      `Asset too large: "film.mp4" is 25.00 MiB (26,214,401 bytes); an asset may be at most 25 MiB (maxFileBytes). Remove it from ${site} or list it in .assetsignore.`,
    );
    truncateSync(join(site, "film.mp4"), 25 * 1024 * 1024);
    expect(attempt).not.toThrow();
  });

  it("takes a file listed in .assetsignore out of the count and the size check", () => {
    const { site } = sites.make({ "index.html": "HOME", ".assetsignore": "*.mp4\n" });
    writeFileSync(join(site, "film.mp4"), "");
    truncateSync(join(site, "film.mp4"), 30 * 1024 * 1024);
    expect(sites.routerAt(site).fileCount).toBe(1);
  });

  it("refuses more files than maxFiles, and honours raised or lowered limits", () => {
    const { site } = sites.make({ "a.txt": "a", "b.txt": "b", "c/d.txt": "d", "e.txt": "12345" });
    expect(() => sites.routerAt(site, {}, undefined, { maxFiles: 3 })).toThrow(
      `Too many assets: ${site} holds more than 3 files (maxFiles). List the files not to serve in .assetsignore.`,
    );
    expect(sites.routerAt(site, {}, undefined, { maxFiles: 4 }).fileCount).toBe(4);
    expect(() => sites.routerAt(site, {}, undefined, { maxFileBytes: 4 })).toThrow('Asset too large: "e.txt" is 5 bytes; an asset may be at most 4 bytes');
  });

  it("refuses a missing directory, or a file given as the directory", () => {
    const { site, root } = sites.make({ "a.txt": "a" });
    expect(() => sites.routerAt(join(root, "dist"))).toThrow(`assets.directory "${join(root, "dist")}" does not exist`);
    expect(() => sites.routerAt(join(site, "a.txt"))).toThrow(`assets.directory "${join(site, "a.txt")}" is not a directory`);
  });
});
