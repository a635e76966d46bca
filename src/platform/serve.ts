/**
 * `serve` as applications call it: the gateway's (gateway/serve.ts), which also takes `metrics: true`
 * for Hearth's own metrics over the host — made here, where observability and the core meet, and
 * stopped with the server.
 */
import { serve as serveHost, type HearthServer, type ServeOptions as GatewayServeOptions } from "../gateway/serve.ts";
import { createHearthMetrics } from "../observability/metrics/hearth-metrics.ts";
import type { RequestMetrics } from "../gateway/request-metrics.ts";

/** Options of {@link serve}. */
export interface ServeOptions extends Omit<GatewayServeOptions, "metrics"> {
  /**
   * Serve Prometheus metrics at `GET /metrics` (ahead of the worker's own routes) and measure every
   * request: `true` for Hearth's metrics over this host, or metrics to share (a `HearthMetrics`). Default false.
   */
  metrics?: boolean | RequestMetrics;
}

/**
 * Serves a host over HTTP and WebSockets on Node's http server.
 * @example
 * const host = new Host({ dataDir: ".hearth", agents: { Counter } });
 * const server = await serve({ host, port: 8787, metrics: true });
 * console.log(server.url);
 */
export async function serve(options: ServeOptions): Promise<HearthServer> {
  if (options.metrics !== true) return serveHost({ ...options, metrics: options.metrics || false });
  const metrics = createHearthMetrics({ host: options.host });
  let server: HearthServer;
  try {
    server = await serveHost({ ...options, metrics });
  } catch (error) {
    metrics.close();
    throw error;
  }
  return {
    url: server.url,
    port: server.port,
    answer: (request) => server.answer(request),
    adopt: (moved) => server.adopt(moved),
    close: async (closeOptions) => {
      try {
        await server.close(closeOptions);
      } finally {
        metrics.close();
      }
    },
  };
}
