import { createServer } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine, type AlertEngineOptions } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, waitFor, type Receiver } from "./helpers.ts";

/** A loopback port nothing listens on: taken, then freed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("webhook delivery", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let registry: MetricsRegistry;
  let alerts: AlertEngine;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    registry = new MetricsRegistry();
    registry.gauge({ name: "app_up", help: "Up.", collect: (g) => g.set(undefined, 1) });
  });

  afterEach(async () => {
    alerts.close();
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  const open = (delivery: AlertEngineOptions["delivery"] = {}): AlertEngine =>
    (alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), metrics: registry, clock, delivery }));
  const failures = (): Array<string | null> => alerts.history({ limit: 500 }).items.filter((i) => i.state !== "firing").map((i) => `${i.state} ${i.detail}`).reverse();

  it("retries a failed delivery with doubling backoff, timed by the clock, and records every attempt", async () => {
    open({ retries: 3, backoffMs: 1000 });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
    receiver.answer(500, 503);
    alerts.evaluate(); // must not throw, whatever the delivery does
    await waitFor(() => receiver.received.length === 1, "the first attempt");
    await waitFor(() => failures().length === 1, "the first failure recorded");
    await clock.advance("999ms");
    expect(receiver.received).toHaveLength(1);
    await clock.advance("1ms"); // 1 s: second attempt
    await waitFor(() => receiver.received.length === 2, "the second attempt");
    await waitFor(() => failures().length === 2, "the second failure recorded");
    await clock.advance("2s"); // then 2 s: third attempt, answered 200
    await alerts.idle();
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "firing", "firing"]);
    expect(failures()).toEqual([
      "delivery_failed hook: firing, HTTP 500: nope (attempt 1, will retry)",
      "delivery_failed hook: firing, HTTP 503: nope (attempt 2, will retry)",
      "delivered hook: firing, HTTP 200",
    ]);
  });

  it("gives up after the retries, and at once on a 4xx other than 408 and 429", async () => {
    open({ retries: 1, backoffMs: 1000 });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info", repeatInterval: "1m" });
    receiver.answer(500, 500);
    alerts.evaluate();
    await waitFor(() => failures().length === 1, "the first failure");
    await clock.advance("1s");
    await alerts.idle();
    expect(failures()).toEqual([
      "delivery_failed hook: firing, HTTP 500: nope (attempt 1, will retry)",
      "delivery_failed hook: firing, HTTP 500: nope (attempt 2, giving up)",
    ]);
    receiver.answer(400);
    await clock.advance("59s");
    alerts.evaluate(); // the repeat
    await alerts.idle();
    expect(failures().slice(2)).toEqual(["repeat null", "delivery_failed hook: firing, HTTP 400: nope (attempt 1, giving up)"]);
    expect(receiver.received).toHaveLength(3);
  });

  it("does not follow nor retry a redirect, and says where it pointed", async () => {
    open({ retries: 3, backoffMs: 1000 });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url, headers: { authorization: "Bearer s3" } });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
    receiver.answer(302);
    alerts.evaluate();
    await alerts.idle();
    expect(receiver.received).toHaveLength(1);
    expect(failures()).toEqual([
      "delivery_failed hook: firing, HTTP 302: redirects are not followed (Location: https://elsewhere.example/hook); give the contact point its final URL (attempt 1, giving up)",
    ]);
  });

  it("records an unreachable receiver as a failure, never throwing into the evaluator", async () => {
    open({ retries: 0 });
    alerts.addContactPoint({ name: "gone", kind: "slack", url: `http://127.0.0.1:${await closedPort()}/x` });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
    expect(() => alerts.evaluate()).not.toThrow();
    await alerts.idle();
    expect(failures()).toEqual([expect.stringMatching(/^delivery_failed gone: firing, .*ECONNREFUSED.* \(attempt 1, giving up\)$/)]);
    expect(alerts.status()[0]!.state).toBe("firing");
  });

  it("drops notifications past the queue size and records them", async () => {
    open({ queueSize: 1 });
    alerts.addContactPoint({ name: "a", kind: "webhook", url: `${receiver.url}/a` });
    alerts.addContactPoint({ name: "b", kind: "webhook", url: `${receiver.url}/b` });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
    alerts.evaluate();
    await alerts.idle();
    expect(receiver.received.map((r) => r.path)).toEqual(["/a"]);
    expect(failures()).toEqual(["dropped b: firing, delivery queue full (1 deliveries waiting)", "delivered a: firing, HTTP 200"]);
  });

  it("times out a receiver that does not answer", async () => {
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      open({ retries: 0, timeoutMs: 200 });
      alerts.addContactPoint({ name: "slow", kind: "webhook", url: `http://127.0.0.1:${port}/` });
      alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
      alerts.evaluate();
      await alerts.idle();
      expect(failures()).toEqual(["delivery_failed slow: firing, no answer within 200 ms (attempt 1, giving up)"]);
    } finally {
      silent.close();
    }
  });

  it("close() drops retries not yet made", async () => {
    open({ retries: 3, backoffMs: 60_000 });
    alerts.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    alerts.addRule({ kind: "metric", id: "up", name: "Up", metric: "app_up", threshold: 0, severity: "info" });
    receiver.answer(500);
    alerts.evaluate();
    await waitFor(() => failures().length === 1, "the first failure");
    const idle = alerts.idle();
    alerts.close();
    await idle;
    expect(clock.pendingTimers).toBe(0);
  });
});
