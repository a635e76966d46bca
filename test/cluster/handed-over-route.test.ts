import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { forwardToOwners } from "../../src/cluster/forward.ts";
import { withInternalRoutes } from "../../src/cluster/internal-routes.ts";
import type { Route } from "../../src/cluster/ownership.ts";
import type { RemoteActors } from "../../src/host/placement.ts";
import { CLUSTER_HEADERS, clusterPath } from "../../src/cluster/wire.ts";

/** A host side that must not be reached: the lease was handed over after the route said "here". */
const refusingLocal: RemoteActors = {
  request: () => Promise.reject(new Error("counter/a belongs to another shard")),
  invoke: () => Promise.reject(new Error("counter/a belongs to another shard")),
  start: () => Promise.reject(new Error("counter/a belongs to another shard")),
  acceptSocket: () => {},
};

describe("a route found 'here' whose lease is handed over before it is served", () => {
  let owner: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (owner ? owner.close(() => resolve()) : resolve())));

  it("is forwarded to the next owner, not refused by this node's host", async () => {
    owner = createServer((_request, response) => response.end("served by b"));
    await new Promise<void>((resolve) => owner!.listen(0, "127.0.0.1", resolve));
    const address = `http://127.0.0.1:${(owner.address() as AddressInfo).port}`;
    // First look: here (the lease was held); by the time it is served, node b holds it.
    const routes: Route[] = [{ here: true }, { here: false, nodeId: "b", address }];
    const forwarder = forwardToOwners({
      route: async () => routes.shift() ?? routes[0]!,
      forget: () => {},
      holder: async () => "b",
      holds: () => false,
      local: refusingLocal,
      key: "k",
      retryForMs: 2_000,
    });
    const response = await forwarder.request("Counter", "a", new Request("http://x/agents/counter/a", { method: "POST", body: "{}" }));
    expect(await response.text()).toBe("served by b");
  });

  it("is answered 'moved' on the owner's side, so the sending node looks again", async () => {
    const fetch = withInternalRoutes(() => new Response("the worker"), { key: "k", local: refusingLocal, route: async () => ({ here: true }), holds: () => false });
    for (const operation of ["agent", "invoke", "start"] as const) {
      const response = await fetch(new Request(`http://x${clusterPath(operation, "Counter", "a")}`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: "k" }, body: new Uint8Array([0]) }), {}, { waitUntil: () => {}, passThroughOnException: () => {} });
      expect(response.status).toBe(503);
      expect(response.headers.get(CLUSTER_HEADERS.moved)).toBe("1");
    }
  });
});
