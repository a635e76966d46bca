import { afterEach, describe, expect, it } from "vitest";
import { Sites, echoWorker, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const FILES = { "index.html": "HOME", "page.html": "PAGE", "assets/app.js": "JS", "404.html": "GONE" };

function withHeaders(text: string, worker?: (request: Request) => Promise<Response>) {
  return sites.router({ ...FILES, _headers: text }, { notFoundHandling: "404-page" }, worker);
}

describe("_headers", () => {
  it("adds headers to matching paths, with splats and placeholders filled in", async () => {
    const router = withHeaders(
      [
        "/assets/*",
        "  Cache-Control: public, max-age=31536000, immutable",
        "  X-Splat: got :splat",
        "/:name",
        "  X-Page: :name",
        "/page",
        "  X-Frame-Options: DENY",
        "  Link: </a.css>; rel=preload",
        "  Link: </b.js>; rel=preload",
      ].join("\n"),
    );
    const js = await get(router, "/assets/app.js");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("x-splat")).toBe("got app.js");
    expect(js.headers.has("x-page")).toBe(false);
    const page = await get(router, "/page");
    expect(page.headers.get("x-page")).toBe("page");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("link")).toBe("</a.css>; rel=preload, </b.js>; rel=preload");
  });

  it("removes headers with !, and later blocks add to what earlier ones set", async () => {
    const router = withHeaders(["/*", "  X-Shared: first", "  ! Cache-Control", "/page", "  X-Shared: second", "  ! ETag"].join("\n"));
    const page = await get(router, "/page");
    expect(page.headers.get("x-shared")).toBe("first, second");
    expect(page.headers.has("cache-control")).toBe(false);
    expect(page.headers.has("etag")).toBe(false);
    expect((await get(router, "/")).headers.has("etag")).toBe(true);
  });

  it("gives each request the headers of every rule it matches, as in Cloudflare's example", async () => {
    // The `_headers` file and the table of requests and headers of Cloudflare's "Attach a header".
    const router = sites.router(
      {
        "secure/page.html": "SECURE",
        "static/image.jpg": "JPG",
        "static/styles.css": "CSS",
        "home.html": "HOME",
        _headers: [
          "# This is a comment",
          "/secure/page",
          "\tX-Frame-Options: DENY",
          "\tX-Content-Type-Options: nosniff",
          "\tReferrer-Policy: no-referrer",
          "",
          "/static/*",
          "\tAccess-Control-Allow-Origin: *",
          "\tX-Robots-Tag: nosnippet",
          "",
          "https://myworker.mysubdomain.workers.dev/*",
          "\tX-Robots-Tag: noindex",
        ].join("\n"),
      },
    );
    const custom = (response: Response) =>
      Object.fromEntries(["x-frame-options", "x-content-type-options", "referrer-policy", "access-control-allow-origin", "x-robots-tag"].flatMap((name) => (response.headers.has(name) ? [[name, response.headers.get(name)]] : [])));
    const at = async (url: string) => custom(await router.fetch(new Request(url)));
    const secure = { "x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
    expect(await at("https://custom.domain/secure/page")).toEqual(secure);
    expect(await at("https://custom.domain/static/image.jpg")).toEqual({ "access-control-allow-origin": "*", "x-robots-tag": "nosnippet" });
    expect(await at("https://myworker.mysubdomain.workers.dev/home")).toEqual({ "x-robots-tag": "noindex" });
    expect(await at("https://myworker.mysubdomain.workers.dev/secure/page")).toEqual({ ...secure, "x-robots-tag": "noindex" });
    expect(await at("https://myworker.mysubdomain.workers.dev/static/styles.css")).toEqual({ "access-control-allow-origin": "*", "x-robots-tag": "nosnippet, noindex" });
  });

  it("detaches a header a more pervasive rule set, as in Cloudflare's example", async () => {
    const router = sites.router({ "index.html": "HOME", "photo.jpg": "JPG", _headers: "/*\n  Content-Security-Policy: default-src 'self';\n\n/*.jpg\n  ! Content-Security-Policy" });
    expect((await get(router, "/")).headers.get("content-security-policy")).toBe("default-src 'self';");
    expect((await get(router, "/photo.jpg")).headers.has("content-security-policy")).toBe(false);
  });

  it("keeps only the last block of a path given twice, in the first one's place, and says so", async () => {
    const router = withHeaders(
      [
        "/page", // replaced entirely: neither its header nor its ! line applies
        "  X-Order: first",
        "  X-Only-First: yes",
        "  ! ETag",
        "/*",
        "  X-Order: everywhere",
        "/page",
        "  X-Order: last",
        "https://example.com",
        "  X-Host: a",
        "https://example.com/", // the same path as the line above
        "  X-Host: b",
      ].join("\n"),
    );
    const page = await get(router, "/page");
    // The kept /page block stands where the first one was: before /*, so its value comes first.
    expect(page.headers.get("x-order")).toBe("last, everywhere");
    expect(page.headers.has("x-only-first")).toBe(false);
    expect(page.headers.has("etag")).toBe(true);
    expect((await router.fetch(new Request("http://example.com/"))).headers.get("x-host")).toBe("b");
    expect(router.warnings).toEqual([
      "assets: _headers:7: replaces the block for /page at _headers:1; only the last block for a path applies",
      "assets: _headers:11: replaces the block for https://example.com/ at _headers:9; only the last block for a path applies",
    ]);
  });

  it("counts a path given twice toward the 100 rules", async () => {
    const text = [...Array.from({ length: 100 }, () => "/same\n  X-N: 1"), "/other\n  X-N: 2"].join("\n");
    const router = withHeaders(text);
    expect(router.warnings.at(-1)).toBe("assets: _headers:201: this and the following lines skipped, at most 100 rules");
    expect((await get(router, "/other")).headers.has("x-n")).toBe(false);
  });

  it("applies to redirects, 304s and 404 pages, but not to the worker's responses", async () => {
    const worker = echoWorker();
    const router = withHeaders(["/*", "  X-Robots-Tag: noindex"].join("\n"), worker.fetch);
    const redirect = await get(router, "/page.html");
    expect([redirect.status, redirect.headers.get("x-robots-tag")]).toEqual([307, "noindex"]);
    const etag = (await get(router, "/page")).headers.get("etag")!;
    const notModified = await get(router, "/page", { headers: { "If-None-Match": etag } });
    expect([notModified.status, notModified.headers.get("x-robots-tag")]).toEqual([304, "noindex"]);
    const missing = await get(router, "/gone", { headers: { "Sec-Fetch-Mode": "navigate" } });
    expect([missing.status, missing.headers.get("x-robots-tag")]).toEqual([404, "noindex"]);
    const api = await get(router, "/api/x");
    expect(api.headers.get("x-from")).toBe("worker");
    expect(api.headers.has("x-robots-tag")).toBe(false);
  });

  it("matches host patterns against the request's host", async () => {
    const router = withHeaders(["https://:sub.example.com/*", "  X-Sub: :sub"].join("\n"));
    const response = await router.fetch(new Request("http://shop.example.com/page"));
    expect(response.headers.get("x-sub")).toBe("shop");
    expect((await get(router, "/page")).headers.has("x-sub")).toBe(false);
  });

  it("skips invalid lines with a warning naming the line and the reason", async () => {
    const router = withHeaders(
      [
        "X-Orphan: 1",
        "/page",
        "  no-colon-here",
        "  Bad Name: x",
        "  X-Empty:",
        "  X-Good: yes",
        "/empty-block",
        "relative/path",
        "https://example.com:8080/x",
        "/*/two/*",
        "  X-A: b",
        `/${"x".repeat(2001)}`,
      ].join("\n"),
    );
    expect((await get(router, "/page")).headers.get("x-good")).toBe("yes");
    expect(router.warnings).toEqual([
      'assets: _headers:1: skipped, a header line must follow a path line',
      'assets: _headers:3: skipped, expected "Name: value"',
      'assets: _headers:4: skipped, "bad name" is not a header name',
      "assets: _headers:5: skipped, no value for x-empty",
      "assets: _headers:7: skipped, no headers under /empty-block",
      'assets: _headers:8: skipped, expected "Name: value"',
      "assets: _headers:9: skipped, a port is not allowed in https://example.com:8080/x",
      "assets: _headers:10: skipped, /*/two/* repeats a splat or placeholder",
      "assets: _headers:11: skipped, a header line must follow a path line",
      "assets: _headers:12: skipped, longer than 2000 characters",
    ]);
  });

  it("skips names and values a response header cannot carry, and serves the rest", async () => {
    const router = withHeaders(
      ["/*", "  X(Bad): 1", "  X-Wide: 日本", "  X-Cr: a\rb", "  ! Bad/Name", "  X-Latin: café", "  X-Good: yes"].join("\n"),
    );
    const page = await get(router, "/page");
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("PAGE");
    expect(page.headers.get("x-good")).toBe("yes");
    expect(page.headers.get("x-latin")).toBe("café");
    expect((await get(router, "/nope")).status).toBe(404);
    expect(router.warnings).toEqual([
      'assets: _headers:2: skipped, "x(bad)" is not a header name',
      "assets: _headers:3: skipped, the value of x-wide holds NUL, CR, LF or a character above U+00FF",
      "assets: _headers:4: skipped, the value of x-cr holds NUL, CR, LF or a character above U+00FF",
      'assets: _headers:5: skipped, "Bad/Name" is not a header name',
    ]);
  });

  it("keeps at most 100 rules", async () => {
    const text = Array.from({ length: 101 }, (_, i) => `/p${i}\n  X-N: ${i}`).join("\n");
    const router = withHeaders(text);
    expect(router.warnings).toEqual(["assets: _headers:201: this and the following lines skipped, at most 100 rules"]);
  });
});
