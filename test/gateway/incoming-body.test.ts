import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { incomingBody } from "../../src/gateway/incoming-body.ts";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server that hands each request's body stream to `onBody`; resolves with its port. */
async function listen(onBody: (body: ReadableStream<Uint8Array>, incoming: IncomingMessage) => void): Promise<number> {
  server = createServer((incoming, outgoing) => {
    onBody(incoming.method === "POST" ? incomingBody(incoming) : new ReadableStream(), incoming);
    outgoing.on("error", () => {});
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server!.address() as AddressInfo).port;
}

async function readAll(body: ReadableStream<Uint8Array>, pause?: () => Promise<void>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    chunks.push(value);
    await pause?.();
  }
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("incomingBody", () => {
  it("delivers a chunked body written in several pieces, whole and in order", async () => {
    let received!: Promise<Buffer>;
    const got = new Promise<void>((resolve) => {
      void listen((body) => {
        received = readAll(body);
        resolve();
      }).then((port) => {
        const client = httpRequest({ port, method: "POST", headers: { "transfer-encoding": "chunked" } });
        client.on("error", () => {});
        client.write("one,");
        setImmediate(() => {
          client.write("two,");
          client.end("three");
        });
      });
    });
    await got;
    expect((await received).toString()).toBe("one,two,three");
  });

  it("reads a body far larger than its queue when the reader is slow (the message is paused, then resumed)", async () => {
    const size = 1024 * 1024;
    let received!: Promise<Buffer>;
    let paused = false;
    const got = new Promise<void>((resolve) => {
      void listen((body, incoming) => {
        received = readAll(body, async () => {
          paused ||= incoming.isPaused();
          await nextTurn();
        });
        resolve();
      }).then((port) => {
        const client = httpRequest({ port, method: "POST", headers: { "content-length": size } });
        client.on("error", () => {});
        client.end(Buffer.alloc(size, 7));
      });
    });
    await got;
    const bytes = await received;
    expect(bytes.length).toBe(size);
    expect(bytes.every((byte) => byte === 7)).toBe(true);
    expect(paused).toBe(true);
  });

  it("fails the reader when the client goes away in the middle of the body", async () => {
    let received: Promise<Buffer> | undefined;
    const port = await listen((body) => {
      received = readAll(body);
    });
    const client = httpRequest({ port, method: "POST", headers: { "content-length": 1000 } });
    client.on("error", () => {});
    client.write("only the first part");
    await expect.poll(() => received !== undefined).toBe(true);
    client.destroy();
    await expect(received).rejects.toThrow(/aborted/);
  });

  it("attaches nothing to the message until a reader asks, and the body that arrived meanwhile is read whole", async () => {
    let incoming!: IncomingMessage;
    let body: ReadableStream<Uint8Array> | undefined;
    const port = await listen((b, i) => {
      body = b;
      incoming = i;
    });
    const client = httpRequest({ port, method: "POST", headers: { "content-length": 11 } });
    client.on("error", () => {});
    client.end("hello world");
    await expect.poll(() => body !== undefined && incoming.complete).toBe(true);
    expect(incoming.listenerCount("data") + incoming.listenerCount("end") + incoming.listenerCount("close")).toBe(0);
    expect((await readAll(body!)).toString()).toBe("hello world");
  });

  it("fails the reader whose first read comes after the client went away in the middle of the body", async () => {
    let incoming!: IncomingMessage;
    let body: ReadableStream<Uint8Array> | undefined;
    const port = await listen((b, i) => {
      body = b;
      incoming = i;
    });
    const client = httpRequest({ port, method: "POST", headers: { "content-length": 1000 } });
    client.on("error", () => {});
    client.write("only the first part");
    await expect.poll(() => body !== undefined).toBe(true);
    client.destroy();
    await expect.poll(() => incoming.destroyed).toBe(true);
    await expect(readAll(body!)).rejects.toThrow(/aborted/);
  });

  it("drops the rest of the body when the stream is cancelled, keeping the message (the answer still goes out)", async () => {
    let incoming!: IncomingMessage;
    let body: ReadableStream<Uint8Array> | undefined;
    const port = await listen((b, i) => {
      body = b;
      incoming = i;
    });
    const client = httpRequest({ port, method: "POST", headers: { "content-length": 8 } });
    client.on("error", () => {});
    client.write("part");
    await expect.poll(() => body !== undefined).toBe(true);
    await body!.cancel(new Error("not needed"));
    client.end("rest");
    // What came after the cancel is read and dropped: the message completes instead of being cut.
    await expect.poll(() => incoming.complete).toBe(true);
    expect(incoming.socket.destroyed).toBe(false); // the connection is still there for the answer
  });
});
