import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  concurrency,
  guardRequests,
  QueueFullError,
  rateLimit,
  RateLimitedError,
  singleton,
  SingletonSkippedError,
  ThrottledError,
  toResponse,
} from "../../src/flow-control/index.ts";
import { Agent } from "../../src/index.ts";
import { openRateLimitStore, RateLimiter } from "../../src/ratelimit/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { deferred, START, tempDir, virtualClock } from "./setup.ts";

const userOf = (request: Request) => request.headers.get("x-user") ?? "anonymous";

/** Rate limited per user through the `API_LIMITER` binding (2 per 10 s window). */
class BindingApi extends Agent<{ API_LIMITER: RateLimiter }> {
  readonly #guard = guardRequests(rateLimit({ limiter: this.env.API_LIMITER, periodSeconds: 10, key: userOf }));
  onRequest(request: Request) {
    return this.#guard(request, (request) => Response.json({ hello: userOf(request) }));
  }
}

/** Rate limited per user by a counter in the agent's own SQLite (2 per minute). */
class CounterApi extends Agent {
  readonly #guard = guardRequests(rateLimit({ limit: 2, periodMs: 60_000, key: userOf }));
  onRequest(request: Request) {
    return this.#guard(request, () => new Response("ok"));
  }
}

/** One report per user at a time: a second request while one runs is answered 409. */
const reportEntered = deferred();
const reportGate = deferred();
class ReportApi extends Agent {
  readonly #guard = guardRequests(singleton({ mode: "skip", key: userOf }));
  onRequest(request: Request) {
    return this.#guard(request, async () => {
      reportEntered.resolve();
      await reportGate.promise;
      return new Response("report");
    });
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("toResponse", () => {
  it("answers 429 with Retry-After in whole seconds rounded up, and a JSON body", async () => {
    const response = toResponse(new RateLimitedError("alice", 1001));
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await response.json()).toEqual({
      error: "rate_limited",
      message: 'Rate limit reached for key "alice"; retry after 2 s',
      retryAfterSeconds: 2,
    });
    expect(toResponse(new ThrottledError("k", 61_000, 60_000)).headers.get("retry-after")).toBe("1");
  });

  it("leaves out Retry-After when the control cannot know it, and answers a singleton with 409", async () => {
    const full = toResponse(new QueueFullError("concurrency", "k", 10));
    expect(full.status).toBe(429);
    expect(full.headers.has("retry-after")).toBe(false);
    expect(await full.json()).toEqual({ error: "queue_full", message: 'concurrency: the queue of key "k" is full (maxQueue 10)' });
    const skipped = toResponse(new SingletonSkippedError("k"));
    expect(skipped.status).toBe(409);
    expect((await skipped.json()).error).toBe("singleton_skipped");
  });

  it("guardRequests passes other errors and the handler's own answers through", async () => {
    const guard = guardRequests(concurrency({ limit: 1 }));
    const request = new Request("http://x/");
    expect((await guard(request, () => new Response("teapot", { status: 418 }))).status).toBe(418);
    await expect(guard(request, () => Promise.reject(new Error("handler broke")))).rejects.toThrow("handler broke");
  });
});

describe("an agent's onRequest rate limited per user, over real HTTP", () => {
  it("answers 429 with Retry-After through the binding, and admits again when the window is over", async () => {
    const clock = virtualClock(START + 4_000); // 4 s into a 10 s window
    const store = openRateLimitStore(join(tempDir(), "ratelimit.sqlite"), { clock });
    const API_LIMITER = new RateLimiter(store, { namespaceId: "1001", limit: 2, period: 10 });
    harness = await startHarness({ BindingApi }, { clock, bindings: { API_LIMITER } });
    const get = (user: string) => fetch(`${harness!.url}/agents/binding-api/main`, { headers: { "x-user": user } });

    expect((await get("alice")).status).toBe(200);
    expect(await (await get("alice")).json()).toEqual({ hello: "alice" });
    const refused = await get("alice");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("6");
    expect(await refused.json()).toEqual({
      error: "rate_limited",
      message: 'Rate limit reached for key "alice"; retry after 6 s',
      retryAfterSeconds: 6,
    });
    expect((await get("bob")).status).toBe(200);

    await clock.advance(5_999);
    expect((await get("alice")).status).toBe(429);
    await clock.advance(1);
    expect((await get("alice")).status).toBe(200);
  });

  it("keeps a counter in the agent's SQLite across a restart of the host, and admits again after the period", async () => {
    const clock = virtualClock();
    const dataDir = tempDir();
    harness = await startHarness({ CounterApi }, { clock, dataDir });
    const get = (user: string) => fetch(`${harness!.url}/agents/counter-api/main`, { headers: { "x-user": user } });
    expect([(await get("alice")).status, (await get("alice")).status]).toEqual([200, 200]);
    const refused = await get("alice");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("30");

    await harness.close();
    harness = await startHarness({ CounterApi }, { clock, dataDir });
    expect((await get("alice")).status).toBe(429);
    expect((await get("bob")).status).toBe(200);

    await clock.advance(30_000);
    expect((await get("alice")).status).toBe(200);
    expect((await get("alice")).status).toBe(429);
    await clock.advance("1 minute");
    expect([(await get("alice")).status, (await get("alice")).status, (await get("alice")).status]).toEqual([200, 200, 429]);
  });

  it("refuses a second request of a user while the first runs in the same agent (singleton, 409)", async () => {
    harness = await startHarness({ ReportApi });
    const get = (user: string) => fetch(`${harness!.url}/agents/report-api/main`, { headers: { "x-user": user } });
    const first = get("alice");
    await reportEntered.promise;
    const second = await get("alice");
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: "singleton_skipped" });
    reportGate.resolve();
    expect(await (await first).text()).toBe("report");
    expect((await get("alice")).status).toBe(200);
  });
});
