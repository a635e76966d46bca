/**
 * A thread's own series in its `/metrics` under `--threads`: client connections moved to their
 * agent's thread (decision 0025) and WebSockets still relayed between threads.
 */
import type { MetricsRegistry } from "../observability/metrics/registry.ts";
import type { Shard } from "./shard.ts";

/**
 * Adds `hearth_thread_connections_moved_total` and `hearth_thread_websockets_relayed` for `shard` to
 * `registry`, read at each scrape.
 * @example if (sharding && metrics) addShardMetrics(metrics.registry, sharding.shard);
 */
export function addShardMetrics(registry: MetricsRegistry, shard: Shard): void {
  const moved = registry.counter({
    name: "hearth_thread_connections_moved_total",
    help: "Client connections this thread's server moved to the thread of their agent: WebSocket upgrades, and HTTP connections whose first request named an agent of another thread.",
  });
  registry.gauge({
    name: "hearth_thread_websockets_relayed",
    help: "WebSockets relayed now between this thread and another (their client on one, their agent on the other): those whose connection could not move.",
    collect: (gauge) => gauge.set(undefined, shard.connections.relayed),
  });
  let counted = 0;
  registry.beforeScrape(() => {
    const now = shard.connections.moved;
    if (now > counted) moved.inc(undefined, now - counted);
    counted = now;
  });
}
