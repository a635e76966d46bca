import net from "node:net";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startFaultProxy, type FaultProxy } from "../support/fault-proxy.ts";

/** An echo server that also counts the connections it accepted and the bytes it received. */
interface Echo {
  readonly port: number;
  readonly sockets: net.Socket[];
  received: number;
  close(): Promise<void>;
}

async function startEcho(): Promise<Echo> {
  const sockets: net.Socket[] = [];
  const echo = { port: 0, sockets, received: 0, close: async () => {} };
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.on("data", (chunk) => (echo.received += chunk.length));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  echo.port = (server.address() as net.AddressInfo).port;
  echo.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return echo;
}

/** A client socket that collects what it reads and how it ended. */
interface Peer {
  readonly socket: net.Socket;
  text: string;
  ended: boolean;
  closed: boolean;
  error: NodeJS.ErrnoException | undefined;
}

function connect(port: number): Peer {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const peer: Peer = { socket, text: "", ended: false, closed: false, error: undefined };
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (peer.text += chunk));
  socket.on("end", () => (peer.ended = true));
  socket.on("close", () => (peer.closed = true));
  socket.on("error", (error) => (peer.error = error));
  return peer;
}

async function connected(peer: Peer): Promise<Peer> {
  if (!peer.socket.connecting) return peer;
  await new Promise<void>((resolve, reject) => {
    peer.socket.once("connect", resolve);
    peer.socket.once("error", reject);
  });
  return peer;
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets the event loop run for a while, to show that something does NOT happen. */
const settle = (ms = 100): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("the TCP fault proxy", () => {
  let echo: Echo;
  let proxy: FaultProxy;
  const peers: Peer[] = [];
  const open = (): Peer => {
    const peer = connect(proxy.port);
    peers.push(peer);
    return peer;
  };

  beforeEach(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: echo.port } });
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.socket.destroy();
    await proxy.close();
    await echo.close();
  });

  test("pass pipes both ways and counts the bytes", async () => {
    const peer = await connected(open());
    peer.socket.write("hello");
    await waitFor("the echo", () => peer.text === "hello");
    expect(proxy.stats).toMatchObject({ accepted: 1, open: 1, reset: 0, bytesToTarget: 5, bytesToClient: 5 });
  });

  test("a FIN crosses the proxy in both directions", async () => {
    const peer = await connected(open());
    peer.socket.end("bye");
    await waitFor("the echo server's FIN", () => peer.ended);
    expect(peer.text).toBe("bye");
    await waitFor("the link to close", () => proxy.stats.open === 0);
  });

  test("delay keeps the order of bytes across mode changes", async () => {
    const peer = await connected(open());
    peer.socket.write("a");
    await proxy.mode({ delay: 60 });
    peer.socket.write("b");
    await proxy.mode({ delay: 0 });
    peer.socket.write("c");
    await waitFor("three bytes", () => peer.text.length === 3);
    expect(peer.text).toBe("abc");
  });

  test("delay holds bytes back until their time", async () => {
    const peer = await connected(open());
    await proxy.mode({ delay: 60_000 });
    peer.socket.write("slow");
    await settle();
    expect(echo.received).toBe(0);
    expect(proxy.stats.bytesToTarget).toBe(0);
  });

  test("blackhole keeps the sockets open and moves nothing; pass delivers what was held, in order", async () => {
    const peer = await connected(open());
    peer.socket.write("1");
    await waitFor("the first echo", () => peer.text === "1");
    await proxy.mode("blackhole");
    peer.socket.write("2");
    peer.socket.write("3");
    await settle();
    expect(peer.text).toBe("1");
    expect(echo.received).toBe(1);
    expect(peer.closed).toBe(false);
    expect(echo.sockets[0]!.destroyed).toBe(false);
    await proxy.mode("pass");
    await waitFor("the held bytes", () => peer.text === "123");
  });

  test("a FIN sent into a black hole arrives only when the link comes back", async () => {
    const peer = await connected(open());
    await proxy.mode("blackhole");
    peer.socket.end("x");
    await settle();
    expect(peer.ended).toBe(false);
    await proxy.mode("pass");
    await waitFor("the FIN back", () => peer.ended);
    expect(peer.text).toBe("x");
  });

  test("bytes sent into a black hole by a client that then gave up still arrive when the link comes back", async () => {
    const peer = await connected(open());
    await proxy.mode("blackhole");
    await new Promise<void>((resolve) => peer.socket.write("late request", () => resolve()));
    peer.socket.destroy();
    await settle();
    expect(echo.received).toBe(0);
    await proxy.mode("pass");
    await waitFor("the request to reach the target", () => echo.received === "late request".length);
  });

  test("a connection made during a black hole reaches the target only when the link comes back", async () => {
    await proxy.mode("blackhole");
    const peer = await connected(open());
    peer.socket.write("late");
    await settle();
    expect(echo.sockets).toHaveLength(0);
    await proxy.mode("pass");
    await waitFor("the echo", () => peer.text === "late");
    expect(echo.sockets).toHaveLength(1);
  });

  test("reset destroys every current connection on both sides, and new ones while it lasts", async () => {
    const first = await connected(open());
    const second = await connected(open());
    first.socket.write("x");
    second.socket.write("y");
    await waitFor("both echoes", () => first.text === "x" && second.text === "y");
    await proxy.mode("reset");
    await waitFor("both clients to close", () => first.closed && second.closed);
    expect(first.error?.code).toBe("ECONNRESET");
    expect(second.error?.code).toBe("ECONNRESET");
    await waitFor("the server side to close", () => echo.sockets.every((socket) => socket.destroyed));
    expect(proxy.stats).toMatchObject({ open: 0, reset: 2 });

    const during = open();
    await waitFor("the new client to be reset", () => during.closed);
    expect(during.error?.code).toBe("ECONNRESET");

    await proxy.mode("pass");
    const after = await connected(open());
    after.socket.write("again");
    await waitFor("an echo after the reset", () => after.text === "again");
  });

  test("drop-new refuses new connections and keeps the existing ones; leaving it listens again on the same port", async () => {
    const kept = await connected(open());
    await proxy.mode("drop-new");
    const refused = open();
    await waitFor("the refusal", () => refused.closed);
    expect(refused.error?.code).toBe("ECONNREFUSED");
    kept.socket.write("still here");
    await waitFor("the kept link's echo", () => kept.text === "still here");

    await proxy.mode("pass");
    const fresh = await connected(open());
    fresh.socket.write("new");
    await waitFor("a new link's echo", () => fresh.text === "new");
  });

  test("starting in drop-new refuses from the first connection", async () => {
    const refusing = await startFaultProxy({ target: { host: "127.0.0.1", port: echo.port }, mode: "drop-new" });
    try {
      const refused = connect(refusing.port);
      peers.push(refused);
      await waitFor("the refusal", () => refused.closed);
      expect(refused.error?.code).toBe("ECONNREFUSED");
    } finally {
      await refusing.close();
    }
  });

  test("a target that refuses resets the client", async () => {
    const down = await startFaultProxy({ target: { host: "127.0.0.1", port: echo.port } });
    await echo.close();
    try {
      const peer = connect(down.port);
      peers.push(peer);
      await waitFor("the client to close", () => peer.closed);
      expect(peer.error?.code).toBe("ECONNRESET");
    } finally {
      await down.close();
    }
  });

  test("url() points a connection string at the proxy", () => {
    expect(proxy.url("postgres://hearth@127.0.0.1:5432/db?application_name=a")).toBe(
      `postgres://hearth@127.0.0.1:${proxy.port}/db?application_name=a`,
    );
    expect(proxy.url("http://localhost:8787/agents/x")).toBe(`http://127.0.0.1:${proxy.port}/agents/x`);
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
  });

  test("bad modes are refused with the rule they break", async () => {
    await expect(proxy.mode({ delay: -1 })).rejects.toThrow("fault proxy: delay must be a finite number of milliseconds >= 0, got -1");
    await expect(proxy.mode("sideways" as never)).rejects.toThrow(
      'fault proxy: unknown mode "sideways" (pass, blackhole, reset, drop-new or { delay })',
    );
    expect(proxy.currentMode).toBe("pass");
    await proxy.close();
    await expect(proxy.mode("pass")).rejects.toThrow("fault proxy: mode() after close()");
  });
});
