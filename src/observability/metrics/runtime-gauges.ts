import { monitorEventLoopDelay } from "node:perf_hooks";
import type { MetricsRegistry } from "./registry.ts";

/**
 * Event-loop delay (from `perf_hooks.monitorEventLoopDelay`, reset at every scrape so each value
 * covers the interval since the previous scrape) and process memory. Returns the stop function.
 */
export function registerRuntimeGauges(registry: MetricsRegistry): () => void {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  // Read live at each exposition; only a Prometheus scrape starts the next interval (an inspector
  // chart reading between scrapes must not hide a stall from the next scrape).
  registry.afterScrape(() => delay.reset());
  registry.gauge({
    name: "hearth_eventloop_delay_seconds",
    help: "Event-loop delay since the previous scrape, by quantile (0.5, 0.9, 0.99), plus max and mean.",
    labelNames: ["stat"],
    collect: (gauge) => {
      gauge.set({ stat: "p50" }, seconds(delay.percentile(50)));
      gauge.set({ stat: "p90" }, seconds(delay.percentile(90)));
      gauge.set({ stat: "p99" }, seconds(delay.percentile(99)));
      gauge.set({ stat: "max" }, seconds(delay.max));
      gauge.set({ stat: "mean" }, seconds(delay.mean));
    },
  });
  registry.gauge({
    name: "hearth_process_memory_bytes",
    help: "Process memory by kind (process.memoryUsage): rss, heap_total, heap_used, external, array_buffers.",
    labelNames: ["kind"],
    collect: (gauge) => {
      const memory = process.memoryUsage();
      gauge.set({ kind: "rss" }, memory.rss);
      gauge.set({ kind: "heap_total" }, memory.heapTotal);
      gauge.set({ kind: "heap_used" }, memory.heapUsed);
      gauge.set({ kind: "external" }, memory.external);
      gauge.set({ kind: "array_buffers" }, memory.arrayBuffers);
    },
  });
  return () => delay.disable();
}
