import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Host, serve, type HearthServer, type WorkerFetch } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { parseResponses, rawExchange } from "./raw-http.ts";

const ORIGINAL = "hello hello hello, compressed upstream ".repeat(2_000);

/** An upstream that answers ORIGINAL compressed as its path says, with its own connection headers. */
function startUpstream(): Promise<Server> {
  const compressed: Record<string, Buffer> = {
    gzip: zlib.gzipSync(ORIGINAL),
    br: zlib.brotliCompressSync(ORIGINAL),
    deflate: zlib.deflateSync(ORIGINAL),
    zstd: zlib.zstdCompressSync(ORIGINAL),
  };
  const upstream = createServer((request, response) => {
    const coding = request.url!.slice(1);
    if (coding === "gzip-stream") {
      response.writeHead(200, { "content-encoding": "gzip", "keep-alive": "timeout=1", "x-upstream": "1" });
      const gzip = zlib.createGzip();
      gzip.pipe(response);
      gzip.write(ORIGINAL.slice(0, 1000));
      setTimeout(() => gzip.end(ORIGINAL.slice(1000)), 10);
      return;
    }
    if (coding === "plain") {
      response.writeHead(200, { "content-length": Buffer.byteLength(ORIGINAL), "keep-alive": "timeout=1" });
      return void response.end(ORIGINAL);
    }
    const body = compressed[coding]!;
    response.writeHead(200, { "content-encoding": coding, "content-length": body.length, "keep-alive": "timeout=1", "x-upstream": "1" });
    response.end(body);
  });
  return new Promise((resolve) => upstream.listen(0, "127.0.0.1", () => resolve(upstream)));
}

let upstream: Server;
let upstreamUrl: string;
beforeAll(async () => {
  upstream = await startUpstream();
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

/** Released by a test: the second event of `/events` is produced after it. */
let release: () => void = () => {};

const worker: WorkerFetch = (request) => {
  const path = new URL(request.url).pathname;
  if (path.startsWith("/up/")) return fetch(`${upstreamUrl}/${path.slice(4)}`);
  // A body the worker made, labelled gzip: encoded by the server, as the Workers runtime does.
  if (path === "/made-gzip") return new Response(ORIGINAL, { headers: { "content-encoding": "gzip", "content-length": "12" } });
  if (path === "/events") {
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode("data: first\n\n"));
        await gate; // the second event only once the client decoded the first
        controller.enqueue(new TextEncoder().encode("data: second\n\n"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream", "content-encoding": "br" } });
  }
  if (path === "/wrong-length") return new Response("abc", { headers: { "content-length": "10" } });
  if (path === "/short-stream" || path === "/long-stream") {
    const bytes = new TextEncoder().encode(path === "/short-stream" ? "abc" : "x".repeat(20));
    return new Response(new ReadableStream({ pull: (controller) => (controller.enqueue(bytes), controller.close()) }), { headers: { "content-length": "10" } });
  }
  if (path === "/right-length-stream") {
    const bytes = new TextEncoder().encode("0123456789");
    return new Response(new ReadableStream({ pull: (controller) => (controller.enqueue(bytes), controller.close()) }), { headers: { "content-length": "10" } });
  }
  if (path === "/no-content") return new Response(null, { status: 204, headers: { "content-length": "5" } });
  if (path === "/not-modified") return new Response(null, { status: 304, headers: { "content-length": "5", etag: '"v1"' } });
  if (path === "/hop") {
    return new Response("ok", {
      headers: { connection: "x-private", "x-private": "secret", "keep-alive": "timeout=1", "transfer-encoding": "chunked", upgrade: "h2c", "proxy-connection": "keep-alive", "x-kept": "1" },
    });
  }
  return new Response("fine");
};

let server: HearthServer;
let host: Host;
let dir: ReturnType<typeof tempDir>;
beforeAll(async () => {
  dir = tempDir();
  host = new Host({ dataDir: dir.path, agents: {} });
  server = await serve({ host, port: 0, fetch: worker });
});
afterAll(async () => {
  await server.close();
  await host.close();
  dir.remove();
});
afterEach(() => release());

const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
const header = (lines: Array<[string, string]>, name: string) => lines.filter(([key]) => key === name).map(([, value]) => value);

describe("a response from a compressed upstream (return fetch(upstream))", () => {
  it.each(["gzip", "br", "deflate", "zstd", "gzip-stream"])("reaches the client as the upstream's bytes: %s", async (coding) => {
    const response = await fetch(`${server.url}/up/${coding}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-encoding")).toBe(coding.replace("-stream", ""));
    expect(await response.text()).toBe(ORIGINAL);
  });

  it("is encoded again on the wire, with no stale length and none of the upstream's connection headers", async () => {
    const bytes = await rawExchange(server.port, get("/up/br", "Connection: close\r\n"));
    const [response] = parseResponses(bytes);
    expect(header(response!.lines, "content-encoding")).toEqual(["br"]);
    expect(header(response!.lines, "content-length")).toEqual([]);
    expect(header(response!.lines, "keep-alive")).toEqual([]); // the upstream's timeout=1 is its own connection's
    expect(header(response!.lines, "x-upstream")).toEqual(["1"]);
    expect(zlib.brotliDecompressSync(response!.body).toString()).toBe(ORIGINAL);
  });

  it("keeps an uncompressed upstream's length, and the connection serves the next request", async () => {
    const bytes = await rawExchange(server.port, get("/up/plain") + get("/after", "Connection: close\r\n"));
    const [first, second] = parseResponses(bytes);
    expect(header(first!.lines, "content-length")).toEqual([String(Buffer.byteLength(ORIGINAL))]);
    expect(first!.body.toString()).toBe(ORIGINAL);
    expect(second!.body.toString()).toBe("fine");
  });
});

describe("a response the worker made", () => {
  it("with a Content-Encoding is encoded as it says (its stated length dropped)", async () => {
    const response = await fetch(`${server.url}/made-gzip`);
    expect(await response.text()).toBe(ORIGINAL);
    const [raw] = parseResponses(await rawExchange(server.port, get("/made-gzip", "Connection: close\r\n")));
    expect(header(raw!.lines, "content-length")).toEqual([]);
    expect(zlib.gunzipSync(raw!.body).toString()).toBe(ORIGINAL);
  });

  it("encodes a stream chunk by chunk: the client decodes an event before the next is produced", async () => {
    const response = await fetch(`${server.url}/events`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("first")) text += (await reader.read()).value;
    expect(text).toBe("data: first\n\n");
    release();
    for (let read = await reader.read(); !read.done; read = await reader.read()) text += read.value;
    expect(text).toBe("data: first\n\ndata: second\n\n");
  });

  it("gets its body's true length, not a Content-Length that says otherwise", async () => {
    const bytes = await rawExchange(server.port, get("/wrong-length") + get("/right-length-stream") + get("/after", "Connection: close\r\n"));
    const [wrong, stream, after] = parseResponses(bytes);
    expect(header(wrong!.lines, "content-length")).toEqual(["3"]);
    expect(wrong!.body.toString()).toBe("abc");
    expect(header(stream!.lines, "content-length")).toEqual(["10"]);
    expect(stream!.body.toString()).toBe("0123456789");
    expect(after!.body.toString()).toBe("fine");
  });

  it("is cut off (and logged) when its stream is shorter or longer than its Content-Length", async () => {
    const errors = loggedErrors();
    try {
      for (const path of ["/short-stream", "/long-stream"]) {
        const bytes = await rawExchange(server.port, get(path) + get("/after"));
        const text = bytes.toString("latin1");
        expect(text).toMatch(/^HTTP\/1\.1 200 /);
        expect(text).not.toContain("fine"); // the connection was closed: nothing after the cut response
        expect(bytes.length - bytes.indexOf("\r\n\r\n") - 4).toBeLessThan(10);
      }
      await expect.poll(() => errors.text()).toMatch(/GET \/long-stream: the response was cut off[^\n]*longer than its Content-Length of 10 bytes/);
      expect(errors.text()).toMatch(/GET \/short-stream: the response was cut off[^\n]*is 3 bytes, but its Content-Length says 10/);
    } finally {
      errors.restore();
    }
  });

  it("sends no Content-Length with a 204 or a 304", async () => {
    const bytes = await rawExchange(server.port, get("/no-content") + get("/not-modified") + get("/after", "Connection: close\r\n"));
    const [noContent, notModified, after] = parseResponses(bytes);
    expect(noContent!.status).toBe(204);
    expect(header(noContent!.lines, "content-length")).toEqual([]);
    expect(notModified!.status).toBe(304);
    expect(header(notModified!.lines, "content-length")).toEqual([]);
    expect(header(notModified!.lines, "etag")).toEqual(['"v1"']);
    expect(after!.body.toString()).toBe("fine");
  });

  it("never sends hop-by-hop headers: the server frames the body and speaks for its connection", async () => {
    const bytes = await rawExchange(server.port, get("/hop") + get("/after", "Connection: close\r\n"));
    const [hop, after] = parseResponses(bytes);
    const names = hop!.lines.map(([name]) => name);
    for (const name of ["x-private", "transfer-encoding", "upgrade", "proxy-connection"]) expect(names).not.toContain(name);
    expect(header(hop!.lines, "connection")).toEqual(["keep-alive"]); // the server's own, once
    expect(header(hop!.lines, "x-kept")).toEqual(["1"]);
    expect(hop!.body.toString()).toBe("ok");
    expect(after!.body.toString()).toBe("fine"); // the worker's Connection header did not close it
  });
});
