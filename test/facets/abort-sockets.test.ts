/**
 * `ctx.facets.abort` stops everything of the facet's instance: its sockets, accepted with `accept()` or
 * `acceptWebSocket`, close (1001 "Facet stopped") instead of staying wired to the dead instance, and
 * its timers never fire again.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type FacetStub, type WorkersWebSocket } from "../../src/index.ts";
import { upgradeResponse } from "../durable-object/helpers.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { until } from "./support.ts";

/** What the facets' instances did that no client sees: errors met after they were stopped. */
const seen: string[] = [];
let instances = 0;
const started: Array<ReturnType<typeof setInterval>> = [];

class Child extends DurableObject {
  readonly n = ++instances;

  async fetch(request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    if (new URL(request.url).searchParams.has("hibernatable")) {
      this.ctx.acceptWebSocket(server);
      return upgradeResponse(client);
    }
    server.accept();
    server.addEventListener("message", (event) => {
      const data = String((event as MessageEvent).data);
      try {
        this.ctx.storage.kv.put("last", data);
      } catch (error) {
        seen.push(`i${this.n} ${(error as Error).name}`);
      }
      if (data === "tick") started.push(setInterval(() => this.#tick(server), 20));
      server.send(`i${this.n} echo ${data}`);
    });
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    ws.send(`i${this.n} echo ${String(message)}`);
  }

  #tick(server: WorkersWebSocket): void {
    try {
      this.ctx.storage.kv.put("ticks", (this.ctx.storage.kv.get<number>("ticks") ?? 0) + 1);
    } catch (error) {
      seen.push(`i${this.n} tick ${(error as Error).name}`);
    }
    if (server.readyState === 1 /* OPEN */) server.send(`i${this.n} tick`);
  }
}

class Parent extends DurableObject {
  fetch(request: Request): Promise<Response> {
    return this.#child().fetch(request);
  }

  stop(): void {
    this.ctx.facets.abort("child", new Error("stopped by the parent"));
  }

  #child(): FacetStub<Child> {
    return this.ctx.facets.get<Child>("child", () => ({ class: this.ctx.exports.CHILDREN as never }));
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  for (const interval of started.splice(0)) clearInterval(interval);
  await harness?.close();
  harness = undefined;
  seen.length = 0;
  instances = 0;
});

async function start(): Promise<{ harness: Harness; parent: DurableObjectNamespace<Parent> }> {
  harness = await startHarness({}, {
    durableObjects: { PARENTS: Parent, CHILDREN: Child },
    fetch: (request, env) => (env.PARENTS as DurableObjectNamespace<Parent>).getByName("p").fetch(request),
  });
  return { harness, parent: harness.host.env.PARENTS as DurableObjectNamespace<Parent> };
}

describe("ctx.facets.abort", () => {
  it("closes the facet's accept()ed sockets (1001) instead of leaving them wired to the stopped instance", async () => {
    const { harness, parent } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/child`);
    socket.send("one");
    await socket.waitFor((f) => f === "i1 echo one");
    await parent.getByName("p").stop();
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Facet stopped" });
    expect(seen).toEqual([]);
    const again = await TestSocket.open(`${harness.wsUrl}/child`);
    again.send("two");
    expect(await again.waitFor((f) => typeof f === "string" && f.endsWith("echo two"))).toBe("i2 echo two");
  });

  it("closes its hibernatable sockets the same way", async () => {
    const { harness, parent } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/child?hibernatable`);
    socket.send("one");
    await socket.waitFor((f) => f === "i1 echo one");
    await parent.getByName("p").stop();
    expect(await socket.waitClosed()).toEqual({ code: 1001, reason: "Facet stopped" });
  });

  it("cancels the facet's timers: none fires after the abort", async () => {
    const { harness, parent } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/child`);
    socket.send("tick");
    await socket.waitFor((f) => f === "i1 tick");
    await parent.getByName("p").stop();
    await socket.waitClosed();
    const ticked = instances;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toEqual([]); // no callback ran against the stopped instance's storage
    expect(instances).toBe(ticked);
    await until(() => harness.host.stats.liveAgents === 1, "only the parent to be left in memory");
  });
});
