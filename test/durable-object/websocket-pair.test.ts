/**
 * The Workers WebSocket API without hibernation: `new WebSocketPair()`, `accept()` with events, 101
 * responses from a Durable Object and from the worker itself, and the rules of send and close.
 */
import { WebSocket as RawClient } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { thrown } from "../support/thrown.ts";
import { dataOf, deferred, until, upgradeResponse, type Deferred } from "./helpers.ts";

/**
 * What each object saw, in order, by object name (kept outside the objects, which hibernation
 * re-makes; by name, so a late close from an earlier test's socket lands elsewhere).
 */
const logs = new Map<string, string[]>();
function log(name: string): string[] {
  let entries = logs.get(name);
  if (!entries) logs.set(name, (entries = []));
  return entries;
}
let holdRelease: Deferred | undefined;
let holding = false;

class Pipe extends DurableObject {
  #server: WorkersWebSocket | undefined;
  readonly #seen = log(this.ctx.id.name!);

  async fetch(request: Request): Promise<Response> {
    const mode = new URL(request.url).searchParams.get("mode") ?? "accept";
    const { 0: client, 1: server } = new WebSocketPair();
    this.#server = server;
    if (mode === "accept") this.#listen(server);
    return upgradeResponse(client);
  }

  /** Accepts the socket of the last fetch now (it was returned unaccepted). */
  acceptNow(): void {
    this.#listen(this.#server!);
  }

  wasThrown(): boolean {
    return this.ctx.storage.kv.get<boolean>("thrown") ?? false;
  }

  /** Holds the input gate until the test releases it. */
  async hold(): Promise<void> {
    await this.ctx.blockConcurrencyWhile(async () => {
      holding = true;
      this.#seen.push("hold");
      await holdRelease!.promise;
      holding = false;
      this.#seen.push("released");
    });
  }

  #listen(server: WorkersWebSocket): void {
    server.accept();
    server.addEventListener("message", (event) => {
      const data = dataOf(event);
      if (typeof data !== "string") {
        this.#seen.push(`binary ${data instanceof ArrayBuffer} ${data.byteLength}`);
        server.send(new Uint8Array([...new Uint8Array(data)].reverse()));
        return;
      }
      this.#seen.push(`message ${data}${holding ? " (while held)" : ""}`);
      if (data === "throw") {
        this.ctx.storage.kv.put("thrown", true);
        server.send("sent before the throw");
        throw new Error("the listener failed");
      }
      if (data === "close") server.close(4001, "asked to");
      else server.send(`echo:${data}`);
    });
    server.addEventListener("message", async (event) => {
      await Promise.resolve();
      if (dataOf(event) === "reject") throw new Error("the async listener failed");
    });
    server.addEventListener("error", (event) => {
      this.#seen.push(`error ${(event as Event & { message: string }).message}`);
    });
    server.addEventListener("close", (event) => {
      this.#seen.push(`close ${(event as CloseEvent).code} ${(event as CloseEvent).reason}`);
    });
  }
}

type PipeNamespace = DurableObjectNamespace<Pipe>;

const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const url = new URL(request.url);
  if (url.pathname === "/worker-echo") {
    // The worker itself terminates the socket: no Durable Object involved.
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.addEventListener("message", (event) => server.send(`worker:${String(dataOf(event))}`));
    return upgradeResponse(client);
  }
  if (url.pathname === "/plain-101") {
    // Answers a WebSocket response to whatever comes, upgrade or not.
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.addEventListener("close", (event) => log("plain-101").push(`server closed ${(event as CloseEvent).code}`));
    return upgradeResponse(client);
  }
  const name = url.pathname.split("/")[2] ?? "default";
  return (env.PIPES as PipeNamespace).getByName(name).fetch(request);
};

/** The Workers runtime's `response.webSocket`. */
function webSocketOf(response: Response): unknown {
  return (response as Response & { webSocket: unknown }).webSocket;
}

let harness: Harness | undefined;
afterEach(async () => {
  holdRelease?.resolve();
  await harness?.close();
  harness = undefined;
  logs.clear();
  holdRelease = undefined;
  holding = false;
});

async function start(): Promise<{ harness: Harness; pipes: PipeNamespace }> {
  harness = await startHarness({}, { durableObjects: { PIPES: Pipe }, fetch: worker, hibernateAfterMs: 60_000 });
  return { harness, pipes: harness.host.env.PIPES as PipeNamespace };
}

describe("accept() in a Durable Object", () => {
  it("delivers messages as events and keeps the object in memory while the socket is open", async () => {
    const seen = log("a");
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/a`);
    socket.send("one");
    await socket.waitFor((f) => f === "echo:one");
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    expect(harness.host.stats.liveAgents).toBe(1);
    socket.send("two");
    await socket.waitFor((f) => f === "echo:two");
    socket.close();
    await until(() => seen.some((s) => s.startsWith("close ")), "the close event");
    expect(seen).toEqual(["message one", "message two", "close 1005 "]);
    // Closed: nothing holds the object any more.
    await until(() => harness.host.hibernateIdleAgents() === 1, "the object to hibernate");
    expect(harness.host.stats.liveAgents).toBe(0);
  });

  it("runs socket events through the object's input gate", async () => {
    const seen = log("gated");
    const { harness, pipes } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/gated`);
    holdRelease = deferred();
    const held = pipes.getByName("gated").hold();
    await until(() => seen.includes("hold"), "the gate to be held");
    socket.send("during");
    await new Promise((resolve) => setTimeout(resolve, 50)); // the message reaches the object meanwhile
    holdRelease.resolve();
    await held;
    await socket.waitFor((f) => f === "echo:during");
    expect(seen).toEqual(["hold", "released", "message during"]);
  });

  it("queues messages that arrive before accept() and delivers them in order", async () => {
    const seen = log("late");
    const { harness, pipes } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/late?mode=later`);
    socket.send("first");
    socket.send("second");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([]);
    await pipes.getByName("late").acceptNow();
    await socket.waitFor((f) => f === "echo:second");
    expect(socket.frames).toEqual(["echo:first", "echo:second"]);
  });

  it("a listener that throws fails its event (writes undone, messages dropped) without ending the server", async () => {
    const seen = log("thrower");
    const { harness, pipes } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/thrower`);
    socket.send("throw");
    socket.send("reject");
    socket.send("after");
    await socket.waitFor((f) => f === "echo:after");
    expect(socket.frames).toEqual(["echo:reject", "echo:after"]);
    expect(seen).toEqual(["message throw", "message reject", "message after"]);
    expect(await pipes.getByName("thrower").wasThrown()).toBe(false);
  });

  it("dispatches an error event when the connection breaks, and lets the object go", async () => {
    const seen = log("breaks");
    const { harness } = await start();
    const raw = new RawClient(`${harness.wsUrl}/pipes/breaks`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    raw.send(Buffer.from([0xff, 0xfe]), { binary: false }); // invalid UTF-8 in a text frame
    await until(() => seen.length > 0, "the error event");
    expect(seen).toEqual([expect.stringMatching(/^error .*UTF-8/i)]);
    await until(() => harness.host.hibernateIdleAgents() === 1, "the object to be let go");
    raw.terminate();
  });

  it("dispatches a close (1006, the Workers runtime's reason) when the client drops the connection without a close frame", async () => {
    const seen = log("dropped");
    const { harness } = await start();
    const raw = new RawClient(`${harness.wsUrl}/pipes/dropped`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    raw.terminate();
    await until(() => seen.length > 0, "the close event");
    expect(seen).toEqual(["close 1006 WebSocket disconnected without sending Close frame."]);
    await until(() => harness.host.hibernateIdleAgents() === 1, "the object to be let go");
  });

  it("carries binary messages as ArrayBuffers both ways", async () => {
    const seen = log("bin");
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/bin`);
    socket.socket.send(new Uint8Array([1, 2, 3]));
    await socket.waitFor((f) => f === "binary:030201");
    expect(seen).toEqual(["binary true 3"]);
  });

  it("closes from the server side with the code and reason given", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/pipes/closing`);
    socket.send("close");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "asked to" });
  });
});

describe("WebSocketPair in memory", () => {
  it("connects its two ends once both are accepted, queueing what was sent before", async () => {
    const { 0: left, 1: right } = new WebSocketPair();
    const got: string[] = [];
    left.accept();
    left.send("early");
    right.addEventListener("message", (event) => got.push(String(dataOf(event))));
    expect(got).toEqual([]);
    right.accept();
    right.addEventListener("message", () => {});
    left.send("late");
    await until(() => got.length === 2, "two messages");
    expect(got).toEqual(["early", "late"]);
  });

  it("gives attachments back with typed arrays that own their bytes", () => {
    const { 1: server } = new WebSocketPair();
    server.serializeAttachment({ key: new Uint8Array([9, 8, 7]) });
    const { key } = server.deserializeAttachment() as { key: Uint8Array };
    expect(key.byteOffset).toBe(0);
    expect(new Uint8Array(key.buffer)).toEqual(new Uint8Array([9, 8, 7]));
  });

  it("refuses send() and close() before accept(), with the Workers runtime's text", () => {
    const { 1: server } = new WebSocketPair();
    const message = "You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.";
    expect(thrown(() => server.send("x"))).toMatchObject({ name: "TypeError", message });
    expect(thrown(() => server.close(1000))).toMatchObject({ name: "TypeError", message });
  });

  it("refuses send() after close() and ignores a second close()", () => {
    const { 0: client, 1: server } = new WebSocketPair();
    client.accept();
    server.accept();
    server.close(1000, "done");
    expect(server.readyState).toBe(server.CLOSED); // the peer in memory answers the close at once
    expect(thrown(() => server.send("x"))).toMatchObject({ name: "TypeError", message: "Can't call WebSocket send() after close()." });
    server.close(1000, "again");
  });

  it("lets the side that received a close still send, and ignores sends once both sides closed", async () => {
    const { 0: client, 1: server } = new WebSocketPair();
    const got: string[] = [];
    client.accept();
    server.accept();
    client.addEventListener("message", (event) => got.push(String(dataOf(event))));
    server.close(1000);
    expect(client.readyState).toBe(client.CLOSED);
    client.send("ignored"); // the connection is gone: dropped silently, as in the Workers runtime
    expect(got).toEqual([]);
  });

  it("checks close codes and reasons as the Workers runtime does", () => {
    const open = (): WorkersWebSocket => {
      const { 0: client, 1: server } = new WebSocketPair();
      client.accept();
      server.accept();
      return server;
    };
    for (const code of [999, 1004, 1005, 1006, 1015, 5000]) {
      expect(thrown(() => open().close(code))).toMatchObject({ name: "TypeError", message: `Invalid WebSocket close code: ${code}.` });
    }
    for (const code of [1000, 1001, 1008, 1011, 3000, 4999]) expect(() => open().close(code, "ok")).not.toThrow();
    expect(() => open().close()).not.toThrow();
    expect(thrown(() => open().close(undefined, "why"))).toMatchObject({
      name: "TypeError",
      message: "If you specify a WebSocket close reason, you must also specify a code.",
    });
    expect(thrown(() => open().close(1000, "x".repeat(124)))).toMatchObject({ name: "TypeError" });
    expect(() => open().close(1000, "x".repeat(123))).not.toThrow();
  });

  it("accept() twice is harmless", () => {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    expect(() => server.accept()).not.toThrow();
    client.accept();
    expect(client.readyState).toBe(client.OPEN);
  });

  it("a WebSocket object cannot be constructed directly", () => {
    const { 0: client } = new WebSocketPair();
    const Ctor = client.constructor as new (...args: unknown[]) => unknown;
    expect(() => new Ctor()).toThrow(TypeError);
  });
});

describe("101 responses", () => {
  it("lets a worker (no Durable Object) accept a pair in its own fetch", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/worker-echo`);
    socket.send("hi");
    expect(await socket.waitFor((f) => f === "worker:hi")).toBe("worker:hi");
  });

  it("answers 500 with a clear error when a request without Upgrade gets a 101, and closes the pair", async () => {
    const seen = log("plain-101");
    const { harness } = await start();
    const response = await fetch(`${harness.url}/plain-101`);
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: string }).error).toMatch(/status 101.*without `Upgrade: websocket`/);
    await until(() => seen.length > 0, "the server end to be closed");
    expect(seen).toEqual(["server closed 1011"]);
  });

  it("closes the socket a Durable Object accepted for a request without Upgrade", async () => {
    const seen = log("no-upgrade");
    const { harness } = await start();
    const response = await fetch(`${harness.url}/pipes/no-upgrade?mode=accept`);
    expect(response.status).toBe(500);
    await until(() => seen.some((s) => s.startsWith("close ")), "the object to see the close");
    expect(seen).toEqual(["close 1011 The request had no Upgrade: websocket header"]);
    await until(() => harness.host.hibernateIdleAgents() === 1, "the object to be let go");
  });

  it("refuses a 101 without a WebSocket, and a WebSocket on any other status", () => {
    expect(thrown(() => new Response(null, { status: 101 }))).toMatchObject({ name: "TypeError" });
    expect(thrown(() => new Response(null, { status: 101 })).message).toMatch(/101 response needs a webSocket/);
    const { 0: client } = new WebSocketPair();
    expect(thrown(() => new Response("body", { status: 101, webSocket: client } as ResponseInit))).toMatchObject({ name: "TypeError" });
    expect(thrown(() => new Response(null, { status: 200, webSocket: client } as ResponseInit))).toMatchObject({ name: "TypeError" });
  });

  it("keeps instanceof Response true for fetch() results, Response.json and 101 responses", async () => {
    const { harness } = await start();
    const fetched = await fetch(`${harness.url}/worker-echo`);
    expect(fetched).toBeInstanceOf(Response);
    expect(Response.json({ a: 1 })).toBeInstanceOf(Response);
    const { 0: client } = new WebSocketPair();
    const upgrade = upgradeResponse(client);
    expect(upgrade).toBeInstanceOf(Response);
    expect(upgrade.status).toBe(101);
    expect(webSocketOf(upgrade)).toBe(client);
    expect(webSocketOf(new Response("x"))).toBeNull();
  });
});
