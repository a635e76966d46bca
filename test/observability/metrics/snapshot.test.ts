import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../../../src/observability/metrics/index.ts";

describe("MetricsRegistry.snapshot", () => {
  it("returns every family's name, type and series with labels and values, histograms cumulative with +Inf", () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: "app_hits_total", help: "Hits.", labelNames: ["route"] }).inc({ route: "/" }, 3);
    registry.gauge({ name: "app_depth", help: "Depth.", collect: (g) => g.set(undefined, 7) });
    const latency = registry.histogram({ name: "app_latency_seconds", help: "Latency.", labelNames: ["route"], buckets: [0.1, 1] });
    latency.observe({ route: "/" }, 0.05);
    latency.observe({ route: "/" }, 0.5);
    latency.observe({ route: "/" }, 5);

    const families = registry.snapshot();
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ["app_hits_total", "counter"],
      ["app_depth", "gauge"],
      ["app_latency_seconds", "histogram"],
      ["hearth_metrics_series_dropped_total", "counter"],
    ]);
    expect(families[0]!.series).toEqual([{ labels: { route: "/" }, value: 3 }]);
    expect(families[1]!.series).toEqual([{ labels: {}, value: 7 }]);
    expect(families[2]!.series).toEqual([
      { labels: { route: "/" }, buckets: [{ le: 0.1, count: 1 }, { le: 1, count: 2 }, { le: Infinity, count: 3 }], sum: 5.55, count: 3 },
    ]);
  });

  it("refills callback gauges but does not run beforeScrape hooks (they may reset what the next scrape reports)", () => {
    const registry = new MetricsRegistry();
    let hooks = 0;
    let reads = 0;
    registry.beforeScrape(() => hooks++);
    registry.gauge({ name: "app_reads", help: "Reads.", collect: (g) => g.set(undefined, ++reads) });
    expect(registry.snapshot()[0]!.series).toEqual([{ labels: {}, value: 1 }]);
    expect(registry.snapshot()[0]!.series).toEqual([{ labels: {}, value: 2 }]);
    expect(hooks).toBe(0);
    registry.expose();
    expect(hooks).toBe(1);
  });

  it("is a copy: later observations do not change a snapshot already taken", () => {
    const registry = new MetricsRegistry();
    const hits = registry.counter({ name: "app_hits_total", help: "Hits." });
    hits.inc();
    const before = registry.snapshot();
    hits.inc();
    expect(before[0]!.series[0]).toEqual({ labels: {}, value: 1 });
    expect(registry.snapshot()[0]!.series[0]).toEqual({ labels: {}, value: 2 });
  });
});
