/**
 * What the gateway reports of each request it serves, and what it answers at `GET /metrics`: the
 * named interface metrics plug into (observability's `HearthMetrics` is one). The gateway measures;
 * what is counted and how it is exposed is the metrics' business.
 */

/** One request as the gateway saw it. */
export interface RequestOutcome {
  method: string;
  /** The request path (a metrics label keeps its class segment only). */
  pathname: string;
  status: number;
  /** Time to the response (headers), in seconds. */
  seconds: number;
  /** True when the worker's fetch threw (answered 500 by the gateway). */
  threw?: boolean;
}

/** Metrics the gateway feeds and serves. */
export interface RequestMetrics {
  /** The Content-Type of {@link RequestMetrics.expose}'s text. */
  readonly contentType: string;
  observeRequest(outcome: RequestOutcome): void;
  /** What `GET /metrics` answers. */
  expose(): string;
}
