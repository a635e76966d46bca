import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
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

  it("serves nothing from a directory not built yet, letting every request through to the worker; refuses a file given as the directory", async () => {
    const { site, root } = sites.make({ "a.txt": "a" });
    const worker = async (request: Request) => new Response(`worker ${new URL(request.url).pathname}`);
    const unbuilt = sites.routerAt(join(root, "dist"), { notFoundHandling: "single-page-application" }, worker);
    expect(unbuilt.fileCount).toBe(0);
    expect(unbuilt.warnings).toEqual([]);
    const navigation = await unbuilt.fetch(new Request("http://localhost/settings", { headers: { "Sec-Fetch-Mode": "navigate" } }));
    expect(await navigation.text()).toBe("worker /settings");
    expect(await (await unbuilt.fetch(new Request("http://localhost/index.html"))).text()).toBe("worker /index.html");
    expect((await unbuilt.binding.fetch("http://localhost/index.html")).status).toBe(404);
    // Built later: the next router over it (the next start) serves it.
    mkdirSync(join(root, "dist"));
    writeFileSync(join(root, "dist", "index.html"), "BUILT");
    expect(await (await sites.routerAt(join(root, "dist"), {}, worker).fetch(new Request("http://localhost/"))).text()).toBe("BUILT");
    expect(() => sites.routerAt(join(site, "a.txt"))).toThrow(`assets.directory "${join(site, "a.txt")}" is not a directory`);
  });
});
