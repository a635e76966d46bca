import { EventEmitter } from "node:events";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { forwardToOwners, RELAY_LIMITS } from "../../src/cluster/forward.ts";
import type { RemoteActors } from "../../src/host/placement.ts";
import { until } from "./support/until.ts";

/**
 * A client socket relayed by a node (b) to the node holding its agent (a): bounded while the relay's
 * own socket is opened, and flow-controlled once it is open.
 */

const unreachedLocal: RemoteActors = {
  request: () => Promise.reject(new Error("the local host was reached")),
  invoke: () => Promise.reject(new Error("the local host was reached")),
  start: () => Promise.reject(new Error("the local host was reached")),
  acceptSocket: () => {
    throw new Error("the local host was reached");
  },
};

/** Resolves with the close code of `ws`, or rejects after `ms` (a socket left open fails the test rather than holding it). */
function closeCode(ws: WebSocket, ms = 20_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the client's socket is still ${ws.readyState === WebSocket.OPEN ? "open" : `in state ${ws.readyState}`} after ${ms} ms`)), ms);
    ws.once("close", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("a client socket relayed to its agent's node", () => {
  const closing: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** Node b's side: a WebSocket server handing every socket to the forwarder, towards `owner` (which must answer the relay's upgrade within `answerWithinMs`). */
  async function relayingNode(owner: string, answerWithinMs = 300): Promise<{ connect: () => Promise<{ client: WebSocket; relaySide: WebSocket }>; forgotten: () => number }> {
    let forgotten = 0;
    const remote = forwardToOwners({
      route: async () => ({ here: false, nodeId: "a", address: owner }),
      forget: () => forgotten++,
      holder: async () => "a",
      holds: () => false,
      local: unreachedLocal,
      key: "k",
      retryForMs: 1_000,
      answerWithinMs,
    });
    const front = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((resolve) => front.once("listening", () => resolve()));
    const accepted: WebSocket[] = [];
    front.on("connection", (ws) => {
      accepted.push(ws);
      remote.acceptSocket("Counter", "x", ws, new Request("http://node-b/agents/counter/x"));
    });
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of front.clients) ws.terminate();
          front.close(() => resolve());
        }),
    );
    return {
      forgotten: () => forgotten,
      connect: async () => {
        const client = new WebSocket(`ws://127.0.0.1:${(front.address() as AddressInfo).port}`);
        closing.push(() => client.terminate());
        await new Promise((resolve, reject) => {
          client.once("open", resolve);
          client.once("error", reject);
        });
        await until("the relay's side of the socket", async () => accepted.length, (count) => count > 0);
        return { client, relaySide: accepted.at(-1)! };
      },
    };
  }

  /** An owner that accepts TCP connections and never answers (frozen). */
  async function frozenOwner(): Promise<string> {
    const sockets: Socket[] = [];
    const server = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("whose owner never answers the relay's upgrade is closed with 1012, and the owner forgotten", async () => {
    const node = await relayingNode(await frozenOwner());
    const { client } = await node.connect();
    expect(await closeCode(client)).toBe(1012);
    expect(node.forgotten()).toBeGreaterThan(0);
  }, 30_000);

  it("that sends more than RELAY_LIMITS.maxQueuedBytes while the relay is being opened is closed with 1009", async () => {
    // The owner's time must outlast the frame's arrival (slow on a loaded machine): else the 1012 comes first.
    const node = await relayingNode(await frozenOwner(), 10_000);
    const { client } = await node.connect();
    const closed = closeCode(client);
    client.send(Buffer.alloc(RELAY_LIMITS.maxQueuedBytes + 1, 1));
    expect(await closed).toBe(1009);
  }, 30_000);

  it("that keeps sending while the relay is being opened is no longer read past RELAY_LIMITS.pauseAboveBytes", async () => {
    const node = await relayingNode(await frozenOwner());
    const { client, relaySide } = await node.connect();
    const chunk = Buffer.alloc(64 * 1024, 1);
    for (let i = 0; i < (4 * RELAY_LIMITS.maxQueuedBytes) / chunk.byteLength; i++) client.send(chunk);
    await until("the relay stops reading the client", async () => relaySide.isPaused, (paused) => paused);
    // Not closed for what it sent (the frames wait in the client's socket), then 1012 once the owner's time is up.
    expect(await closeCode(client)).toBe(1012);
  }, 30_000);

  it("open, towards an owner that does not read: stops reading the client, and relays every frame in order once the owner reads", async () => {
    const owner = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((resolve) => owner.once("listening", () => resolve()));
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of owner.clients) ws.terminate();
          owner.close(() => resolve());
        }),
    );
    const received: number[] = [];
    const ownerSide = Promise.withResolvers<WebSocket>();
    owner.on("connection", (ws) => {
      ws.on("message", (data: Buffer) => received.push(data.readUInt32BE(0)));
      ws.pause();
      ownerSide.resolve(ws);
    });
    // The owner answers the upgrade: time enough for that on a busy machine.
    const node = await relayingNode(`http://127.0.0.1:${(owner.address() as AddressInfo).port}`, 10_000);
    const { client, relaySide } = await node.connect();
    const ownerWs = await ownerSide.promise;
    const frames = 256;
    for (let i = 0; i < frames; i++) {
      const frame = Buffer.alloc(256 * 1024);
      frame.writeUInt32BE(i, 0);
      client.send(frame);
    }
    await until("the relay stops reading the client", async () => relaySide.isPaused, (paused) => paused);
    ownerWs.resume();
    await until("every frame at the owner", async () => received.length, (count) => count === frames);
    expect(received).toEqual(Array.from({ length: frames }, (_, i) => i));
    expect(relaySide.isPaused).toBe(false);
    expect(client.readyState).toBe(WebSocket.OPEN);
  }, 30_000);

  it("closed by its client while the relay has stopped reading the owner: the owner's socket closes at once, not after ws's 30 s close timeout", async () => {
    const owner = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((resolve) => owner.once("listening", () => resolve()));
    closing.push(
      () =>
        new Promise<void>((resolve) => {
          for (const ws of owner.clients) ws.terminate();
          owner.close(() => resolve());
        }),
    );
    const ownerSide = Promise.withResolvers<WebSocket>();
    owner.on("connection", (ws) => ownerSide.resolve(ws));
    const remote = forwardToOwners({
      route: async () => ({ here: false, nodeId: "a", address: `http://127.0.0.1:${(owner.address() as AddressInfo).port}` }),
      forget: () => {},
      holder: async () => "a",
      holds: () => false,
      local: unreachedLocal,
      key: "k",
      retryForMs: 1_000,
      answerWithinMs: 10_000,
    });
    // The relay's side of the client's socket, made deterministic: it never drains (more than
    // RELAY_LIMITS.pauseAboveBytes always waiting, no send ever completes), so the relay stops reading
    // the owner at its first frame and nothing resumes it but the client's close.
    const received: unknown[] = [];
    const clientSide = Object.assign(new EventEmitter(), {
      readyState: WebSocket.OPEN as number,
      bufferedAmount: RELAY_LIMITS.pauseAboveBytes + 1,
      send: (data: unknown) => void received.push(data),
      pause: () => {},
      resume: () => {},
      close: () => {},
      terminate: () => {},
    });
    remote.acceptSocket("Counter", "x", clientSide as unknown as WebSocket, new Request("http://node-b/agents/counter/x"));
    const ownerWs = await ownerSide.promise;
    ownerWs.send("first");
    ownerWs.send("second");
    await until("the owner's first frame relayed", async () => received.length, (count) => count > 0);
    const ownerClosed = closeCode(ownerWs, 10_000);
    clientSide.readyState = WebSocket.CLOSED;
    clientSide.emit("close", 1006, Buffer.alloc(0));
    expect(await ownerClosed).toBe(1000);
  }, 30_000);
});
