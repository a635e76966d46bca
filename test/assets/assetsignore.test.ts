import { afterEach, describe, expect, it } from "vitest";
import { IgnoreList } from "../../src/assets/ignore-file.ts";
import { Sites, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

describe(".assetsignore", () => {
  it("leaves out what it lists, in gitignore's format", async () => {
    const router = sites.router({
      ".assetsignore": ["# build leftovers", "*.map", "!keep.map", "/server/", "**/drafts/**", "/root-only.txt", ""].join("\n"),
      "index.html": "HOME",
      "app.js": "JS",
      "app.js.map": "MAP",
      "js/vendor.js.map": "MAP",
      "keep.map": "KEPT",
      "server/worker.js": "SERVER",
      "docs/drafts/a/b.html": "DRAFT",
      "docs/final.html": "FINAL",
      "root-only.txt": "ROOT",
      "nested/root-only.txt": "NESTED",
    });
    const served = async (path: string) => (await get(router, path)).status === 200;
    expect(await served("/app.js")).toBe(true);
    expect(await served("/app.js.map")).toBe(false);
    expect(await served("/js/vendor.js.map")).toBe(false);
    expect(await served("/keep.map")).toBe(true);
    expect(await served("/server/worker.js")).toBe(false);
    expect(await served("/docs/drafts/a/b.html")).toBe(false);
    expect(await served("/docs/final.html")).toBe(false); // 307 to /docs/final
    expect(await (await get(router, "/docs/final")).text()).toBe("FINAL");
    expect(await served("/root-only.txt")).toBe(false);
    expect(await served("/nested/root-only.txt")).toBe(true);
    expect(router.fileCount).toBe(5);
  });

  it("refuses to start with a Pages _worker.js server bundle and no .assetsignore; listed there it is never served", async () => {
    expect(() => sites.router({ "index.html": "HOME", "_worker.js/index.js": "const STRIPE_KEY = 'sk_live_1'" })).toThrow(
      /_worker\.js would be served as an asset, publishing your server-side code\. Remove it, or add an \.assetsignore file to .* containing "_worker\.js"/,
    );
    const router = sites.router({ ".assetsignore": "_worker.js", "index.html": "HOME", "_worker.js/index.js": "const STRIPE_KEY = 'sk_live_1'" });
    expect((await get(router, "/_worker.js/index.js")).status).toBe(404);
    expect((await get(router, "/index.html")).status).toBe(307);
  });

  it("never serves .assetsignore, _headers or _redirects at the root, with or without an ignore file", async () => {
    const router = sites.router({ _headers: "/x\n  X-A: 1", _redirects: "/a /b", "index.html": "HOME", "docs/_headers": "NESTED" });
    for (const path of ["/_headers", "/_redirects"]) expect((await get(router, path)).status, path).toBe(404);
    expect(await (await get(router, "/docs/_headers")).text()).toBe("NESTED");
    const withIgnore = sites.router({ ".assetsignore": "nothing-here\n", "index.html": "HOME" });
    expect((await get(withIgnore, "/.assetsignore")).status).toBe(404);
  });

  it("matches as git does: anchoring, directories only, negation, classes, escapes", () => {
    const list = IgnoreList.parse(
      ["logs/", "/build", "doc/*.txt", "?.tmp", "[ab].log", "\\#hash", "\\!bang", "secret/", "!secret/allowed.txt", "**/cache", "out/**", "trailing   "].join(
        "\n",
      ),
    );
    expect(list.ignores("logs/today.txt")).toBe(true);
    expect(list.ignores("app/logs/today.txt")).toBe(true);
    expect(list.ignores("logs")).toBe(false); // a file named logs: "logs/" is for directories
    expect(list.ignores("build/x.js")).toBe(true);
    expect(list.ignores("src/build/x.js")).toBe(false);
    expect(list.ignores("doc/notes.txt")).toBe(true);
    expect(list.ignores("doc/sub/notes.txt")).toBe(false);
    expect(list.ignores("a.tmp")).toBe(true);
    expect(list.ignores("ab.tmp")).toBe(false);
    expect(list.ignores("b.log")).toBe(true);
    expect(list.ignores("c.log")).toBe(false);
    expect(list.ignores("#hash")).toBe(true);
    expect(list.ignores("!bang")).toBe(true);
    expect(list.ignores("secret/allowed.txt")).toBe(true); // a file in an ignored directory cannot come back
    expect(list.ignores("deep/er/cache")).toBe(true);
    expect(list.ignores("cache")).toBe(true);
    expect(list.ignores("out/a/b/c")).toBe(true);
    expect(list.ignores("output/a")).toBe(false);
    expect(list.ignores("trailing")).toBe(true);
    expect(list.ignores("_headers")).toBe(true);
    expect(list.ignores("x/_headers")).toBe(false);
  });

  it("takes a class with a reversed range as matching nothing, as git does, instead of failing to start", async () => {
    const list = IgnoreList.parse(["[z-a].txt", "*.map"].join("\n"));
    expect(list.ignores("b.txt")).toBe(false);
    expect(list.ignores("app.js.map")).toBe(true);
    const router = sites.router({ "b.txt": "B", "app.js.map": "{}", ".assetsignore": "[z-a].txt\n*.map" });
    expect((await get(router, "/b.txt")).status).toBe(200);
    expect((await get(router, "/app.js.map")).status).toBe(404);
  });
});
