import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ASSET_CACHE_CONTROL } from "../../src/assets/index.ts";
import { AssetServer } from "../../src/assets/asset-server.ts";
import { scanAssets } from "../../src/assets/manifest.ts";
import { Sites, echoWorker, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

const etagOf = (contents: string | Uint8Array) => `"${createHash("sha256").update(contents).digest("hex").slice(0, 32)}"`;

describe("asset ETags and 304", () => {
  it("sends a strong ETag from the contents, with Cloudflare's Cache-Control and the length", async () => {
    const router = sites.router({ "a.txt": "same", "b.txt": "same", "c.txt": "other" });
    const a = await get(router, "/a.txt");
    expect(a.status).toBe(200);
    expect(a.headers.get("etag")).toBe(etagOf("same"));
    expect(a.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
    expect(a.headers.get("cache-control")).toBe("public, max-age=0, must-revalidate");
    expect(ASSET_CACHE_CONTROL).toBe("public, max-age=0, must-revalidate");
    expect(a.headers.get("content-length")).toBe("4");
    expect((await get(router, "/b.txt")).headers.get("etag")).toBe(a.headers.get("etag"));
    expect((await get(router, "/c.txt")).headers.get("etag")).not.toBe(a.headers.get("etag"));
    expect((await get(router, "/a.txt")).headers.get("etag")).toBe(a.headers.get("etag"));
  });

  it("answers 304 with no body to If-None-Match naming the ETag (strong, weak, or in a list)", async () => {
    const router = sites.router({ "page.html": "<h1>hi</h1>" });
    const etag = (await get(router, "/page")).headers.get("etag")!;
    for (const header of [etag, `W/${etag}`, `"nope", ${etag}`]) {
      const response = await get(router, "/page", { headers: { "If-None-Match": header } });
      expect(response.status, header).toBe(304);
      expect(response.body, header).toBeNull();
      expect(response.headers.get("etag")).toBe(etag);
      expect(response.headers.get("cache-control")).toBe(ASSET_CACHE_CONTROL);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    }
    const miss = await get(router, "/page", { headers: { "If-None-Match": '"something-else"' } });
    expect(miss.status).toBe(200);
    expect(await miss.text()).toBe("<h1>hi</h1>");
  });

  it("answers If-None-Match: * in full, as Cloudflare does: a 404 page stays a 404 with its body", async () => {
    const router = sites.router({ "page.html": "<h1>hi</h1>", "404.html": "gone" }, { notFoundHandling: "404-page" });
    const page = await get(router, "/page", { headers: { "If-None-Match": "*" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("<h1>hi</h1>");
    const missing = await get(router, "/missing", { headers: { "If-None-Match": "*" } });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("gone");
  });

  it("serves a small file from memory as often as asked, its bytes intact", async () => {
    const router = sites.router({ "a.txt": "kept in memory" });
    for (let i = 0; i < 3; i++) expect(await (await get(router, "/a.txt")).text()).toBe("kept in memory");
  });

  it("leaves out Cache-Control for requests with Authorization or Range (ranges: ranges.test.ts)", async () => {
    const router = sites.router({ "a.txt": "0123456789" });
    const authorized = await get(router, "/a.txt", { headers: { Authorization: "Bearer x" } });
    expect(authorized.headers.has("cache-control")).toBe(false);
    const ranged = await get(router, "/a.txt", { headers: { Range: "bytes=0-3" } });
    expect(ranged.headers.has("cache-control")).toBe(false);
    // A Range header Hearth ignores leaves it out too, as on Cloudflare (the header is what counts).
    const ignored = await get(router, "/a.txt", { headers: { Range: "items=0-3" } });
    expect([ignored.status, ignored.headers.has("cache-control")]).toEqual([200, false]);
  });

  it("serves a file changed after start with its new contents and ETag, and 404 once removed", async () => {
    const { site } = sites.make({ "a.txt": "first" });
    const router = sites.routerAt(site);
    const before = await get(router, "/a.txt");
    expect(await before.text()).toBe("first");
    writeFileSync(join(site, "a.txt"), "second version");
    const after = await get(router, "/a.txt");
    expect(await after.text()).toBe("second version");
    expect(after.headers.get("etag")).toBe(etagOf("second version"));
    expect((await get(router, "/a.txt", { headers: { "If-None-Match": before.headers.get("etag")! } })).status).toBe(200);
    rmSync(join(site, "a.txt"));
    expect((await get(router, "/a.txt")).status).toBe(404);
  });
});

describe("asset methods", () => {
  it("answers HEAD with the headers of GET and no body", async () => {
    const router = sites.router({ "app.css": "body{}" });
    const head = await get(router, "/app.css", { method: "HEAD" });
    const full = await get(router, "/app.css");
    expect(head.status).toBe(200);
    expect(head.body).toBeNull();
    for (const name of ["etag", "content-type", "content-length", "cache-control"]) {
      expect(head.headers.get(name), name).toBe(full.headers.get(name));
    }
  });

  it("answers 405 to other methods on an asset, and 404 on a path without one", async () => {
    const router = sites.router({ "form.html": "<form>" });
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const response = await get(router, "/form", { method, body: method === "POST" || method === "PUT" ? "x" : undefined });
      expect(response.status, method).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
    }
    expect((await get(router, "/missing", { method: "POST", body: "x" })).status).toBe(404);
  });

  it("sends a POST to an asset's path to the assets (405), a POST elsewhere to the worker", async () => {
    const worker = echoWorker();
    const router = sites.router({ "form.html": "<form>" }, {}, worker.fetch);
    expect((await get(router, "/form", { method: "POST", body: "x" })).status).toBe(405);
    const api = await get(router, "/api/submit", { method: "POST", body: "x" });
    expect(await api.text()).toBe("worker:/api/submit");
  });
});

describe("large assets", () => {
  const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) % 251);

  it("streams a large file whole, with its length and content ETag, and 304s it", async () => {
    const router = sites.router({ "video.bin": big });
    const response = await get(router, "/video.bin");
    expect(response.headers.get("content-length")).toBe(String(big.byteLength));
    expect(response.headers.get("etag")).toBe(etagOf(big));
    // Buffer.equals: a deep toEqual over 3 MiB takes seconds.
    expect(Buffer.from(await response.arrayBuffer()).equals(big)).toBe(true);
    const again = await get(router, "/video.bin", { headers: { "If-None-Match": etagOf(big) } });
    expect(again.status).toBe(304);
  });

  it("gives the same ETag to requests that race for a file not hashed yet", async () => {
    const router = sites.router({ "video.bin": big });
    const responses = await Promise.all(Array.from({ length: 8 }, () => get(router, "/video.bin", { method: "HEAD" })));
    expect(new Set(responses.map((response) => response.headers.get("etag")))).toEqual(new Set([etagOf(big)]));
  });

  it("opens a large file only when its body is read: responses nobody reads hold no file", async () => {
    const server = new AssetServer({ manifest: scanAssets(sites.make({ "video.bin": big }).site), htmlHandling: "auto-trailing-slash", notFoundHandling: "none" });
    try {
      // A worker that looks at env.ASSETS.fetch's status and answers something else.
      for (let i = 0; i < 20; i++) expect((await server.fetch(new Request("http://x/video.bin"))).status).toBe(200);
      expect(server.openFiles).toBe(0);
      const read = await server.fetch(new Request("http://x/video.bin"));
      const reader = read.body!.getReader();
      expect((await reader.read()).done).toBe(false);
      expect(server.openFiles).toBe(1);
      await reader.cancel();
      expect(server.openFiles).toBe(0);
      expect(Buffer.from(await (await server.fetch(new Request("http://x/video.bin"))).arrayBuffer()).equals(big)).toBe(true);
      expect(server.openFiles).toBe(0);
    } finally {
      server.close();
    }
  });

  it("closes the files of unfinished responses on close(): their bodies fail instead of hanging", async () => {
    const router = sites.router({ "video.bin": big });
    const response = await get(router, "/video.bin");
    router.close();
    await expect(response.arrayBuffer()).rejects.toThrow();
    await expect(get(router, "/video.bin")).rejects.toThrow(/closed/);
  });
});
