import net from "node:net";

/** A round-robin TCP load balancer on loopback: each new connection goes to the next target. */
export interface Balancer {
  readonly url: string;
  readonly port: number;
  /** Connections handed to each target so far, by index. */
  readonly handed: number[];
  close(): Promise<void>;
}

/**
 * Spreads connections over `targets` in turn, as a layer-4 load balancer in front of cluster nodes
 * does (HTTP keep-alive connections and WebSockets stay on the node they reached).
 * @example
 * const balancer = await startBalancer([{ host: "127.0.0.1", port: 8787 }, { host: "127.0.0.1", port: 8788 }]);
 * await fetch(`${balancer.url}/agents/counter/a`);
 */
export async function startBalancer(targets: ReadonlyArray<{ host: string; port: number }>): Promise<Balancer> {
  if (targets.length === 0) throw new Error("startBalancer needs at least one target");
  const handed = targets.map(() => 0);
  const sockets = new Set<net.Socket>();
  let next = 0;
  const server = net.createServer((client) => {
    const index = next++ % targets.length;
    handed[index]!++;
    const target = targets[index]!;
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    handed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
