import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { WorkerFetch } from "../../../src/gateway/serve.ts";

const ctx = { waitUntil: () => {}, passThroughOnException: () => {} };

/**
 * Serves a worker fetch over HTTP on loopback: a node's server reduced to what the routes between
 * nodes need (bodies read whole, no streaming, no upgrades).
 * @example
 * const { server, address } = await serveFetch(withInternalRoutes(fetch, options));
 */
export async function serveFetch(fetch: WorkerFetch): Promise<{ server: Server; address: string }> {
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of incoming) chunks.push(chunk as Buffer);
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) if (typeof value === "string") headers.set(name, value);
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const response = await fetch(new Request(`http://127.0.0.1${incoming.url}`, { method: incoming.method, headers, ...(body ? { body } : {}) }), {}, ctx);
      outgoing.writeHead(response.status, Object.fromEntries(response.headers));
      outgoing.end(Buffer.from(await response.arrayBuffer()));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
