/**
 * HTTP load generator (autocannon), run in its own process by {@link runChild}.
 * `distinctPrefix` sends every request to a different agent name: `<path><prefix>-<n>`.
 */
import autocannon from "autocannon";
import { childMain } from "./common.ts";

export interface HttpLoadInput {
  url: string;
  method: "GET" | "POST";
  body?: string;
  connections: number;
  pipelining: number;
  /** Seconds. */
  duration: number;
  /** When set, request n goes to `url + distinctPrefix + "-" + n` (a never-seen agent each time). */
  distinctPrefix?: string;
}

export interface HttpLoadResult {
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Seconds, as measured by autocannon. */
  duration: number;
  /** 2xx responses per second. */
  rate: number;
  latencyP50: number;
  latencyP99: number;
  /** Distinct names sent (distinct mode). */
  sent: number;
}

async function run(input: HttpLoadInput): Promise<HttpLoadResult> {
  const target = new URL(input.url);
  let n = 0;
  const requests: autocannon.Request[] | undefined = input.distinctPrefix
    ? [
        {
          setupRequest: (request) => {
            request.path = `${target.pathname}${input.distinctPrefix}-${n++}`;
            return request;
          },
        },
      ]
    : undefined;
  const result = await autocannon({
    url: input.url,
    method: input.method,
    body: input.body,
    headers: input.body ? { "content-type": "application/json" } : undefined,
    connections: input.connections,
    pipelining: input.pipelining,
    duration: input.duration,
    requests,
  });
  const ok = result["2xx"];
  return {
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    duration: result.duration,
    rate: ok / result.duration,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    sent: n,
  };
}

childMain(run);
