import { describe, expect, it } from "vitest";
import { MetricsRegistry, pathnameOf } from "../../../src/observability/metrics/index.ts";
import { parsePrometheusText, valueOf } from "./prom-text.ts";

describe("MetricsRegistry exposition", () => {
  it("writes HELP, TYPE and samples of counters and gauges in the text format", () => {
    const registry = new MetricsRegistry();
    const hits = registry.counter({ name: "app_hits_total", help: "Hits.", labelNames: ["route", "status"] });
    hits.inc({ route: "/", status: 200 });
    hits.inc({ route: "/", status: 200 }, 2);
    const depth = registry.gauge({ name: "app_depth", help: "Depth." });
    depth.set(undefined, 5);
    depth.dec();
    expect(registry.expose()).toBe(
      [
        "# HELP app_hits_total Hits.",
        "# TYPE app_hits_total counter",
        'app_hits_total{route="/",status="200"} 3',
        "# HELP app_depth Depth.",
        "# TYPE app_depth gauge",
        "app_depth 4",
        "# HELP hearth_metrics_series_dropped_total Observations dropped because their metric reached its series cap.",
        "# TYPE hearth_metrics_series_dropped_total counter",
        "",
      ].join("\n"),
    );
  });

  it("escapes backslashes, quotes and line feeds in label values, and backslashes and line feeds in HELP", () => {
    const registry = new MetricsRegistry();
    const odd = 'a\\b "quoted"\nnext';
    registry.counter({ name: "app_odd_total", help: 'Help with \\ and "quotes"\nand a second line.', labelNames: ["v"] }).inc({ v: odd });
    const text = registry.expose();
    expect(text).toContain('# HELP app_odd_total Help with \\\\ and "quotes"\\nand a second line.\n');
    expect(text).toContain('app_odd_total{v="a\\\\b \\"quoted\\"\\nnext"} 1\n');
    const families = parsePrometheusText(text);
    expect(families[0]!.help).toBe('Help with \\ and "quotes"\nand a second line.');
    expect(families[0]!.samples[0]!.labels.v).toBe(odd);
  });

  it("writes histograms with cumulative buckets, +Inf, _sum and _count", () => {
    const registry = new MetricsRegistry();
    const latency = registry.histogram({ name: "app_latency_seconds", help: "Latency.", labelNames: ["class"], buckets: [0.1, 1, 10] });
    for (const value of [0.05, 0.1, 0.5, 2, 20, 20]) latency.observe({ class: "Chat" }, value);
    const text = registry.expose();
    expect(text).toContain(
      [
        'app_latency_seconds_bucket{class="Chat",le="0.1"} 2',
        'app_latency_seconds_bucket{class="Chat",le="1"} 3',
        'app_latency_seconds_bucket{class="Chat",le="10"} 4',
        'app_latency_seconds_bucket{class="Chat",le="+Inf"} 6',
        'app_latency_seconds_sum{class="Chat"} 42.65',
        'app_latency_seconds_count{class="Chat"} 6',
      ].join("\n"),
    );
    const families = parsePrometheusText(text);
    const buckets = families[0]!.samples.filter((s) => s.name.endsWith("_bucket")).map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it("writes +Inf, -Inf and NaN gauge values the Prometheus way", () => {
    const registry = new MetricsRegistry();
    const gauge = registry.gauge({ name: "app_edge", help: "Edges.", labelNames: ["k"] });
    gauge.set({ k: "a" }, Infinity);
    gauge.set({ k: "b" }, -Infinity);
    gauge.set({ k: "c" }, NaN);
    const text = registry.expose();
    expect(text).toContain('app_edge{k="a"} +Inf\napp_edge{k="b"} -Inf\napp_edge{k="c"} NaN\n');
    expect(valueOf(parsePrometheusText(text), "app_edge", { k: "b" })).toBe(-Infinity);
  });

  it("refills callback gauges at every scrape and runs beforeScrape hooks first", () => {
    const registry = new MetricsRegistry();
    let live = ["A", "B"];
    let scrapes = 0;
    registry.beforeScrape(() => scrapes++);
    registry.gauge({ name: "app_live", help: "Live.", labelNames: ["class"], collect: (g) => live.forEach((c) => g.set({ class: c }, scrapes)) });
    expect(registry.expose()).toContain('app_live{class="A"} 1\napp_live{class="B"} 1\n');
    live = ["B"];
    const text = registry.expose();
    expect(text).toContain('app_live{class="B"} 2\n');
    expect(text).not.toContain('class="A"');
  });
});

describe("MetricsRegistry refusals", () => {
  const registry = new MetricsRegistry();

  it("refuses invalid metric and label names, reserved and duplicate labels", () => {
    expect(() => registry.counter({ name: "bad-name", help: "x" })).toThrow('Invalid metric name "bad-name": it must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    expect(() => registry.counter({ name: "ok_total", help: "x", labelNames: ["bad-label"] })).toThrow('Invalid label name "bad-label" on ok_total: it must match [a-zA-Z_][a-zA-Z0-9_]*');
    expect(() => registry.counter({ name: "ok_total", help: "x", labelNames: ["__name"] })).toThrow('Invalid label name "__name" on ok_total: names starting with "__" are reserved');
    expect(() => registry.histogram({ name: "ok_seconds", help: "x", labelNames: ["le"] })).toThrow('Invalid label name "le" on ok_seconds: "le" is reserved for this metric type');
    expect(() => registry.gauge({ name: "ok_gauge", help: "x", labelNames: ["a", "a"] })).toThrow('Duplicate label name "a" on ok_gauge');
  });

  it("refuses a second metric of the same name", () => {
    registry.gauge({ name: "twice", help: "x" });
    expect(() => registry.counter({ name: "twice", help: "x" })).toThrow("Metric twice is already registered");
    expect(() => registry.counter({ name: "hearth_metrics_series_dropped_total", help: "x" })).toThrow("Metric hearth_metrics_series_dropped_total is already registered");
  });

  it("refuses observations with the wrong labels, and counters going down", () => {
    const counter = registry.counter({ name: "labelled_total", help: "x", labelNames: ["class"] });
    expect(() => counter.inc({ klass: "A" } as unknown as { class: string })).toThrow("Metric labelled_total takes labels {class}, got {klass}");
    counter.inc({ class: "A" });
    // The series exists: a label too many is still refused, not counted into it.
    expect(() => counter.inc({ class: "A", extra: "x" } as unknown as { class: string })).toThrow("Metric labelled_total takes labels {class}, got {class, extra}");
    const plain = registry.counter({ name: "plain_total", help: "x" });
    expect(() => plain.inc({ class: "A" } as never)).toThrow("Metric plain_total takes labels {}, got {class}");
    expect(() => counter.inc({ class: "A" }, -1)).toThrow("Counter labelled_total can only grow by a finite value >= 0, got -1");
    expect(() => counter.inc({ class: "A" }, Infinity)).toThrow("Counter labelled_total can only grow by a finite value >= 0, got Infinity");
  });

  it("refuses bad histogram buckets and NaN observations", () => {
    expect(() => registry.histogram({ name: "h1", help: "x", buckets: [] })).toThrow("Histogram h1 needs at least one bucket");
    expect(() => registry.histogram({ name: "h2", help: "x", buckets: [1, 1] })).toThrow("Histogram h2: bucket bounds must be strictly increasing, got 1 then 1");
    expect(() => registry.histogram({ name: "h3", help: "x", buckets: [1, Infinity] })).toThrow("Histogram h3: bucket bounds must be finite (+Inf is added), got Infinity");
    const h = registry.histogram({ name: "h4", help: "x" });
    expect(() => h.observe(undefined, NaN)).toThrow("Histogram h4 cannot observe NaN");
  });

  it("refuses a bad series cap", () => {
    expect(() => new MetricsRegistry({ maxSeriesPerMetric: 0 })).toThrow("maxSeriesPerMetric must be a positive integer, got 0");
  });

  it("drops series past the cap, counts the drops and keeps the series it has", () => {
    const capped = new MetricsRegistry({ maxSeriesPerMetric: 2 });
    const counter = capped.counter({ name: "capped_total", help: "x", labelNames: ["k"] });
    for (const k of ["a", "b", "c", "d", "a"]) counter.inc({ k });
    const families = parsePrometheusText(capped.expose());
    expect(valueOf(families, "capped_total", { k: "a" })).toBe(2);
    expect(valueOf(families, "capped_total", { k: "b" })).toBe(1);
    expect(valueOf(families, "capped_total", { k: "c" })).toBeUndefined();
    expect(valueOf(families, "hearth_metrics_series_dropped_total", { metric: "capped_total" })).toBe(2);
  });
});

describe("request paths", () => {
  it("takes the path of an absolute URL without its query or fragment", () => {
    expect(pathnameOf("http://127.0.0.1:8787/agents/a/b?x=1#f")).toBe("/agents/a/b");
    expect(pathnameOf("http://[::1]:8787/p#f?x")).toBe("/p");
    expect(pathnameOf("http://host")).toBe("/");
  });
});
