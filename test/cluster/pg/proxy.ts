import net from "node:net";

/**
 * A TCP proxy on loopback between the tests' clients and Postgres, with the faults the cluster must
 * survive: `blackhole` stops forwarding in both directions and keeps the sockets open (a half-open
 * link); `cut-after-commit` drops the first server reply that ends with ReadyForQuery (sent only
 * after the statement's transaction committed) and resets that connection, then passes again.
 */
export class FaultProxy {
  mode: "pass" | "blackhole" | "cut-after-commit" = "pass";
  /** Replies dropped by `cut-after-commit`. */
  cuts = 0;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<FaultProxy> {
    const server = net.createServer();
    const proxy = new FaultProxy(server);
    server.on("connection", (client) => proxy.#relay(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** A connection string to `database` through the proxy. */
  url(direct: string): string {
    const url = new URL(direct);
    url.port = String(this.port);
    return url.toString();
  }

  #relay(client: net.Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk) => {
      if (this.mode !== "blackhole") upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (this.mode === "blackhole") return;
      if (this.mode === "cut-after-commit" && endsWithReadyForQuery(chunk)) {
        this.mode = "pass";
        this.cuts++;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** ReadyForQuery: 'Z', int32 length 5, one status byte. */
function endsWithReadyForQuery(chunk: Buffer): boolean {
  const at = chunk.length - 6;
  return at >= 0 && chunk[at] === 0x5a && chunk.readInt32BE(at + 1) === 5;
}
