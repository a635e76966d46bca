import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "../../../src/observability/metrics/registry.ts";
import { mergeExpositions } from "../../../src/observability/metrics/merge.ts";
import { parsePrometheusText } from "./prom-text.ts";

function threadMetrics(requests: number, seconds: number[]): string {
  const registry = new MetricsRegistry();
  const counter = registry.counter({ name: "hearth_requests_total", help: "Requests.", labelNames: ["class"] });
  counter.inc({ class: "Counter" }, requests);
  const gauge = registry.gauge({ name: "hearth_live_agents", help: "Live agents." });
  gauge.set({}, requests * 2);
  const histogram = registry.histogram({ name: "hearth_latency_seconds", help: "Latency.", labelNames: [], buckets: [0.01, 0.1] });
  for (const value of seconds) histogram.observe({}, value);
  return registry.expose();
}

describe("mergeExpositions", () => {
  it("gives each family one HELP and TYPE and every thread's samples with a thread label, as valid text", () => {
    const merged = mergeExpositions(
      [
        { label: "0", text: threadMetrics(3, [0.005]) },
        { label: "1", text: threadMetrics(4, [0.05, 0.5]) },
      ],
      "thread",
    );
    const families = parsePrometheusText(merged);
    const byName = new Map(families.map((family) => [family.name, family]));
    expect(families.length).toBe(byName.size); // one family per name
    const requests = byName.get("hearth_requests_total")!.samples;
    expect(requests).toEqual([
      { name: "hearth_requests_total", labels: { thread: "0", class: "Counter" }, value: 3 },
      { name: "hearth_requests_total", labels: { thread: "1", class: "Counter" }, value: 4 },
    ]);
    expect(byName.get("hearth_live_agents")!.samples.map((sample) => [sample.labels, sample.value])).toEqual([
      [{ thread: "0" }, 6],
      [{ thread: "1" }, 8],
    ]);
    const counts = byName.get("hearth_latency_seconds")!.samples.filter((sample) => sample.name === "hearth_latency_seconds_count");
    expect(counts.map((sample) => [sample.labels.thread, sample.value])).toEqual([
      ["0", 1],
      ["1", 2],
    ]);
  });

  it("is empty for nothing, and escapes the label value", () => {
    expect(mergeExpositions([], "thread")).toBe("");
    expect(mergeExpositions([{ label: 'a"b', text: "# HELP x X.\n# TYPE x gauge\nx 1\n" }], "thread")).toBe('# HELP x X.\n# TYPE x gauge\nx{thread="a\\"b"} 1\n');
  });

  it("renames a sample's own label of the source label's name to exported_<name>, as Prometheus does, never writing a label twice", () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: "app_jobs_total", help: "Jobs by worker node.", labelNames: ["node", "thread"] }).inc({ node: "gpu-1", thread: 'say "node=" \\' });
    const text = registry.expose();
    const threads = mergeExpositions([{ label: "0", text }, { label: "1", text }], "thread");
    const cluster = mergeExpositions([{ label: "a", text: threads }], "node");
    const samples = (merged: string) => parsePrometheusText(merged).find((family) => family.name === "app_jobs_total")!.samples.map((sample) => sample.labels);
    expect(samples(threads)).toEqual([
      { thread: "0", node: "gpu-1", exported_thread: 'say "node=" \\' },
      { thread: "1", node: "gpu-1", exported_thread: 'say "node=" \\' },
    ]);
    expect(samples(cluster)).toEqual([
      { node: "a", thread: "0", exported_node: "gpu-1", exported_thread: 'say "node=" \\' },
      { node: "a", thread: "1", exported_node: "gpu-1", exported_thread: 'say "node=" \\' },
    ]);
    // exported_<name> taken too: prefixed again.
    const taken = "# HELP m M.\n# TYPE m gauge\nm{node=\"x\",exported_node=\"y\"} 1\n";
    expect(mergeExpositions([{ label: "a", text: taken }], "node")).toBe('# HELP m M.\n# TYPE m gauge\nm{node="a",exported_exported_node="x",exported_node="y"} 1\n');
  });
});
