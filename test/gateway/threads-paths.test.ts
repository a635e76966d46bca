/**
 * The gateway's rules hold on every path a request takes between threads (`hearth start --threads`):
 * a connection moved whole to the thread of its first request's agent, and a request handed over to
 * another thread's server on a connection kept here. Two shards in this thread, as in
 * test/shards/two-shards.test.ts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { agentsOnlyFetch } from "../../src/gateway/serve.ts";
import { tempDir } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { parseResponses, rawExchange } from "./raw-http.ts";
import { closeTwoShards, nameOn as nameOfShard, startTwoShards, type ShardNode } from "../shards/support/two-shards.ts";

const LIMIT = 64 * 1024;
const ORIGINAL = "gzip from upstream ".repeat(1_000);

let upstream: Server;
let upstreamUrl: string;
beforeAll(async () => {
  const gzipped = zlib.gzipSync(ORIGINAL);
  upstream = createServer((_request, response) => response.writeHead(200, { "content-encoding": "gzip", "content-length": gzipped.length }).end(gzipped));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())));

let endlessCancelled = false;

class Room extends Agent<{ HOST: string }> {
  override async onRequest(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/proxy")) return fetch(upstreamUrl);
    if (path.endsWith("/upload")) return Response.json({ host: this.env.HOST, bytes: (await request.arrayBuffer()).byteLength });
    if (path.endsWith("/cookie")) return Response.json({ host: this.env.HOST, cookie: request.headers.get("cookie")?.length ?? 0 });
    if (path.endsWith("/control")) return new Response("x", { headers: { "x-bad": "a\x01b" } });
    if (path.endsWith("/endless")) {
      const chunk = new Uint8Array(16 * 1024);
      return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(chunk), cancel: () => void (endlessCancelled = true) }));
    }
    return Response.json({ host: this.env.HOST });
  }
}

const nameOn = (index: number, prefix?: string) => nameOfShard("room", index, prefix);

/** A request for shard 0's agent: sent first on a connection to shard 0's server, it keeps the connection there. */
const keepHere = `GET /agents/room/${nameOn(0, "here")} HTTP/1.1\r\nHost: x\r\n\r\n`;
const remote = nameOn(1, "there");

describe("the gateway across threads", () => {
  let dir: ReturnType<typeof tempDir>;
  let nodes: [ShardNode, ShardNode];
  beforeEach(async () => {
    dir = tempDir();
    nodes = await startTwoShards(dir.path, { agents: { Room } }, agentsOnlyFetch, { maxRequestBodyBytes: LIMIT });
  });
  afterEach(async () => {
    await closeTwoShards(nodes);
    dir.remove();
  });

  it("encodes a fetched compressed body again, on a moved connection and handed over", async () => {
    const get = (last = false) => `GET /agents/room/${remote}/proxy HTTP/1.1\r\nHost: x\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
    const moved = parseResponses(await rawExchange(nodes[0].server.port, get(true)));
    const handed = parseResponses(await rawExchange(nodes[0].server.port, keepHere + get(true))).slice(1);
    for (const [response] of [moved, handed]) {
      expect(response!.lines).toContainEqual(["content-encoding", "gzip"]);
      expect(zlib.gunzipSync(response!.body).toString()).toBe(ORIGINAL);
    }
  });

  it("refuses a body past the limit on a moved connection: a declared length at once, a chunked one as it is read", async () => {
    const declared = await rawExchange(nodes[0].server.port, `POST /agents/room/${remote}/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`);
    expect(declared.toString("latin1")).toMatch(/^HTTP\/1\.1 413 [^]*\(maxRequestBodyBytes\)/);
    const chunk = `4000\r\n${"a".repeat(0x4000)}\r\n`;
    const errors = loggedErrors();
    try {
      const chunked = await rawExchange(nodes[0].server.port, `POST /agents/room/${remote}/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(8)}0\r\n\r\n`);
      expect(chunked.toString("latin1")).toMatch(/^HTTP\/1\.1 413 [^]*Request body too large: larger than the limit of 65536 bytes/);
    } finally {
      errors.restore();
    }
  });

  it("reads a 20 KB cookie on a moved connection and handed over", async () => {
    const get = (last = false) => `GET /agents/room/${remote}/cookie HTTP/1.1\r\nHost: x\r\nCookie: s=${"c".repeat(20_000)}\r\n${last ? "Connection: close\r\n" : ""}\r\n`;
    const [moved] = parseResponses(await rawExchange(nodes[0].server.port, get(true)));
    const [, handed] = parseResponses(await rawExchange(nodes[0].server.port, keepHere + get(true)));
    for (const response of [moved, handed]) expect(JSON.parse(response!.body.toString())).toEqual({ host: "shard-1", cookie: 20_002 });
  });

  it("answers a handed-over response Node cannot write with a logged 500, and a handed-over HEAD without reading its body", async () => {
    const errors = loggedErrors();
    try {
      const bytes = await rawExchange(nodes[0].server.port, `${keepHere}GET /agents/room/${remote}/control HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      const [, control] = parseResponses(bytes);
      expect(control!.status).toBe(500);
      expect(errors.text()).toMatch(new RegExp(`\\[hearth\\] GET /agents/room/${remote}/control: the response could not be sent, a 500 went in its place`));
    } finally {
      errors.restore();
    }
    endlessCancelled = false;
    const head = `HEAD /agents/room/${remote}/endless HTTP/1.1\r\nHost: x\r\n\r\n`;
    const bytes = await rawExchange(nodes[0].server.port, `${keepHere}${head}GET /agents/room/${remote} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const [, endless, after] = parseResponses(bytes, [1]);
    expect(endless!.status).toBe(200);
    expect(JSON.parse(after!.body.toString())).toEqual({ host: "shard-1" });
    await expect.poll(() => endlessCancelled).toBe(true);
  });
});
