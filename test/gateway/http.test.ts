import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

let release: (() => void) | undefined;
let aborted = false;
let reached = false;

class Feed extends Agent {
  onRequest(request: Request) {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/plain")) return Response.json({ ok: true, name: this.name });
    if (path.endsWith("/echo")) return request.text().then((body) => new Response(`got ${body.length} bytes`));
    if (path.endsWith("/headers")) {
      const headers = new Headers({ "x-seen": request.headers.get("x-in") ?? "", "content-length": "2" });
      headers.append("set-cookie", "a=1; Path=/");
      headers.append("set-cookie", "b=2; HttpOnly");
      headers.append("x-many", "one");
      headers.append("x-many", "two");
      return new Response("ok", { status: 201, statusText: "Made", headers });
    }
    if (path.endsWith("/signal")) {
      reached = true;
      return new Promise<Response>((resolve) => {
        request.signal.addEventListener("abort", () => {
          aborted = true;
          resolve(new Response("gone"));
        });
      });
    }
    if (path.endsWith("/quiet")) {
      // A stream with nothing to say yet (an SSE stream before its first event).
      const quiet = new ReadableStream<Uint8Array>({
        async start(controller) {
          await new Promise<void>((resolve) => (release = resolve));
          controller.enqueue(new TextEncoder().encode("data: late\n\n"));
          controller.close();
        },
      });
      return new Response(quiet, { headers: { "content-type": "text/event-stream" } });
    }
    const encoder = new TextEncoder();
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("data: first\n\n"));
        await gate; // the second event is only produced after the client saw the first
        controller.enqueue(encoder.encode("data: second\n\n"));
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }
}

let harness: Harness;
afterEach(() => harness.close());

describe("HTTP responses", () => {
  it("sends complete bodies with a content-length and reads request bodies", async () => {
    harness = await startHarness({ Feed });
    const res = await fetch(`${harness.url}/agents/feed/a/plain`);
    expect(res.headers.get("content-length")).toBe(String(JSON.stringify({ ok: true, name: "a" }).length));
    expect(await res.json()).toEqual({ ok: true, name: "a" });
    const echo = await fetch(`${harness.url}/agents/feed/a/echo`, { method: "POST", body: "x".repeat(100_000) });
    expect(await echo.text()).toBe("got 100000 bytes");
  });

  it("streams a body chunk by chunk as it is produced", async () => {
    harness = await startHarness({ Feed });
    const res = await fetch(`${harness.url}/agents/feed/a/events`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("first")) text += decoder.decode((await reader.read()).value);
    expect(text).toBe("data: first\n\n");
    release!();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toBe("data: first\n\ndata: second\n\n");
  });
});

describe("response heads", () => {
  it("keep every Set-Cookie apart, the status text, joined repeated headers and the worker's own content-length", async () => {
    harness = await startHarness({ Feed });
    const res = await fetch(`${harness.url}/agents/feed/a/headers`, { headers: { "x-in": "hello" } });
    expect(res.status).toBe(201);
    expect(res.statusText).toBe("Made");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(res.headers.get("x-many")).toBe("one, two");
    expect(res.headers.get("x-seen")).toBe("hello");
    expect(res.headers.get("content-length")).toBe("2");
    expect(await res.text()).toBe("ok");
  });
});

describe("a client that goes away", () => {
  it("aborts the request's signal while the agent still works on it", async () => {
    harness = await startHarness({ Feed });
    aborted = false;
    reached = false;
    const controller = new AbortController();
    const pending = fetch(`${harness.url}/agents/feed/a/signal`, { signal: controller.signal }).catch(() => undefined);
    await expect.poll(() => reached).toBe(true);
    controller.abort();
    await pending;
    await expect.poll(() => aborted).toBe(true);
  });
});

describe("streams that have not produced anything yet", () => {
  it("send their status and headers at once, before the first chunk", async () => {
    harness = await startHarness({ Feed });
    // fetch() resolves when the headers arrive; the body's first chunk only comes after that.
    const res = await fetch(`${harness.url}/agents/feed/a/quiet`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    release!();
    expect(await res.text()).toBe("data: late\n\n");
  });
});

describe("requests fetch cannot represent", () => {
  it("answers TRACE and `OPTIONS *` with an error and keeps serving", async () => {
    harness = await startHarness({ Feed });
    const { connect } = await import("node:net");
    const raw = (line: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(harness.server.port, "127.0.0.1", () => socket.write(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`));
        let data = "";
        socket.on("data", (chunk) => (data += chunk.toString()));
        socket.on("end", () => resolve(data));
        socket.on("error", reject);
      });
    expect(await raw("TRACE / HTTP/1.1")).toMatch(/^HTTP\/1.1 405/);
    expect(await raw("OPTIONS * HTTP/1.1")).toMatch(/^HTTP\/1.1 400/);
    expect((await fetch(`${harness.url}/agents/feed/a/plain`)).status).toBe(200);
  });
});

describe("serve()'s ctx", () => {
  it("is one per request: ctx.props set for one request is not seen by another", async () => {
    harness = await startHarness({ Feed }, {
      fetch: async (request, _env, ctx) => {
        const url = new URL(request.url);
        const user = url.searchParams.get("user");
        if (user) (ctx as { props?: Record<string, unknown> }).props = { user };
        await new Promise((resolve) => setTimeout(resolve, Number(url.searchParams.get("wait") ?? 0)));
        return Response.json({ asked: user, sees: (ctx as { props?: { user?: string } }).props?.user ?? null });
      },
    });
    const slow = fetch(`${harness.url}/?user=alice&wait=200`).then((r) => r.json());
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await (await fetch(`${harness.url}/?user=bob`)).json()).toEqual({ asked: "bob", sees: "bob" });
    expect(await slow).toEqual({ asked: "alice", sees: "alice" });
    expect(await (await fetch(`${harness.url}/`)).json()).toEqual({ asked: null, sees: null });
  });
});
