/**
 * The notifications of one alert to one contact point arrive in order: a newer one ("resolved")
 * supersedes the older one's waiting retries ("firing" after a 503), and waits for a request of the
 * older one already on its way. A late retry never leaves the alert open at the receiver.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AlertEngine } from "../../../src/observability/alerts/index.ts";
import { MetricsRegistry, type Gauge } from "../../../src/observability/metrics/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, startReceiver, tempDir, waitFor, type Receiver } from "./helpers.ts";

describe("delivery order per alert and contact point", () => {
  let dir: ReturnType<typeof tempDir>;
  let receiver: Receiver;
  let clock: VirtualClock;
  let registry: MetricsRegistry;
  let depth: Gauge;
  let alerts: AlertEngine | undefined;

  beforeEach(async () => {
    dir = tempDir();
    receiver = await startReceiver();
    clock = new VirtualClock({ start: START });
    registry = new MetricsRegistry();
    depth = registry.gauge({ name: "app_depth", help: "Depth." });
  });

  afterEach(async () => {
    alerts?.close();
    alerts = undefined;
    clock.dispose();
    await receiver.close();
    dir.remove();
  });

  const open = (): AlertEngine => {
    const engine = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), metrics: registry, clock, delivery: { retries: 3, backoffMs: 2_500 } });
    engine.addRule({ kind: "metric", id: "deep", name: "Deep", metric: "app_depth", threshold: 100, severity: "critical" });
    return (alerts = engine);
  };
  const deliveries = (engine: AlertEngine): string[] =>
    engine
      .history({ limit: 500 })
      .items.filter((item) => item.state !== "firing" && item.state !== "resolved")
      .map((item) => `${item.state} ${item.detail}`)
      .reverse();

  it("a newer notification drops the older one's waiting retry: resolved stays the last word", async () => {
    const engine = open();
    engine.addContactPoint({ name: "hook", kind: "webhook", url: receiver.url });
    receiver.answer(503);
    depth.set(undefined, 500);
    engine.evaluate(); // firing: 503, a retry waits 2.5 s on the clock
    await waitFor(() => deliveries(engine).length === 1, "the failed firing");
    depth.set(undefined, 0);
    engine.evaluate(); // resolved
    await waitFor(() => receiver.received.length === 2, "the resolved notification");
    await clock.advance("10s"); // past every retry the firing had
    await engine.idle();
    expect(receiver.received.map((r) => r.body.status)).toEqual(["firing", "resolved"]);
    expect(deliveries(engine)).toEqual([
      "delivery_failed hook: firing, HTTP 503: nope (attempt 1, will retry)",
      "dropped hook: firing, superseded by a newer notification of the same alert",
      "delivered hook: resolved, HTTP 200",
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("a newer notification waits for the older one's request in flight, and is not retried over by it", async () => {
    const statuses: string[] = [];
    let releaseFirst: (() => void) | undefined;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        const { status } = JSON.parse(body) as { status: string };
        statuses.push(status);
        // The first request (firing) is held, then fails: it would be retried were nothing newer waiting.
        if (statuses.length === 1) releaseFirst = () => res.writeHead(503).end("busy");
        else res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const engine = open();
      engine.addContactPoint({ name: "slow", kind: "webhook", url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` });
      depth.set(undefined, 500);
      engine.evaluate();
      await waitFor(() => releaseFirst !== undefined, "the firing request");
      depth.set(undefined, 0);
      engine.evaluate(); // resolved, while firing is still unanswered
      // Let the event loop turn: the resolved notification must not overtake the firing request.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(statuses).toEqual(["firing"]);
      releaseFirst!();
      await waitFor(() => statuses.length === 2, "the resolved notification");
      await clock.advance("10s");
      await engine.idle();
      expect(statuses).toEqual(["firing", "resolved"]);
      expect(deliveries(engine)).toEqual(["delivery_failed slow: firing, HTTP 503: busy (attempt 1, giving up)", "delivered slow: resolved, HTTP 200"]);
    } finally {
      alerts?.close();
      alerts = undefined;
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
