import { afterEach, describe, expect, it } from "vitest";
import { contentTypeOf } from "../../src/assets/index.ts";
import { Sites, get } from "./fixture.ts";

const sites = new Sites();
afterEach(() => sites.cleanup());

describe("asset content types", () => {
  it("names each common web type, with charset=utf-8 on text types", () => {
    const expected: Record<string, string> = {
      "/index.html": "text/html; charset=utf-8",
      "/app.js": "text/javascript; charset=utf-8",
      "/app.mjs": "text/javascript; charset=utf-8",
      "/style.css": "text/css; charset=utf-8",
      "/notes.txt": "text/plain; charset=utf-8",
      "/data.json": "application/json",
      "/logo.svg": "image/svg+xml",
      "/logo.png": "image/png",
      "/photo.jpg": "image/jpeg",
      "/photo.webp": "image/webp",
      "/module.wasm": "application/wasm",
      "/font.woff2": "font/woff2",
      "/favicon.ico": "image/vnd.microsoft.icon",
      "/site.webmanifest": "application/manifest+json",
      "/LOGO.PNG": "image/png",
      "/archive.unknownext": "application/octet-stream",
      "/LICENSE": "application/octet-stream",
    };
    for (const [path, type] of Object.entries(expected)) expect(contentTypeOf(path), path).toBe(type);
  });

  it("names the types beyond the web's own that wrangler's full table knows: documents, playlists, passes, archives, video", () => {
    const expected: Record<string, string> = {
      "/report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      "/sheet.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
      "/live.m3u8": "application/vnd.apple.mpegurl",
      "/ticket.pkpass": "application/vnd.apple.pkpass",
      "/map.kml": "application/vnd.google-earth.kml+xml",
      "/clip.avi": "video/x-msvideo",
      "/movie.mkv": "video/x-matroska",
      "/archive.7z": "application/x-7z-compressed",
      "/bundle.tar": "application/x-tar",
    };
    for (const [path, type] of Object.entries(expected)) expect(contentTypeOf(path), path).toBe(type);
  });

  it("sends the type with the file's exact bytes", async () => {
    const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
    const router = sites.router({ "bytes.bin": binary, "app.js": "console.log('é')", "data.json": '{"a":1}' });

    const bin = await get(router, "/bytes.bin");
    expect(bin.status).toBe(200);
    expect(bin.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await bin.arrayBuffer())).toEqual(binary);

    const js = await get(router, "/app.js");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await js.text()).toBe("console.log('é')");

    const json = await get(router, "/data.json");
    expect(json.headers.get("content-type")).toBe("application/json");
    expect(await json.json()).toEqual({ a: 1 });
  });
});
