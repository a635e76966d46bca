/**
 * A 101 from a Durable Object's `stub.fetch` that its receiver drops — another object's event that
 * neither returns nor accepts it, or code outside any request or event once nothing references it —
 * closes the answering object's socket (1006), as the Workers runtime drops an unused client end:
 * it leaves `getWebSockets()` and no longer holds the object. One that is used stays open.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { DISCONNECTED } from "../../src/websocket/close-reason.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { dataOf, until, upgradeResponse } from "./helpers.ts";

/** What each answering object saw, by name. */
const logs = new Map<string, string[]>();
function log(name: string): string[] {
  let entries = logs.get(name);
  if (!entries) logs.set(name, (entries = []));
  return entries;
}

const upgrade = { headers: { Upgrade: "websocket" } };

/** Answers every fetch with a 101, its end accepted with acceptWebSocket (or accept() with `?listen`). */
class Answering extends DurableObject {
  readonly #log = log(this.ctx.id.name!);

  fetch(request: Request): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    if (new URL(request.url).searchParams.has("listen")) {
      server.accept();
      server.addEventListener("close", (event) => this.#log.push(`closed ${(event as CloseEvent).code} ${(event as CloseEvent).reason}`));
    } else {
      this.ctx.acceptWebSocket(server);
    }
    return upgradeResponse(client);
  }

  count(): number {
    return this.ctx.getWebSockets().length;
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    ws.send(`echo:${String(message)}`);
  }

  webSocketClose(_ws: WorkersWebSocket, code: number, reason: string): void {
    this.#log.push(`close ${code} ${reason}`);
  }
}

/** Calls an Answering object's fetch from its own events. */
class Calling extends DurableObject {
  #kept: WorkersWebSocket | undefined;
  readonly #heard: string[] = [];

  async dropIt(name: string, query = ""): Promise<number> {
    const response = await this.#answering(name).fetch(`http://answering/${query}`, upgrade);
    return response.status;
  }

  async keepIt(name: string): Promise<void> {
    const response = await this.#answering(name).fetch("http://answering/", upgrade);
    const socket = (response as Response & { webSocket: WorkersWebSocket }).webSocket;
    socket.accept();
    socket.addEventListener("message", (event) => this.#heard.push(String(dataOf(event))));
    this.#kept = socket;
  }

  talk(text: string): void {
    this.#kept!.send(text);
  }

  heard(): string[] {
    return this.#heard;
  }

  /** Passes the other object's 101 on to its own caller (a proxy). */
  async fetch(request: Request): Promise<Response> {
    return this.#answering(new URL(request.url).pathname.split("/")[3]!).fetch(request);
  }

  #answering(name: string): ReturnType<DurableObjectNamespace<Answering>["getByName"]> {
    return (this.env as { ANSWERING: DurableObjectNamespace<Answering> }).ANSWERING.getByName(name);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  logs.clear();
});

async function start(): Promise<{ harness: Harness; answering: DurableObjectNamespace<Answering>; calling: DurableObjectNamespace<Calling> }> {
  harness = await startHarness(
    {},
    {
      durableObjects: { ANSWERING: Answering, CALLING: Calling },
      hibernateAfterMs: 60_000,
      fetch: (request, env) => (env.CALLING as DurableObjectNamespace<Calling>).getByName("proxy").fetch(request),
    },
  );
  return { harness, answering: harness.host.env.ANSWERING as never, calling: harness.host.env.CALLING as never };
}

describe("a 101 dropped by another Durable Object's event", () => {
  it("closes the answering object's hibernatable socket (1006) when the event ends", async () => {
    const { answering, calling } = await start();
    expect(await calling.getByName("a").dropIt("dropped")).toBe(101);
    await until(() => log("dropped").length > 0, "webSocketClose");
    expect(log("dropped")).toEqual([`close 1006 ${DISCONNECTED}`]);
    expect(await answering.getByName("dropped").count()).toBe(0);
  });

  it("closes a socket accepted with accept(), letting the answering object go", async () => {
    const { harness, calling } = await start();
    expect(await calling.getByName("b").dropIt("listening", "?listen")).toBe(101);
    await until(() => log("listening").length > 0, "the close event");
    expect(log("listening")).toEqual([`closed 1006 ${DISCONNECTED}`]);
    await until(() => harness.host.hibernateIdleAgents() === 2, "both objects to be let go");
  });

  it("leaves open a socket the event accepted, which later events still use", async () => {
    const { answering, calling } = await start();
    const caller = calling.getByName("c");
    await caller.keepIt("kept");
    await caller.talk("hello");
    let heard: string[] = [];
    while (heard.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      heard = await caller.heard();
    }
    expect(heard).toEqual(["echo:hello"]);
    expect(await answering.getByName("kept").count()).toBe(1);
    expect(log("kept")).toEqual([]);
  });

  it("leaves open a socket an object's fetch passes on in its own 101", async () => {
    const { harness, answering } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/via/proxy/relayed`);
    socket.send("through");
    expect(await socket.waitFor((frame) => frame === "echo:through")).toBe("echo:through");
    expect(await answering.getByName("relayed").count()).toBe(1);
  });
});

describe("a 101 dropped by code outside any request or event", () => {
  it("closes the answering object's socket once nothing references it any more", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const { answering } = await start();
    await (async () => {
      const response = await answering.getByName("collected").fetch("http://answering/", upgrade);
      expect(response.status).toBe(101);
    })();
    expect(await answering.getByName("collected").count()).toBe(1);
    await until(
      () => {
        gc();
        return log("collected").length > 0;
      },
      "the dropped 101 to be collected",
    );
    expect(log("collected")).toEqual([`close 1006 ${DISCONNECTED}`]);
    expect(await answering.getByName("collected").count()).toBe(0);
  });

  it("leaves it open while the caller still holds it, so it can accept it later", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const { answering } = await start();
    const response = await answering.getByName("held").fetch("http://answering/", upgrade);
    for (let round = 0; round < 5; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const socket = (response as Response & { webSocket: WorkersWebSocket }).webSocket;
    const heard: string[] = [];
    socket.accept();
    socket.addEventListener("message", (event) => heard.push(String(dataOf(event))));
    socket.send("late");
    await until(() => heard.length > 0, "the echo");
    expect(heard).toEqual(["echo:late"]);
    expect(log("held")).toEqual([]);
  });
});
