import { afterEach, describe, expect, it } from "vitest";
import { LIMITS, type WorkerFetch } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { parseResponses, rawExchange, rawRequest } from "./raw-http.ts";

const worker: WorkerFetch = (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/cookie") return Response.json({ cookie: request.headers.get("cookie")?.length ?? 0 });
  return new Response("fine");
};

let harness: Harness;
afterEach(() => harness.close());

describe("HTTP connections", () => {
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
