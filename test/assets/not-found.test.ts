import { afterEach, describe, expect, it } from "vitest";
import { Sites, echoWorker, get, navigate } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const SPA = { "index.html": "<div id=app></div>", "assets/app.js": "boot()" };

describe("not_found_handling: single-page-application", () => {
  it("with a worker: a navigation that matches no asset gets the shell; fetches and API calls go to the worker", async () => {
    const worker = echoWorker();
    const router = sites.router(SPA, { notFoundHandling: "single-page-application" }, worker.fetch);

    const reload = await navigate(router, "/settings/profile");
    expect(reload.status).toBe(200);
    expect(reload.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await reload.text()).toBe("<div id=app></div>");

    expect(await (await get(router, "/api/users")).text()).toBe("worker:/api/users");
    expect(await (await get(router, "/settings/profile", { headers: { "Sec-Fetch-Mode": "cors" } })).text()).toBe("worker:/settings/profile");
    expect(await (await get(router, "/assets/app.js")).text()).toBe("boot()");
    expect(worker.calls).toEqual(["/api/users", "/settings/profile"]);
  });

  it("without the navigation preference (compatibility dates before 2025-04-01) navigations go to the worker too", async () => {
    const worker = echoWorker();
    const router = sites.router(SPA, { notFoundHandling: "single-page-application" }, worker.fetch, { navigationPrefersAssets: false });
    expect(await (await navigate(router, "/settings")).text()).toBe("worker:/settings");
  });

  it("without a worker: every miss gets the shell, with status 200, whatever the request", async () => {
    const router = sites.router(SPA, { notFoundHandling: "single-page-application" });
    for (const path of ["/settings/profile", "/missing.js", "/a/b/c/"]) {
      const response = await get(router, path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe("<div id=app></div>");
    }
    expect(await (await get(router, "/assets/app.js")).text()).toBe("boot()");
  });

  it("redirects a route spelled with characters encodeURIComponent escapes to that spelling first, as Cloudflare does", async () => {
    const router = sites.router(SPA, { notFoundHandling: "single-page-application" });
    const first = await navigate(router, "/user/@ada");
    expect([first.status, first.headers.get("location")]).toEqual([307, "/user/%40ada"]);
    expect(await (await navigate(router, "/user/%40ada")).text()).toBe("<div id=app></div>");
  });

  it("answers 404 when there is no index.html to fall back to", async () => {
    const router = sites.router({ "app.js": "x" }, { notFoundHandling: "single-page-application" });
    expect((await navigate(router, "/settings")).status).toBe(404);
  });
});

describe("not_found_handling: 404-page", () => {
  const SITE = {
    "index.html": "HOME",
    "404.html": "ROOT 404",
    "blog/index.html": "BLOG",
    "blog/404.html": "BLOG 404",
    "blog/2024/post.html": "POST",
  };

  it("serves the nearest 404.html up the tree, with status 404 and the asset headers", async () => {
    const router = sites.router(SITE, { notFoundHandling: "404-page" });
    const deep = await get(router, "/blog/2024/missing/deeper");
    expect(deep.status).toBe(404);
    expect(await deep.text()).toBe("BLOG 404");
    expect(deep.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(deep.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);

    const blogMiss = await get(router, "/blog/nope");
    expect([blogMiss.status, await blogMiss.text()]).toEqual([404, "BLOG 404"]);
    const rootMiss = await get(router, "/shop/item");
    expect([rootMiss.status, await rootMiss.text()]).toEqual([404, "ROOT 404"]);
    const existing = await get(router, "/blog/2024/post");
    expect([existing.status, await existing.text()]).toEqual([200, "POST"]);
  });

  it("answers an empty 404 when no 404.html is on the way up", async () => {
    const router = sites.router({ "docs/404.html": "DOCS 404", "index.html": "HOME" }, { notFoundHandling: "404-page" });
    const response = await get(router, "/shop/item");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("");
    expect(await (await get(router, "/docs/x")).text()).toBe("DOCS 404");
  });

  it("with a worker: navigations that miss get the 404 page, other misses go to the worker", async () => {
    const worker = echoWorker();
    const router = sites.router(SITE, { notFoundHandling: "404-page" }, worker.fetch);
    const page = await navigate(router, "/blog/gone");
    expect([page.status, await page.text()]).toEqual([404, "BLOG 404"]);
    expect(await (await get(router, "/blog/gone")).text()).toBe("worker:/blog/gone");
  });
});

describe("not_found_handling: none", () => {
  it("sends misses to the worker, or answers an empty 404 without one", async () => {
    const worker = echoWorker();
    const withWorker = sites.router(SPA, {}, worker.fetch);
    expect(await (await navigate(withWorker, "/settings")).text()).toBe("worker:/settings");
    const alone = sites.router(SPA);
    const response = await navigate(alone, "/settings");
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("");
  });
});
