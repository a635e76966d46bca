import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ALERT_LIMITS, AlertEngine, histogramQuantile } from "../../../src/observability/alerts/index.ts";
import { WindowReadings } from "../../../src/observability/alerts/window-readings.ts";
import { MetricsRegistry } from "../../../src/observability/metrics/index.ts";
import type { MetricSnapshot } from "../../../src/observability/metrics/registry.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, tempDir } from "./helpers.ts";

describe("metric rules", () => {
  let dir: ReturnType<typeof tempDir>;
  let clock: VirtualClock;
  let registry: MetricsRegistry;
  let alerts: AlertEngine;

  beforeEach(() => {
    dir = tempDir();
    clock = new VirtualClock({ start: START });
    registry = new MetricsRegistry();
    alerts = new AlertEngine({ path: join(dir.path, "alerts.sqlite"), metrics: registry, clock });
  });

  afterEach(() => {
    alerts.close();
    clock.dispose();
    dir.remove();
  });

  const tick = async (by = "15s"): Promise<void> => {
    await clock.advance(by);
    alerts.evaluate();
  };
  const rule = (id: string) => alerts.status().find((s) => s.id === id)!;

  it("computes a counter's rate over the window, summed by label, and resolves when the increase stops", async () => {
    const requests = registry.counter({ name: "app_requests_total", help: "Requests.", labelNames: ["class", "status"] });
    alerts.addRule({
      kind: "metric", id: "errors", name: "Errors", metric: "app_requests_total", matchers: { status: { op: "=~", value: "5.." } },
      measure: "rate", window: "1m", by: ["class"], threshold: 1, severity: "critical",
    });
    expect(rule("errors").expr).toBe('sum by (class) (rate(app_requests_total{status=~"5.."}[1m])) > 1');
    requests.inc({ class: "Chat", status: 500 }, 0);
    await tick();
    expect(rule("errors")).toMatchObject({ health: "no data", healthDetail: "waiting for a second sample in the window" });
    for (let i = 0; i < 4; i++) {
      requests.inc({ class: "Chat", status: 500 }, 15); // 1/s
      requests.inc({ class: "Chat", status: 503 }, 15); // and 1/s more, summed by class
      requests.inc({ class: "Chat", status: 200 }, 1000); // not matched
      await tick();
    }
    expect(rule("errors")).toMatchObject({ state: "firing", value: 2, health: "ok" });
    expect(rule("errors").instances[0]!.labels).toEqual({ class: "Chat" });
    await tick(); // 15 s without errors: 90 in the last minute
    expect(rule("errors")).toMatchObject({ state: "firing", value: 1.5 });
    await tick(); // 60 in the last minute: 1/s is not above 1
    expect(rule("errors").state).toBe("inactive");
  });

  it("increase over the window counts across a counter reset (a restart)", async () => {
    let total = 10;
    const source = { snapshot: (): MetricSnapshot[] => [{ name: "app_jobs_total", help: "Jobs.", type: "counter", series: [{ labels: {}, value: total }] }] };
    const other = new AlertEngine({ path: join(dir.path, "other.sqlite"), metrics: source, clock });
    other.addRule({ kind: "metric", id: "jobs", name: "Jobs", metric: "app_jobs_total", measure: "increase", window: "5m", op: ">=", threshold: 12, severity: "info" });
    expect(other.status()[0]!.expr).toBe("increase(app_jobs_total[5m]) >= 12");
    other.evaluate();
    const step = async (value: number): Promise<void> => {
      await clock.advance("15s");
      total = value;
      other.evaluate();
    };
    await step(15);
    expect(other.status()[0]).toMatchObject({ state: "inactive", health: "ok" });
    await step(4); // restarted: 4 since the restart
    await step(7);
    expect(other.status()[0]).toMatchObject({ state: "firing", value: 12 });
    other.close();
  });

  it("keeps a bounded number of readings for a day-long window, and its rate stays exact across a counter reset", async () => {
    let total = 0;
    const source = { snapshot: (): MetricSnapshot[] => [{ name: "app_jobs_total", help: "Jobs.", type: "counter", series: [{ labels: {}, value: total }] }] };
    const other = new AlertEngine({ path: join(dir.path, "other.sqlite"), metrics: source, clock });
    other.addRule({ kind: "metric", id: "daily", name: "Daily", metric: "app_jobs_total", measure: "rate", window: "1d", threshold: 0, severity: "info" });
    other.evaluate();
    for (let i = 1; i <= 2 * 5760; i++) {
      await clock.advance("15s");
      total = i === 7000 ? 1 : total + 1; // one job per evaluation; the process restarted once
      other.evaluate();
    }
    expect(other.status()[0]!.value).toBeCloseTo(1 / 15, 12);
    other.close();

    // What the engine keeps per series: readings at least window / readingsPerWindow apart, plus the base and the newest.
    const windows = new WindowReadings();
    const bounds = [0.1, 1, Infinity];
    let grown: ReturnType<WindowReadings["add"]>;
    for (let i = 1; i <= 3 * 5760; i++) {
      grown = windows.add("p99", i * 15_000, [i, 2 * i, 3 * i], 86_400_000, bounds);
      expect(windows.size("p99")).toBeLessThanOrEqual(ALERT_LIMITS.readingsPerWindow + 2);
    }
    // The base is at most window / readingsPerWindow (6 min) before the window's start.
    expect(grown!.since).toBeGreaterThan(3 * 5760 * 15_000 - 86_400_000 - 360_000);
    expect(grown!.increase).toEqual([1, 2, 3].map((n) => (n * (3 * 5760 * 15_000 - grown!.since)) / 15_000));
  });

  it("takes a histogram quantile over the window, and the value of a gauge with label matchers", async () => {
    const latency = registry.histogram({ name: "app_latency_seconds", help: "Latency.", labelNames: ["route"], buckets: [0.1, 0.5, 1, 5] });
    const live = registry.gauge({ name: "app_live", help: "Live.", labelNames: ["class"] });
    alerts.addRule({ kind: "metric", id: "p95", name: "Slow", metric: "app_latency_seconds", measure: "quantile", quantile: 0.95, window: "1m", by: [], threshold: 0.5, severity: "warning", summary: "p95 {{value}} s" });
    alerts.addRule({ kind: "metric", id: "live", name: "Few live", metric: "app_live", matchers: { class: { op: "!=", value: "Idle" } }, op: "<", threshold: 1, severity: "info" });
    expect(rule("p95").expr).toBe("histogram_quantile(0.95, sum by (le) (rate(app_latency_seconds_bucket[1m]))) > 0.5");
    for (let i = 0; i < 100; i++) latency.observe({ route: "/a" }, 0.05); // before the window: fast
    live.set({ class: "Chat" }, 0);
    live.set({ class: "Idle" }, 0);
    await tick();
    expect(rule("p95")).toMatchObject({ health: "no data", healthDetail: "waiting for a second sample in the window" });
    for (let i = 0; i < 100; i++) latency.observe({ route: i % 2 ? "/a" : "/b" }, 2); // in the window: slow
    await tick();
    expect(rule("p95").value).toBeCloseTo(4.8);
    expect(rule("p95").state).toBe("firing");
    expect(rule("live").instances.map((i) => i.labels)).toEqual([{ class: "Chat" }]);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 2 }, { le: 1, count: 4 }, { le: Infinity, count: 4 }])).toBe(0.1);
    expect(histogramQuantile(0.99, [{ le: 1, count: 0 }, { le: Infinity, count: 5 }])).toBe(1);
    expect(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }])).toBeUndefined();
  });

  it("reports a metric that is not registered, or that no series match, as no data, and fires once it appears", async () => {
    alerts.addRule({ kind: "metric", id: "later", name: "Later", metric: "app_later", threshold: 0, severity: "info" });
    await tick();
    expect(rule("later")).toMatchObject({ health: "no data", healthDetail: "metric app_later is not registered", state: "inactive" });
    const later = registry.gauge({ name: "app_later", help: "Later.", labelNames: ["k"] });
    await tick();
    expect(rule("later")).toMatchObject({ health: "no data", healthDetail: "no series of app_later match" });
    later.set({ k: "v" }, 1);
    await tick();
    expect(rule("later")).toMatchObject({ health: "ok", healthDetail: null, state: "firing", value: 1 });
  });

  it("refuses a measure that does not fit a registered metric, and reports one that stops fitting", async () => {
    registry.gauge({ name: "app_depth", help: "Depth." });
    expect(() => alerts.addRule({ kind: "metric", name: "Rate of gauge", metric: "app_depth", measure: "rate", window: "1m", threshold: 1, severity: "info" })).toThrow(
      'rule.measure measure "rate" needs a counter, but app_depth is a gauge',
    );
    alerts.addRule({ kind: "metric", id: "q", name: "Q", metric: "app_other", measure: "quantile", quantile: 0.5, threshold: 1, severity: "info" });
    registry.counter({ name: "app_other", help: "Other." });
    await tick();
    expect(rule("q")).toMatchObject({ health: "error", healthDetail: 'measure "quantile" needs a histogram, but app_other is a counter' });
  });

  it("evaluates on its interval once started, and a disabled rule is not evaluated", async () => {
    const depth = registry.gauge({ name: "app_depth", help: "Depth." });
    depth.set(undefined, 5);
    alerts.addRule({ kind: "metric", id: "on", name: "On", metric: "app_depth", threshold: 1, severity: "info" });
    alerts.addRule({ kind: "metric", id: "off", name: "Off", metric: "app_depth", threshold: 1, severity: "info", enabled: false });
    alerts.start();
    await clock.advance("14s");
    expect(rule("on").state).toBe("inactive");
    await clock.advance("1s");
    expect(rule("on").state).toBe("firing");
    expect(rule("off")).toMatchObject({ state: "inactive", health: "no data", healthDetail: "disabled" });
    alerts.stop();
    depth.set(undefined, 0);
    await clock.advance("1m");
    expect(rule("on").state).toBe("firing");
  });
});
