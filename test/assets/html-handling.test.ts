import { afterEach, describe, expect, it } from "vitest";
import type { HtmlHandling } from "../../src/config/types.ts";
import type { AssetRouter } from "../../src/assets/index.ts";
import { Sites, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

// Cloudflare's example directory: a file page and a folder page.
const SITE = { "file.html": "FILE", "folder/index.html": "FOLDER" };

/** "200 <body>" or "307 <location>" or "404". */
async function outcome(router: AssetRouter, path: string): Promise<string> {
  const response = await get(router, path);
  if (response.status === 307) return `307 ${response.headers.get("location")}`;
  if (response.status === 200) return `200 ${await response.text()}`;
  return String(response.status);
}

async function table(htmlHandling: HtmlHandling, files: Record<string, string>): Promise<Record<string, string>> {
  const router = sites.router(files, { htmlHandling });
  const paths = [
    "/file",
    "/file.html",
    "/file/",
    "/file/index",
    "/file/index.html",
    "/folder",
    "/folder.html",
    "/folder/",
    "/folder/index",
    "/folder/index.html",
  ];
  const result: Record<string, string> = {};
  for (const path of paths) result[path] = await outcome(router, path);
  return result;
}

describe("html_handling", () => {
  it("auto-trailing-slash: file pages without the slash, folder pages with it", async () => {
    expect(await table("auto-trailing-slash", SITE)).toEqual({
      "/file": "200 FILE",
      "/file.html": "307 /file",
      "/file/": "307 /file",
      "/file/index": "307 /file",
      "/file/index.html": "307 /file",
      "/folder": "307 /folder/",
      "/folder.html": "307 /folder/",
      "/folder/": "200 FOLDER",
      "/folder/index": "307 /folder/",
      "/folder/index.html": "307 /folder/",
    });
  });

  it("force-trailing-slash: every page at a path ending in /", async () => {
    expect(await table("force-trailing-slash", SITE)).toEqual({
      "/file": "307 /file/",
      "/file.html": "307 /file/",
      "/file/": "200 FILE",
      "/file/index": "307 /file/",
      "/file/index.html": "307 /file/",
      "/folder": "307 /folder/",
      "/folder.html": "307 /folder/",
      "/folder/": "200 FOLDER",
      "/folder/index": "307 /folder/",
      "/folder/index.html": "307 /folder/",
    });
  });

  it("drop-trailing-slash: every page at a path without the slash", async () => {
    expect(await table("drop-trailing-slash", SITE)).toEqual({
      "/file": "200 FILE",
      "/file.html": "307 /file",
      "/file/": "307 /file",
      "/file/index": "307 /file",
      "/file/index.html": "307 /file",
      "/folder": "200 FOLDER",
      "/folder.html": "307 /folder",
      "/folder/": "307 /folder",
      "/folder/index": "307 /folder",
      "/folder/index.html": "307 /folder",
    });
  });

  it("none: exact file paths only", async () => {
    expect(await table("none", SITE)).toEqual({
      "/file": "404",
      "/file.html": "200 FILE",
      "/file/": "404",
      "/file/index": "404",
      "/file/index.html": "404",
      "/folder": "404",
      "/folder.html": "404",
      "/folder/": "404",
      "/folder/index": "404",
      "/folder/index.html": "200 FOLDER",
    });
  });

  it("serves the root index at / in every mode but none, and redirects /index.html there", async () => {
    for (const htmlHandling of ["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash"] as const) {
      const router = sites.router({ "index.html": "HOME" }, { htmlHandling });
      expect(await outcome(router, "/"), htmlHandling).toBe("200 HOME");
      expect(await outcome(router, "/index.html"), htmlHandling).toBe("307 /");
      expect(await outcome(router, "/index"), htmlHandling).toBe("307 /");
    }
    const none = sites.router({ "index.html": "HOME" }, { htmlHandling: "none" });
    expect(await outcome(none, "/")).toBe("404");
    expect(await outcome(none, "/index.html")).toBe("200 HOME");
  });

  it("keeps both pages reachable when x.html and x/index.html both exist", async () => {
    const files = { "both.html": "FLAT", "both/index.html": "NESTED" };
    const force = sites.router(files, { htmlHandling: "force-trailing-slash" });
    expect(await outcome(force, "/both/")).toBe("200 NESTED");
    expect(await outcome(force, "/both.html")).toBe("200 FLAT");
    const drop = sites.router(files, { htmlHandling: "drop-trailing-slash" });
    expect(await outcome(drop, "/both")).toBe("200 FLAT");
    expect(await outcome(drop, "/both/index.html")).toBe("200 NESTED");
    const auto = sites.router(files, { htmlHandling: "auto-trailing-slash" });
    expect(await outcome(auto, "/both")).toBe("200 FLAT");
    expect(await outcome(auto, "/both/")).toBe("200 NESTED");
  });

  it("serves a file that is not HTML at its exact path only", async () => {
    const router = sites.router({ "app.js": "JS", "docs/index": "BINARY INDEX" });
    expect(await outcome(router, "/app.js")).toBe("200 JS");
    expect(await outcome(router, "/app")).toBe("404");
    expect(await outcome(router, "/docs/index")).toBe("200 BINARY INDEX");
  });

  it("keeps the query string on a redirect", async () => {
    const router = sites.router(SITE);
    const response = await get(router, "/file.html?utm=x&y=1");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("/file?utm=x&y=1");
    expect(response.body).toBeNull();
  });

  it("redirects other spellings of a path to its canonical, percent-encoded one", async () => {
    const router = sites.router({ "[id].html": "DYNAMIC", "a b.txt": "SPACE", "café.txt": "ACCENT", "file.html": "FILE" });
    expect(await outcome(router, "/[id]")).toBe("307 /%5Bid%5D");
    expect(await outcome(router, "/%5Bid%5D")).toBe("200 DYNAMIC");
    expect(await outcome(router, "/a%20b.txt")).toBe("200 SPACE");
    expect(await outcome(router, "/caf%C3%A9.txt")).toBe("200 ACCENT");
    expect(await outcome(router, "//file")).toBe("307 /file");
    expect(await outcome(router, "//file.html")).toBe("307 /file");
  });
});
