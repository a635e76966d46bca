/**
 * One request at a time over one keep-alive connection, timed from the client: for the wake workload
 * of bench/workerd-compare.ts, where each request is the first one an agent sees since its server
 * started. node:http rather than fetch, so the client adds as little as it can to each round trip.
 */
import { Agent, request } from "node:http";

/** A client that reuses one connection. */
export interface SequentialClient {
  /** Sends one request and resolves with its status, body and round-trip time (ms). */
  send(method: "GET" | "POST", url: string, body?: string): Promise<{ status: number; body: string; ms: number }>;
  close(): void;
}

export function sequentialClient(): SequentialClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    send(method, url, body) {
      return new Promise((resolve, reject) => {
        const start = process.hrtime.bigint();
        const headers = body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
        const outgoing = request(url, { method, agent, headers }, (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => (text += chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text, ms: Number(process.hrtime.bigint() - start) / 1e6 }));
          response.on("error", reject);
        });
        outgoing.on("error", reject);
        outgoing.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}
