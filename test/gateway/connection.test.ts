import { afterEach, describe, expect, it } from "vitest";
import { LIMITS, type WorkerFetch } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { parseResponses, rawExchange, rawRequest } from "./raw-http.ts";

/** Whether the endless stream was cancelled (its reader went away). */
let endlessCancelled = false;

const worker: WorkerFetch = (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/endless") {
    // A chunk whenever asked, for ever: only a cancel stops it.
    const chunk = new Uint8Array(16 * 1024);
    return new Response(new ReadableStream({ pull: (controller) => controller.enqueue(chunk), cancel: () => void (endlessCancelled = true) }));
  }
  if (path === "/cookie") return Response.json({ cookie: request.headers.get("cookie")?.length ?? 0 });
  return new Response("fine");
};

let harness: Harness;
afterEach(() => harness.close());

describe("HTTP connections", () => {
  it("answers HEAD with the head only: an endless body is cancelled, and the next request on the connection is answered", async () => {
    harness = await startHarness({}, { fetch: worker });
    endlessCancelled = false;
    const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const bytes = await rawExchange(harness.server.port, head("/endless") + head("/fine") + "GET /fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const [endless, fine, get] = parseResponses(bytes, [0, 1]);
    expect(endless!.status).toBe(200);
    expect(fine!.lines).toContainEqual(["content-length", "4"]); // a whole body's length, as GET would send it
    expect(get!.body.toString()).toBe("fine");
    await expect.poll(() => endlessCancelled).toBe(true);
  });

  it("reads request headers up to 128 KiB, as Cloudflare: a 20 KB cookie is fine", async () => {
    harness = await startHarness({}, { fetch: worker });
    expect(LIMITS.maxRequestHeaderBytes).toBe(128 * 1024);
    const cookie = `session=${"c".repeat(20_000)}`;
    const answer = await rawRequest("127.0.0.1", harness.server.port, "/cookie", [["Host", "x"], ["Cookie", cookie]]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ cookie: cookie.length });
    const tooMuch = await rawRequest("127.0.0.1", harness.server.port, "/cookie", [["Host", "x"], ["Cookie", "c".repeat(130 * 1024)]]);
    expect(tooMuch.status).toBe(431);
  });

  it("keeps an idle connection longer than a proxy in front keeps its own (nginx: 60 s), and says so", async () => {
    harness = await startHarness({}, { fetch: worker });
    expect(LIMITS.keepAliveTimeoutMs).toBeGreaterThan(60_000);
    expect(LIMITS.headersTimeoutMs).toBeGreaterThan(LIMITS.keepAliveTimeoutMs);
    const bytes = await rawExchange(harness.server.port, "GET /fine HTTP/1.1\r\nHost: x\r\n\r\n", (received) => received.toString().endsWith("fine"));
    const [response] = parseResponses(bytes);
    expect(response!.lines).toContainEqual(["keep-alive", `timeout=${LIMITS.keepAliveTimeoutMs / 1000}`]);
  });
});
