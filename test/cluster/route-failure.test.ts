import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { forwardToOwners } from "../../src/cluster/forward.ts";
import { withInternalRoutes } from "../../src/cluster/internal-routes.ts";
import { NotServedHereError, type Route } from "../../src/cluster/ownership.ts";
import type { RemoteActors } from "../../src/host/placement.ts";
import { CLUSTER_HEADERS, clusterPath } from "../../src/cluster/wire.ts";
import { serveFetch } from "./support/serve-fetch.ts";

/** The owner's host side: must not be reached when its route failed. */
const unreachedLocal: RemoteActors = {
  request: () => Promise.reject(new Error("the host was reached")),
  invoke: () => Promise.reject(new Error("the host was reached")),
  start: () => Promise.reject(new Error("the host was reached")),
  acceptSocket: () => {},
};

const ctx = { waitUntil: () => {}, passThroughOnException: () => {} };

describe("a route that fails on the node a request was sent to", () => {
  let owner: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (owner ? owner.close(() => resolve()) : resolve())));

  it("is answered 500 with the error and a no-retry marker, not 'moved'", async () => {
    const fetch = withInternalRoutes(() => new Response("the worker"), { key: "k", local: unreachedLocal, route: () => Promise.reject(new Error("counter/a: cannot rebuild its file")), holds: () => false });
    for (const operation of ["agent", "invoke", "start"] as const) {
      const response = await fetch(new Request(`http://x${clusterPath(operation, "Counter", "a")}`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: "k" }, body: new Uint8Array([0]) }), {}, ctx);
      expect(response.status, operation).toBe(500);
      expect(response.headers.get(CLUSTER_HEADERS.moved), operation).toBeNull();
      expect(response.headers.get(CLUSTER_HEADERS.failed), operation).toBe("1");
    }
  });

  it("is still 'moved' when the node does not serve the actor now (not a live member)", async () => {
    const fetch = withInternalRoutes(() => new Response("the worker"), { key: "k", local: unreachedLocal, route: () => Promise.reject(new NotServedHereError("this node (b) is not a live member of the cluster")), holds: () => false });
    const response = await fetch(new Request(`http://x${clusterPath("invoke", "Counter", "a")}`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: "k" }, body: new Uint8Array([0]) }), {}, ctx);
    expect(response.status).toBe(503);
    expect(response.headers.get(CLUSTER_HEADERS.moved)).toBe("1");
  });

  it("reaches the sending node's caller as that error, sent once", async () => {
    let ownerRoutes = 0;
    const ownerFetch = withInternalRoutes(() => new Response("the worker"), {
      key: "k",
      local: unreachedLocal,
      route: () => {
        ownerRoutes++;
        return Promise.reject(new Error("counter/a: cannot rebuild its file"));
      },
      holds: () => false,
    });
    const listening = await serveFetch(ownerFetch);
    owner = listening.server;
    const route: Route = { here: false, nodeId: "a", address: listening.address };
    const forwarder = forwardToOwners({ route: async () => route, forget: () => {}, holds: () => false, local: unreachedLocal, key: "k", retryForMs: 1_000 });

    await expect(forwarder.invoke("Counter", "a", "get", [])).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the invoke on the owner").toBe(1);
    await expect(forwarder.start("Counter", "a")).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the start on the owner").toBe(2);
    await expect(forwarder.request("Counter", "a", new Request("http://x/agents/counter/a", { method: "POST", body: "{}" }))).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the request on the owner").toBe(3);
  });
});
