import { afterEach, describe, expect, it } from "vitest";
import { Host, serve, type HearthServer } from "../../src/index.ts";
import { AssetServer } from "../../src/assets/asset-server.ts";
import { scanAssets } from "../../src/assets/manifest.ts";
import { Sites, get } from "./fixture.ts";

const sites = new Sites();
const servers: Array<{ server: HearthServer; host: Host }> = [];
afterEach(async () => {
  for (const { server, host } of servers.splice(0)) {
    await server.close();
    await host.close();
  }
  sites.cleanup();
});

const TEXT = "0123456789"; // 10 bytes
const ranged = (range: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { Range: range, ...(init.headers as Record<string, string>) } });

/** The parts of a multipart/byteranges body: each part's headers and bytes, as text. */
function parts(contentType: string, body: string): Array<{ type: string; range: string; data: string }> {
  const boundary = /boundary=(\S+)$/.exec(contentType)![1]!;
  expect(body.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(body.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  const inner = body.slice(`--${boundary}\r\n`.length, -`\r\n--${boundary}--\r\n`.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const [head, data] = [part.slice(0, part.indexOf("\r\n\r\n")), part.slice(part.indexOf("\r\n\r\n") + 4)];
    const fields = Object.fromEntries(head.split("\r\n").map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
    return { type: fields["content-type"]!, range: fields["content-range"]!, data };
  });
}

describe("Range requests for an asset", () => {
  it("answer one range with 206, its Content-Range and length, and those bytes only", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const whole = await get(router, "/a.txt");
    const response = await get(router, "/a.txt", ranged("bytes=2-5"));
    expect(response.status).toBe(206);
    expect(response.statusText).toBe("Partial Content");
    expect(response.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(response.headers.get("content-length")).toBe("4");
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("etag")).toBe(whole.headers.get("etag"));
    // As Cloudflare: a Range request gets no Cache-Control, and no Accept-Ranges is added.
    expect(response.headers.has("cache-control")).toBe(false);
    expect(response.headers.has("accept-ranges")).toBe(false);
    expect(await response.text()).toBe("2345");
  });

  it("serve suffix ranges, open ranges, and ends past the file cut at its end", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const cases: Array<[string, string, string]> = [
      ["bytes=-3", "bytes 7-9/10", "789"],
      ["bytes=-500", "bytes 0-9/10", TEXT], // a suffix longer than the file: all of it, still 206
      ["bytes=4-", "bytes 4-9/10", "456789"],
      ["bytes=8-500", "bytes 8-9/10", "89"],
      ["bytes=0-0", "bytes 0-0/10", "0"],
      ["BYTES=9-9", "bytes 9-9/10", "9"],
      ["bytes= 1-2 ", "bytes 1-2/10", "12"],
    ];
    for (const [range, contentRange, body] of cases) {
      const response = await get(router, "/a.txt", ranged(range));
      expect([response.status, response.headers.get("content-range"), await response.text()], range).toEqual([206, contentRange, body]);
    }
  });

  it("answer 416 with Content-Range: bytes */size and no body when nothing of the file is asked", async () => {
    const router = sites.router({ "a.txt": TEXT, "empty.txt": "" });
    for (const range of ["bytes=10-", "bytes=10-20", "bytes=-0", "bytes=5-2", "bytes=", "bytes=20-30,40-"]) {
      const response = await get(router, "/a.txt", ranged(range));
      expect(response.status, range).toBe(416);
      expect(response.statusText).toBe("Range Not Satisfiable");
      expect(response.headers.get("content-range"), range).toBe("bytes */10");
      expect(await response.text(), range).toBe("");
    }
    const empty = await get(router, "/empty.txt", ranged("bytes=0-"));
    expect([empty.status, empty.headers.get("content-range")]).toEqual([416, "bytes */0"]);
    expect((await get(router, "/empty.txt", ranged("bytes=-1"))).status).toBe(416);
  });

  it("ignore a Range header they cannot use, and send the whole file with 200", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const tooMany = Array.from({ length: 300 }, (_, i) => `${i % 10}-${i % 10}`).join(",");
    const ignored = [
      "items=0-1",
      "bytes",
      "bytes 0-1",
      "bytes=abc",
      "bytes=0-1-2",
      "bytes=-",
      "bytes=1.5-2",
      "bytes=0-99999999999999999999", // too large a number
      "bytes=5-6,0-1", // out of order
      "bytes=0-5,3-8", // overlapping
      tooMany,
    ];
    for (const range of ignored) {
      const response = await get(router, "/a.txt", ranged(range));
      expect(response.status, range.slice(0, 40)).toBe(200);
      expect(response.headers.has("content-range")).toBe(false);
      expect(await response.text()).toBe(TEXT);
    }
  });

  it("answer several ranges with one multipart/byteranges body, its length exact", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const response = await get(router, "/a.txt", ranged("bytes=0-1, 4-5,-2"));
    expect(response.status).toBe(206);
    expect(response.headers.has("content-range")).toBe(false);
    const contentType = response.headers.get("content-type")!;
    expect(contentType).toMatch(/^multipart\/byteranges; boundary=\S+$/);
    const body = await response.text();
    expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(body)));
    expect(parts(contentType, body)).toEqual([
      { type: "text/plain; charset=utf-8", range: "bytes 0-1/10", data: "01" },
      { type: "text/plain; charset=utf-8", range: "bytes 4-5/10", data: "45" },
      { type: "text/plain; charset=utf-8", range: "bytes 8-9/10", data: "89" },
    ]);
  });

  it("leave out the ranges the file cannot satisfy: one left is a plain 206", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const one = await get(router, "/a.txt", ranged("bytes=2-3,50-60"));
    expect([one.status, one.headers.get("content-range"), await one.text()]).toEqual([206, "bytes 2-3/10", "23"]);
    const two = await get(router, "/a.txt", ranged("bytes=0-0,50-60,9-"));
    expect(parts(two.headers.get("content-type")!, await two.text()).map((part) => part.data)).toEqual(["0", "9"]);
  });

  it("take up to 299 ranges in one header", async () => {
    const router = sites.router({ "big.bin": new Uint8Array(1000) });
    const header = `bytes=${Array.from({ length: 299 }, (_, i) => `${i * 3}-${i * 3 + 1}`).join(",")}`;
    const response = await get(router, "/big.bin", ranged(header));
    expect(response.status).toBe(206);
    expect(parts(response.headers.get("content-type")!, await response.text())).toHaveLength(299);
  });

  it("apply the range only when If-Range is the asset's ETag; else the whole file", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const etag = (await get(router, "/a.txt")).headers.get("etag")!;
    const same = await get(router, "/a.txt", ranged("bytes=0-1", { headers: { "If-Range": etag } }));
    expect([same.status, await same.text()]).toEqual([206, "01"]);
    for (const ifRange of ['"other"', `W/${etag}`, "Wed, 21 Oct 2015 07:28:00 GMT"]) {
      const changed = await get(router, "/a.txt", ranged("bytes=0-1", { headers: { "If-Range": ifRange } }));
      expect([changed.status, await changed.text()], ifRange).toEqual([200, TEXT]);
    }
  });

  it("answer 304 before any range when If-None-Match names the ETag", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const etag = (await get(router, "/a.txt")).headers.get("etag")!;
    const response = await get(router, "/a.txt", ranged("bytes=0-1", { headers: { "If-None-Match": etag } }));
    expect(response.status).toBe(304);
    expect(response.headers.has("content-range")).toBe(false);
  });

  it("answer HEAD with the headers of GET and no body", async () => {
    const router = sites.router({ "a.txt": TEXT });
    const one = await get(router, "/a.txt", ranged("bytes=2-5", { method: "HEAD" }));
    expect([one.status, one.headers.get("content-range"), one.headers.get("content-length"), one.body]).toEqual([206, "bytes 2-5/10", "4", null]);
    const several = await get(router, "/a.txt", ranged("bytes=0-1,4-5", { method: "HEAD" }));
    const full = await get(router, "/a.txt", ranged("bytes=0-1,4-5"));
    expect(several.status).toBe(206);
    expect(several.body).toBeNull();
    expect(several.headers.get("content-length")).toBe(full.headers.get("content-length"));
    const none = await get(router, "/a.txt", ranged("bytes=50-", { method: "HEAD" }));
    expect([none.status, none.headers.get("content-range"), none.body]).toEqual([416, "bytes */10", null]);
  });

  it("apply to pages html_handling and the SPA fallback serve with 200, not to a 404 page or a redirect", async () => {
    const spa = sites.router({ "index.html": "<h1>shell</h1>", "about.html": "ABOUT PAGE" }, { notFoundHandling: "single-page-application" });
    const about = await get(spa, "/about", ranged("bytes=0-4"));
    expect([about.status, await about.text()]).toEqual([206, "ABOUT"]);
    const shell = await get(spa, "/settings", ranged("bytes=1-2"));
    expect([shell.status, await shell.text()]).toEqual([206, "h1"]);
    const redirect = await get(spa, "/about.html", ranged("bytes=0-4"));
    expect([redirect.status, redirect.headers.get("location")]).toEqual([307, "/about"]);
    const pages = sites.router({ "404.html": "NOT HERE" }, { notFoundHandling: "404-page" });
    const missing = await get(pages, "/gone", ranged("bytes=0-2"));
    expect([missing.status, missing.headers.has("content-range"), await missing.text()]).toEqual([404, false, "NOT HERE"]);
  });

  it("get the headers of _headers too", async () => {
    const router = sites.router({ "a.txt": TEXT, _headers: "/*\n  X-Robots-Tag: noindex" });
    for (const range of ["bytes=0-1", "bytes=0-1,3-4", "bytes=50-"]) {
      expect((await get(router, "/a.txt", ranged(range))).headers.get("x-robots-tag"), range).toBe("noindex");
    }
  });
});

describe("Range requests for a large asset", () => {
  const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, i) => (i * 31) % 251);

  it("stream the slice from the file, opened only while it is read", async () => {
    const server = new AssetServer({ manifest: scanAssets(sites.make({ "video.bin": big }).site), htmlHandling: "auto-trailing-slash", notFoundHandling: "none" });
    try {
      const start = 1024 * 1024 + 5;
      const end = start + 600 * 1024;
      const response = await server.fetch(new Request("http://x/video.bin", { headers: { Range: `bytes=${start}-${end}` } }));
      expect(response.status).toBe(206);
      expect(response.headers.get("content-range")).toBe(`bytes ${start}-${end}/${big.byteLength}`);
      expect(response.headers.get("content-length")).toBe(String(end - start + 1));
      expect(server.openFiles).toBe(0);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(server.openFiles).toBe(1);
      const chunks = [first.value!];
      for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
      expect(Buffer.concat(chunks).equals(big.subarray(start, end + 1))).toBe(true);
      expect(server.openFiles).toBe(0);

      const tail = await server.fetch(new Request("http://x/video.bin", { headers: { Range: "bytes=-100" } }));
      expect(Buffer.from(await tail.arrayBuffer()).equals(big.subarray(big.byteLength - 100))).toBe(true);
    } finally {
      server.close();
    }
  });

  it("stream each range of a multipart answer from the file, and let go of it when cancelled", async () => {
    const server = new AssetServer({ manifest: scanAssets(sites.make({ "video.bin": big }).site), htmlHandling: "auto-trailing-slash", notFoundHandling: "none" });
    try {
      const ranges: Array<[number, number]> = [
        [10, 300_000],
        [2_000_000, 2_500_000],
        [big.byteLength - 7, big.byteLength - 1],
      ];
      const request = () => new Request("http://x/video.bin", { headers: { Range: `bytes=${ranges.map(([a, b]) => `${a}-${b}`).join(",")}` } });
      const response = await server.fetch(request());
      const body = Buffer.from(await response.arrayBuffer());
      expect(response.headers.get("content-length")).toBe(String(body.byteLength));
      const boundary = /boundary=(\S+)$/.exec(response.headers.get("content-type")!)![1]!;
      let at = 0;
      for (const [index, [a, b]] of ranges.entries()) {
        const head = `${index === 0 ? "" : "\r\n"}--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes ${a}-${b}/${big.byteLength}\r\n\r\n`;
        expect(body.subarray(at, at + head.length).toString("latin1")).toBe(head);
        at += head.length;
        expect(body.subarray(at, at + b - a + 1).equals(big.subarray(a, b + 1)), `range ${a}-${b}`).toBe(true);
        at += b - a + 1;
      }
      expect(body.subarray(at).toString("latin1")).toBe(`\r\n--${boundary}--\r\n`);
      expect(server.openFiles).toBe(0);

      const abandoned = await server.fetch(request());
      const reader = abandoned.body!.getReader();
      await reader.read(); // the first part's head
      await reader.read(); // the first chunk of its range, which goes on
      expect(server.openFiles).toBe(1);
      await reader.cancel();
      expect(server.openFiles).toBe(0);
    } finally {
      server.close();
    }
  });

  it("arrive whole over a real socket: 206, multipart and 416", async () => {
    const { site, root } = sites.make({ "video.bin": big, "a.txt": TEXT });
    const router = sites.routerAt(site);
    const host = new Host({ dataDir: `${root}/data`, agents: {} });
    const server = await serve({ host, port: 0, fetch: (request) => router.fetch(request) });
    servers.push({ server, host });

    const slice = await fetch(`${server.url}/video.bin`, { headers: { Range: "bytes=100000-899999" } });
    expect(slice.status).toBe(206);
    expect(slice.headers.get("content-range")).toBe(`bytes 100000-899999/${big.byteLength}`);
    expect(slice.headers.get("content-length")).toBe("800000");
    expect(Buffer.from(await slice.arrayBuffer()).equals(big.subarray(100000, 900000))).toBe(true);

    const several = await fetch(`${server.url}/a.txt`, { headers: { Range: "bytes=0-0,9-9" } });
    const text = await several.text();
    expect(several.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(parts(several.headers.get("content-type")!, text).map((part) => part.data)).toEqual(["0", "9"]);

    const none = await fetch(`${server.url}/a.txt`, { headers: { Range: "bytes=10-" } });
    expect([none.status, none.headers.get("content-range"), await none.text()]).toEqual([416, "bytes */10", ""]);
  });
});
