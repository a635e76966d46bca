import type { Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { forwardToOwners } from "../../src/cluster/forward.ts";
import { withInternalRoutes } from "../../src/cluster/internal-routes.ts";
import { NotServedHereError, Ownership, RouteFailedError, type Route } from "../../src/cluster/ownership.ts";
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
    const forwarder = forwardToOwners({ route: async () => route, forget: () => {}, holder: async () => undefined, holds: () => false, local: unreachedLocal, key: "k", retryForMs: 1_000 });

    await expect(forwarder.invoke("Counter", "a", "get", [])).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the invoke on the owner").toBe(1);
    await expect(forwarder.start("Counter", "a")).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the start on the owner").toBe(2);
    await expect(forwarder.request("Counter", "a", new Request("http://x/agents/counter/a", { method: "POST", body: "{}" }))).rejects.toThrow("cannot rebuild its file");
    expect(ownerRoutes, "routes of the request on the owner").toBe(3);
  });

  /** Errors of a route that may not happen again: a lost Postgres connection, a statement or lock timeout. */
  const transientErrors = (): Error[] => [
    Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
    new Error("Connection terminated unexpectedly"),
    Object.assign(new Error("canceling statement due to statement timeout"), { code: "57014" }),
    Object.assign(new Error("canceling statement due to lock timeout"), { code: "55P03" }),
  ];

  it("is 'moved' (retried by the sender) when its error is transient: a lost connection, a statement or lock timeout", async () => {
    for (const error of transientErrors()) {
      const fetch = withInternalRoutes(() => new Response("the worker"), { key: "k", local: unreachedLocal, route: () => Promise.reject(error), holds: () => false });
      const response = await fetch(new Request(`http://x${clusterPath("invoke", "Counter", "a")}`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: "k" }, body: new Uint8Array([0]) }), {}, ctx);
      expect(response.status, error.message).toBe(503);
      expect(response.headers.get(CLUSTER_HEADERS.moved), error.message).toBe("1");
      expect(response.headers.get(CLUSTER_HEADERS.failed), error.message).toBeNull();
    }
  });

  it("is 500 'failed' when its file could not be rebuilt, even if the cause reads like a lost connection", async () => {
    const error = new RouteFailedError("counter/a: its local file could not be rebuilt from the log: the database connection is closed", { cause: new Error("closed") });
    const fetch = withInternalRoutes(() => new Response("the worker"), { key: "k", local: unreachedLocal, route: () => Promise.reject(error), holds: () => false });
    const response = await fetch(new Request(`http://x${clusterPath("invoke", "Counter", "a")}`, { method: "POST", headers: { [CLUSTER_HEADERS.key]: "k" }, body: new Uint8Array([0]) }), {}, ctx);
    expect(response.status).toBe(500);
    expect(response.headers.get(CLUSTER_HEADERS.failed)).toBe("1");
  });

  it("with a transient error on the owner is retried by the sending node until it is served", async () => {
    const failures = transientErrors();
    let ownerRoutes = 0;
    const ownerFetch = withInternalRoutes(() => new Response("the worker"), {
      key: "k",
      local: { ...unreachedLocal, invoke: async () => 42 },
      route: async () => {
        const failure = failures[ownerRoutes++];
        if (failure !== undefined) throw failure;
        return { here: true };
      },
      holds: () => ownerRoutes > failures.length,
    });
    const listening = await serveFetch(ownerFetch);
    owner = listening.server;
    const route: Route = { here: false, nodeId: "a", address: listening.address };
    const forwarder = forwardToOwners({ route: async () => route, forget: () => {}, holder: async () => undefined, holds: () => false, local: unreachedLocal, key: "k", retryForMs: 5_000 });

    await expect(forwarder.invoke("Counter", "a", "get", [])).resolves.toBe(42);
    expect(ownerRoutes, "routes on the owner: each transient error, then the one served").toBe(failures.length + 1);
  });

  it("throws a RouteFailedError when the agent's file cannot be rebuilt", async () => {
    const ownership = new Ownership({
      store: {
        valid: true,
        nodeId: "b",
        lookup: async () => ({ owner: undefined, address: undefined, alive: false }),
        claim: async () => ({ claimed: true, epoch: 1, head: 0 }),
        history: async () => ({}) as never,
      },
      restore: () => {
        throw new Error("the connection to the file is closed");
      },
    });
    const failure = await ownership.route("counter/a").catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RouteFailedError);
    expect((failure as Error).message).toContain("the connection to the file is closed");
  });
});
