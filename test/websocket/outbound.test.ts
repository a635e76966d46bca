/**
 * A Worker's WebSocket client: `fetch(url, { headers: { Upgrade: "websocket" } })` from a Durable
 * Object (or any code) opens a WebSocket and resolves to a 101 whose `webSocket` the caller accepts; a
 * server that does not upgrade gives its own response, and other fetches are Node's, unchanged.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket as RawClient, WebSocketServer } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Dialer extends DurableObject {
  /** Opens a WebSocket to `url`, sends "hi", and gives back what came first, with the handshake's subprotocol. */
  async dial(url: string): Promise<{ status: number; protocol: string | null; reply: string }> {
    const response = await fetch(url, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "chat, other", "X-Caller": "dialer" } });
    const ws = (response as Response & { webSocket: WorkersWebSocket | null }).webSocket!;
    ws.accept();
    const reply = new Promise<string>((resolve) => ws.addEventListener("message", (event) => resolve(String((event as MessageEvent).data)), { once: true }));
    ws.send("hi");
    const text = await reply;
    ws.close(1000, "done");
    return { status: response.status, protocol: response.headers.get("sec-websocket-protocol"), reply: text };
  }

  /** A fetch with Upgrade to a server that answers without upgrading. */
  async refused(url: string): Promise<{ status: number; body: string; webSocket: boolean }> {
    const response = await fetch(url, { headers: { Upgrade: "websocket" } });
    return { status: response.status, body: await response.text(), webSocket: (response as Response & { webSocket: unknown }).webSocket != null };
  }

  async plain(url: string): Promise<string> {
    return (await fetch(url)).text();
  }
}

let harness: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * An HTTP server on loopback that answers plain requests (and upgrades, with no `upgrade` listener)
 * 403; with `sockets`, a WebSocket server on it echoes each message with the request's X-Caller.
 */
async function peer(sockets: boolean): Promise<string> {
  const server = createServer((_request, response) => response.writeHead(403, { "content-type": "text/plain" }).end("no sockets here"));
  servers.push(server);
  if (sockets) {
    const wss = new WebSocketServer({ server, handleProtocols: (offered) => (offered.has("chat") ? "chat" : false) });
    wss.on("connection", (ws, request) => ws.on("message", (data) => ws.send(`${request.headers["x-caller"]}: ${String(data)}`)));
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The origin a worker's `/proxy` route passes WebSockets on to. */
let origin = "";

async function dialer(): Promise<ReturnType<DurableObjectNamespace<Dialer>["getByName"]>> {
  harness = await startHarness(
    {},
    {
      durableObjects: { DIALERS: Dialer },
      // A WebSocket proxy: the worker returns the 101 of its own fetch to the origin.
      fetch: (request) => fetch(`${origin}/ws`, { headers: { Upgrade: "websocket", "X-Caller": `proxy for ${request.headers.get("x-user")}` } }),
    },
  );
  return (harness.host.env.DIALERS as DurableObjectNamespace<Dialer>).getByName("d");
}

describe("fetch with Upgrade: websocket", () => {
  it("opens a WebSocket the caller accepts, with its headers and the subprotocol the server chose", async () => {
    const url = await peer(true);
    expect(await (await dialer()).dial(`${url}/ws`)).toEqual({ status: 101, protocol: "chat", reply: "dialer: hi" });
  });

  it("passes the server's WebSocket on to the worker's client when the worker returns the 101 (a proxy)", async () => {
    origin = await peer(true);
    const { wsUrl } = await dialer().then(() => harness!);
    const client = new RawClient(`${wsUrl}/proxy`, { headers: { "x-user": "ada" } });
    await new Promise((resolve, reject) => client.once("open", resolve).once("error", reject));
    client.send("hi");
    expect(await new Promise((resolve) => client.once("message", (data) => resolve(String(data))))).toBe("proxy for ada: hi");
    client.close(1000);
    expect(await new Promise((resolve) => client.once("close", (code) => resolve(code)))).toBe(1000);
  });

  it("gives the server's own response when it does not upgrade, and leaves other fetches to Node", async () => {
    const url = await peer(false);
    const stub = await dialer();
    expect(await stub.refused(`${url}/ws`)).toEqual({ status: 403, body: "no sockets here", webSocket: false });
    expect(await stub.plain(`${url}/page`)).toBe("no sockets here");
  });
});
