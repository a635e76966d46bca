import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { threadId, MessageChannel, Worker, type TransferListItem } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { moveUpgrade } from "../../src/gateway/connection-transfer.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server whose upgrades go to `onUpgrade`; anything left with it is answered here, "<threadId>:<message>". */
async function listen(onUpgrade: Parameters<typeof moveUpgrade>[3] | undefined): Promise<{ server: Server; url: string }> {
  const sockets = new WebSocketServer({ noServer: true });
  const server = createServer((_request, response) => response.end("plain"));
  server.on("upgrade", (request, socket, head) => {
    if (onUpgrade && moveUpgrade(request, socket, head, onUpgrade)) return;
    sockets.handleUpgrade(request, socket, head, (ws) => ws.on("message", (data) => ws.send(`${threadId}:${String(data)}`)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Opens a WebSocket, sends each message in turn and returns the replies. */
async function exchange(url: string, messages: string[]): Promise<string[]> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  const replies: string[] = [];
  for (const message of messages) {
    const reply = new Promise<string>((resolve) => (ws.onmessage = (event) => resolve(String(event.data))));
    ws.send(message);
    replies.push(await reply);
  }
  ws.close();
  return replies;
}

describe("moving an upgrade's connection to another thread", () => {
  it("moves the whole connection: the other thread's server answers the upgrade and every frame after it", async () => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL("./fixtures/adopting-server.ts", import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
    cleanups.push(() => worker.terminate());
    const other = await new Promise<number>((resolve) => port1.once("message", (message: { ready: number }) => resolve(message.ready)));
    let moved = 0;
    const { server, url } = await listen((connection) => {
      port1.postMessage(connection, [connection.handle as TransferListItem]);
      moved++;
    });
    expect(await exchange(`${url}/agents/a/b`, ["one", "two", "three"])).toEqual([`${other}:one`, `${other}:two`, `${other}:three`]);
    expect(moved).toBe(1);
    const held = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
    expect(held).toBe(0); // this thread let go of it
    expect(other).not.toBe(threadId);
  });

  it("leaves the connection to this server, working, when it cannot be moved", async () => {
    const { url } = await listen(() => {
      throw new Error("the other thread is gone");
    });
    expect(await exchange(`${url}/agents/a/b`, ["one", "two"])).toEqual([`${threadId}:one`, `${threadId}:two`]);
  });
});
