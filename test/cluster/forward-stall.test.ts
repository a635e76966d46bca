import { createServer, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { forwardToOwners } from "../../src/cluster/forward.ts";
import { withInternalRoutes } from "../../src/cluster/internal-routes.ts";
import { Ownership } from "../../src/cluster/ownership.ts";
import type { RemoteActors } from "../../src/host/placement.ts";
import { settleInvoke } from "../../src/cluster/wire.ts";
import { serveFetch } from "./support/serve-fetch.ts";
import { until } from "./support/until.ts";

/**
 * Forwarding to an owner that accepts connections and never answers (a SIGSTOPped process, a stuck
 * event loop, a paused VM): each attempt waits for its answer to begin only so long before the lease
 * is looked up again.
 */

const unreachedLocal: RemoteActors = {
  request: () => Promise.reject(new Error("the local host was reached")),
  invoke: () => Promise.reject(new Error("the local host was reached")),
  start: () => Promise.reject(new Error("the local host was reached")),
  acceptSocket: () => {},
};

/** Node `b`'s ownership, whose store answers `lease` (the test moves it) and counts lookups. */
function ownershipOf(lease: { owner: string; address: string }): { ownership: Ownership; lookups: () => number } {
  let lookups = 0;
  const ownership = new Ownership({
    store: {
      valid: true,
      nodeId: "b",
      lookup: async () => {
        lookups++;
        return { owner: lease.owner, address: lease.address, alive: true };
      },
      claim: () => Promise.reject(new Error("node b claims nothing in this test")),
      history: () => Promise.reject(new Error("node b claims nothing in this test")),
    },
    restore: () => {},
  });
  return { ownership, lookups: () => lookups };
}

/** Settles with `promise`, or rejects once `ms` pass: a hang fails the test instead of holding it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe("forwarding to an owner that never answers", () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  /** A TCP server that accepts and reads, and answers nothing; counts the requests it got. */
  async function silentOwner(): Promise<{ address: string; requests: () => number; first: Promise<void> }> {
    const sockets: Socket[] = [];
    let requests = 0;
    const first = Promise.withResolvers<void>();
    const server: TcpServer = createTcpServer((socket) => {
      sockets.push(socket);
      socket.on("data", (data) => {
        if (data.toString("latin1").startsWith("POST ")) {
          requests++;
          first.resolve();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closing.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return { address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests, first: first.promise };
  }

  it("taken over by another node meanwhile: the request is answered 504, sent once, and the next goes to the new owner", async () => {
    const silent = await silentOwner();
    const next = await serveFetch(
      withInternalRoutes(() => new Response("the worker"), {
        key: "k",
        local: { ...unreachedLocal, invoke: () => Promise.resolve("served by c") },
        route: async () => ({ here: true }),
        holds: () => true,
      }),
    );
    closing.push(() => new Promise<void>((resolve) => next.server.close(() => resolve())));
    const lease = { owner: "a", address: silent.address };
    const { ownership } = ownershipOf(lease);
    const forwarder = forwardToOwners({
      route: (className, name) => ownership.route(`${className}/${name}`),
      forget: (className, name) => ownership.forget(`${className}/${name}`),
      holder: (className, name) => ownership.holder(`${className}/${name}`),
      holds: () => false,
      local: unreachedLocal,
      key: "k",
      retryForMs: 1_000,
      answerWithinMs: 100,
      stopping: async () => false,
    });

    const first = forwarder.invoke("Counter", "x", "get", []);
    first.catch(() => undefined);
    await silent.first;
    // Node a is frozen; its membership lapses and node c takes x over.
    lease.owner = "c";
    lease.address = next.address;
    await expect(within(first, 20_000, "the invoke sent to the frozen owner")).rejects.toThrow(/504.*may have run there/s);
    expect(silent.requests(), "requests the frozen owner got").toBe(1);
    // The frozen owner was forgotten: the next call looks the lease up and reaches c.
    expect(await within(forwarder.invoke("Counter", "x", "get", []), 20_000, "the next invoke")).toBe("served by c");
    expect(silent.requests()).toBe(1);
  }, 30_000);

  it("a request through the frozen owner's node, with the caller's own signal, is answered 504 too", async () => {
    const silent = await silentOwner();
    const lease = { owner: "a", address: silent.address };
    const { ownership } = ownershipOf(lease);
    const forwarder = forwardToOwners({
      route: (className, name) => ownership.route(`${className}/${name}`),
      forget: (className, name) => ownership.forget(`${className}/${name}`),
      holder: (className, name) => ownership.holder(`${className}/${name}`),
      holds: () => false,
      local: unreachedLocal,
      key: "k",
      retryForMs: 1_000,
      answerWithinMs: 100,
    });
    const caller = new AbortController();
    const answer = forwarder.request("Counter", "x", new Request("http://x/agents/counter/x", { method: "POST", body: "v", signal: caller.signal }));
    answer.catch(() => undefined);
    await silent.first;
    lease.owner = "c";
    lease.address = "http://127.0.0.1:1";
    const response = await within(answer, 20_000, "the request sent to the frozen owner");
    expect(response.status).toBe(504);
    expect(silent.requests()).toBe(1);
    caller.abort();
  }, 30_000);

  it("slow to begin answering but still holding the lease: the attempt waits on for it", async () => {
    let hold: ServerResponse | undefined;
    const arrived = Promise.withResolvers<void>();
    let requests = 0;
    const slow: Server = createServer((incoming, outgoing) => {
      requests++;
      incoming.resume();
      hold = outgoing;
      arrived.resolve();
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    closing.push(() => new Promise<void>((resolve) => slow.close(() => resolve())));
    const { ownership, lookups } = ownershipOf({ owner: "a", address: `http://127.0.0.1:${(slow.address() as AddressInfo).port}` });
    const forwarder = forwardToOwners({
      route: (className, name) => ownership.route(`${className}/${name}`),
      forget: (className, name) => ownership.forget(`${className}/${name}`),
      holder: (className, name) => ownership.holder(`${className}/${name}`),
      holds: () => false,
      local: unreachedLocal,
      key: "k",
      retryForMs: 1_000,
      answerWithinMs: 50,
    });
    const call = forwarder.invoke("Counter", "x", "slow", []);
    await arrived.promise;
    // The lease is looked up again a few times while the owner works; it still holds it.
    await until("lease looked up again", async () => lookups(), (count) => count >= 4);
    const answer = await settleInvoke(Promise.resolve("done at last"));
    hold!.writeHead(200, Object.fromEntries(answer.headers));
    hold!.end(Buffer.from(await answer.arrayBuffer()));
    expect(await within(call, 20_000, "the slow invoke")).toBe("done at last");
    expect(requests).toBe(1);
  }, 30_000);
});
