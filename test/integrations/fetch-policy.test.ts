import { afterEach, describe, expect, it } from "vitest";
import { OutboundAddressError } from "../../src/integrations/address-guard.ts";
import { CircuitBreakers, CircuitOpenError } from "../../src/integrations/circuit-breaker.ts";
import { createFetch, type FetchPolicyOptions, type PolicyFetch } from "../../src/integrations/fetch-policy.ts";
import { retryAfterMs } from "../../src/web/retry-after.ts";
import { OutboundRedirectError } from "../../src/integrations/guarded-fetch.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { startServer, type TestServer } from "./http-server.ts";

const START = Date.parse("2025-03-01T12:00:00Z");
const servers: TestServer[] = [];
const fetches: PolicyFetch[] = [];
let clock: VirtualClock;
/** Every wait the policy asked for, in ms; the waits themselves take no time. */
let slept: number[];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const f of fetches.splice(0)) await f.close();
  clock?.dispose();
});

function policy(options: FetchPolicyOptions = {}): PolicyFetch {
  clock = new VirtualClock({ start: START });
  slept = [];
  const f = createFetch({
    allowPrivate: true,
    clock,
    sleep: async (ms) => {
      slept.push(ms);
    },
    random: () => 1,
    ...options,
  });
  fetches.push(f);
  return f;
}

async function serve(handler: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

/** Answers the given statuses in turn (then 200), with optional headers per answer. */
function script(steps: Array<number | [number, Record<string, string>]>): Parameters<typeof startServer>[0] {
  let i = 0;
  return (_req, res) => {
    const step = steps[i++] ?? 200;
    const [status, headers] = typeof step === "number" ? [step, {}] : step;
    res.writeHead(status, headers);
    res.end(`answer ${i}`);
  };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("retries", () => {
  it("retry an idempotent request on 503 with exponential backoff, then return the success", async () => {
    const server = await serve(script([503, 502]));
    const f = policy({ retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 } });
    const response = await f(`${server.url}/items`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("answer 3");
    expect(server.received).toHaveLength(3);
    expect(slept).toEqual([100, 200]);
  });

  it("return the last response when every attempt failed", async () => {
    const server = await serve(script([500, 500, 500]));
    const response = await policy()(`${server.url}/`, { method: "DELETE" });
    expect(response.status).toBe(500);
    expect(server.received).toHaveLength(3);
  });

  it("never retry a POST without an Idempotency-Key, and retry one with it (same body each time)", async () => {
    const plain = await serve(script([503]));
    expect((await policy()(`${plain.url}/`, { method: "POST", body: "once" })).status).toBe(503);
    expect(plain.received).toHaveLength(1);
    const keyed = await serve(script([503]));
    const response = await policy()(`${keyed.url}/`, { method: "POST", body: "twice", headers: { "Idempotency-Key": "k1" } });
    expect(response.status).toBe(200);
    expect(keyed.received.map((r) => [r.body, r.headers["idempotency-key"]])).toEqual([
      ["twice", "k1"],
      ["twice", "k1"],
    ]);
  });

  it("do not retry statuses that a retry cannot fix", async () => {
    const server = await serve(script([404]));
    expect((await policy()(`${server.url}/`)).status).toBe(404);
    expect(server.received).toHaveLength(1);
  });

  it("honour Retry-After in seconds and as an HTTP date, and stop when it asks for more than maxRetryAfterMs", async () => {
    const seconds = await serve(script([[429, { "retry-after": "2" }]]));
    expect((await policy()(`${seconds.url}/`)).status).toBe(200);
    expect(slept).toEqual([2000]);

    const date = await serve(script([[503, { "retry-after": new Date(START + 5000).toUTCString() }]]));
    expect((await policy()(`${date.url}/`)).status).toBe(200);
    expect(slept).toEqual([5000]);

    const tooLong = await serve(script([[503, { "retry-after": "3600" }]]));
    const response = await policy({ maxRetryAfterMs: 60_000 })(`${tooLong.url}/`);
    expect(response.status).toBe(503);
    expect(tooLong.received).toHaveLength(1);

    expect(retryAfterMs("soon", START)).toBeUndefined();
    expect(retryAfterMs(new Date(START - 1000).toUTCString(), START)).toBe(0);
  });

  it("retry network errors and throw the last one", async () => {
    const gone = await startServer(() => undefined);
    await gone.close(); // nothing listens on its port any more
    const f = policy();
    await expect(f(`${gone.url}/`)).rejects.toThrow("fetch failed");
    expect(slept).toHaveLength(2);
  });

  it("time an attempt out on the clock, naming the limit", async () => {
    const server = await serve(() => undefined); // never answers
    const f = policy({ timeoutMs: 5000, retry: { maxAttempts: 1 } });
    const pending = f(`${server.url}/slow?key=secret`).catch((error: unknown) => error);
    await until(() => server.received.length === 1);
    await clock.advance(5000);
    const error = (await pending) as DOMException;
    expect(error.name).toBe("TimeoutError");
    expect(error.message).toBe(`Request to ${server.url} timed out after 5000 ms (timeoutMs)`);
  });

  it("stop at once when the caller aborts, without another attempt", async () => {
    const server = await serve(script([503, 503]));
    const controller = new AbortController();
    const f = createFetch({
      allowPrivate: true,
      sleep: async () => controller.abort(new Error("caller gave up")),
    });
    fetches.push(f);
    await expect(f(`${server.url}/`, { signal: controller.signal })).rejects.toThrow("caller gave up");
    expect(server.received).toHaveLength(1);
  });
});

describe("circuit breaker", () => {
  it("opens after consecutive failures, refuses until the cool-down ends, then closes on a good probe", async () => {
    let status = 500;
    const server = await serve((_req, res) => {
      res.statusCode = status;
      res.end();
    });
    const f = policy({ retry: { maxAttempts: 1 }, circuitBreaker: { failureThreshold: 2, coolDownMs: 1000 } });
    const host = `127.0.0.1:${server.port}`;
    await f(`${server.url}/a`);
    expect(f.breakers!.state(host)).toEqual({ state: "closed", failures: 1, lastFailure: "HTTP 500" });
    await f(`${server.url}/b`);
    expect(f.breakers!.state(host)).toMatchObject({ state: "open", failures: 2, openUntil: START + 1000 });

    const error = await f(`${server.url}/c`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).message).toBe(
      `Circuit for ${host} is open after 2 consecutive failures (last: HTTP 500): requests are refused until 2025-03-01T12:00:01.000Z (circuitBreaker.coolDownMs = 1000)`,
    );
    expect(error).toMatchObject({ host, retryAt: START + 1000, failures: 2, code: "CIRCUIT_OPEN" });
    expect(server.received).toHaveLength(2);

    await clock.advance(1000);
    expect(f.breakers!.state(host).state).toBe("half-open");
    status = 200;
    expect((await f(`${server.url}/d`)).status).toBe(200);
    expect(f.breakers!.state(host)).toEqual({ state: "closed", failures: 0 });
  });

  it("lets one probe through when half-open and opens again when it fails", async () => {
    let release: () => void = () => {};
    const server = await serve(async (_req, res) => {
      await new Promise<void>((resolve) => (release = resolve));
      res.statusCode = 503;
      res.end();
    });
    const f = policy({ retry: { maxAttempts: 1 }, circuitBreaker: { failureThreshold: 1, coolDownMs: 500 } });
    const host = `127.0.0.1:${server.port}`;
    const first = f(`${server.url}/`);
    await until(() => server.received.length === 1);
    release();
    expect((await first).status).toBe(503);
    await clock.advance(500);
    const probe = f(`${server.url}/`);
    await until(() => server.received.length === 2);
    await expect(f(`${server.url}/`)).rejects.toThrow(
      `Circuit for ${host} is half-open after 1 consecutive failures (last: HTTP 503): one probe request is in flight, others are refused until it ends`,
    );
    release();
    expect((await probe).status).toBe(503);
    expect(f.breakers!.state(host)).toMatchObject({ state: "open", openUntil: START + 1000 });
  });

  it("can be shared between fetches, reset, or turned off", async () => {
    const server = await serve(script([500, 500]));
    const breakers = new CircuitBreakers({ failureThreshold: 1 });
    const a = policy({ retry: { maxAttempts: 1 }, circuitBreaker: breakers });
    const b = createFetch({ allowPrivate: true, retry: { maxAttempts: 1 }, circuitBreaker: breakers });
    fetches.push(b);
    await a(`${server.url}/`);
    await expect(b(`${server.url}/`)).rejects.toBeInstanceOf(CircuitOpenError);
    breakers.reset();
    expect((await b(`${server.url}/`)).status).toBe(500);
    const off = createFetch({ allowPrivate: true, retry: { maxAttempts: 1 }, circuitBreaker: false });
    fetches.push(off);
    expect(off.breakers).toBeUndefined();
    expect((await off(`${server.url}/`)).status).toBe(200);
  });
});

describe("guard and options", () => {
  it("refuses private addresses by default, without retrying or counting it against the host", async () => {
    const server = await serve(script([]));
    const f = createFetch();
    fetches.push(f);
    await expect(f(`${server.url}/`)).rejects.toBeInstanceOf(OutboundAddressError);
    await expect(f(`${server.url}/`)).rejects.toThrow("127.0.0.1 is a loopback address (127.0.0.0/8); allow it with allowPrivate: true");
    expect(server.received).toHaveLength(0);
    expect(f.breakers!.state(`127.0.0.1:${server.port}`)).toEqual({ state: "closed", failures: 0 });
    const allowed = createFetch({ allowHosts: ["127.0.0.1"] });
    fetches.push(allowed);
    expect((await allowed(`${server.url}/`)).status).toBe(200);
  });

  it("neither retries a refused redirect nor counts it against the host", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { location: "/again" });
      res.end();
    });
    const f = policy({ retry: { maxAttempts: 3 }, circuitBreaker: { failureThreshold: 2 }, maxRedirects: 1 });
    const host = `127.0.0.1:${server.port}`;
    for (let call = 0; call < 2; call++) {
      await expect(f(`${server.url}/hook/secret`, { redirect: "error" })).rejects.toMatchObject({ name: "OutboundRedirectError", code: "OUTBOUND_REDIRECT_REFUSED" });
    }
    expect(server.received).toHaveLength(2); // one request per call
    for (let call = 0; call < 2; call++) {
      const error = await f(`${server.url}/hook/secret?token=t`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutboundRedirectError);
      expect((error as Error).message).toBe(`fetch failed: more than 1 redirects (maxRedirects) from ${server.url}`);
    }
    expect(server.received).toHaveLength(6); // the request and its one redirect, per call
    expect(slept).toEqual([]);
    expect(f.breakers!.state(host)).toEqual({ state: "closed", failures: 0 });
  });

  it("validates its options where they are given", () => {
    expect(() => createFetch({ timeoutMs: 0 })).toThrow("timeoutMs must be a number of milliseconds from 1 to 600000, got 0");
    expect(() => createFetch({ maxRetryAfterMs: -1 })).toThrow("maxRetryAfterMs must be a finite number of milliseconds >= 0, got -1");
    expect(() => createFetch({ retry: { maxAttempts: 0 } })).toThrow("retry.maxAttempts must be >= 1, got 0");
    expect(() => createFetch({ circuitBreaker: { failureThreshold: 0 } })).toThrow("circuitBreaker.failureThreshold must be an integer >= 1, got 0");
    expect(() => createFetch({ circuitBreaker: { coolDownMs: -5 } })).toThrow("circuitBreaker.coolDownMs must be a finite number >= 0, got -5");
    expect(() => createFetch({ circuitBreaker: { maxHosts: 0 } })).toThrow("circuitBreaker.maxHosts must be an integer >= 1, got 0");
    expect(() => createFetch({ maxRedirects: -1 })).toThrow("maxRedirects must be an integer from 0 to 100, got -1");
  });

  it("forgets the least recently used hosts beyond maxHosts", () => {
    const breakers = new CircuitBreakers({ failureThreshold: 1, maxHosts: 2 });
    breakers.admit("a")(false, "x");
    breakers.admit("b")(false, "x");
    expect(() => breakers.admit("a")).toThrow(CircuitOpenError);
    breakers.admit("c")(true);
    expect(breakers.state("a").state).toBe("open");
    expect(breakers.state("b")).toEqual({ state: "closed", failures: 0 });
  });
});
