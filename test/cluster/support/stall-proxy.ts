import net from "node:net";

/**
 * A TCP proxy on loopback between one node and Postgres for stalls the fault proxy cannot make:
 * `holdOn` lets a given statement reach Postgres, then holds every connection's bytes (its answer
 * included; open and new connections, both ways, closes too) for a while and delivers them in order; `freezeOpen` makes the
 * connections open now silent for good (no bytes, no FIN, no RST) while new ones pass.
 * @example
 * const proxy = await StallProxy.start(postgres.port);
 * const held = proxy.holdOn((sql) => sql.includes("COPY ("), 6_000);
 * await held; // the statement was sent: nothing moves for 6 s
 */
export class StallProxy {
  readonly #server: net.Server;
  readonly #links = new Set<Link>();
  #held = false;
  #trigger: { match: (text: string) => boolean; ms: number; started: () => void } | undefined;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<StallProxy> {
    const server = net.createServer({ allowHalfOpen: true });
    const proxy = new StallProxy(server);
    server.on("connection", (client) => proxy.#relay(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** `direct` (a connection string) with the proxy's port. */
  url(direct: string): string {
    const url = new URL(direct);
    url.port = String((this.#server.address() as net.AddressInfo).port);
    return url.toString();
  }

  /** Arms a hold of `ms` right after the first client bytes whose text `match`es; resolves when it starts. */
  holdOn(match: (text: string) => boolean, ms: number): Promise<void> {
    const started = Promise.withResolvers<void>();
    this.#trigger = { match, ms, started: started.resolve };
    return started.promise;
  }

  /** Makes every open connection silent for good (new ones pass); returns how many. */
  freezeOpen(): number {
    for (const link of this.#links) link.frozen = true;
    return this.#links.size;
  }

  async close(): Promise<void> {
    for (const link of this.#links) link.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #relay(client: net.Socket, targetPort: number): void {
    const upstream = net.connect({ port: targetPort, host: "127.0.0.1", allowHalfOpen: true });
    const link = new Link(client, upstream, () => this.#held);
    this.#links.add(link);
    link.onClose = () => this.#links.delete(link);
    link.inspect = (chunk) => {
      const trigger = this.#trigger;
      if (trigger === undefined || !trigger.match(chunk.toString("latin1"))) return;
      this.#trigger = undefined;
      this.#held = true;
      trigger.started();
      setTimeout(() => {
        this.#held = false;
        for (const each of this.#links) each.flush();
      }, trigger.ms);
    };
  }
}

type Item = Buffer | "end";

/** One client connection and its connection to Postgres. */
class Link {
  frozen = false;
  inspect: (chunk: Buffer) => void = () => {};
  onClose: () => void = () => {};
  readonly #toTarget: Item[] = [];
  readonly #toClient: Item[] = [];

  readonly client: net.Socket;
  readonly upstream: net.Socket;
  readonly held: () => boolean;

  constructor(client: net.Socket, upstream: net.Socket, held: () => boolean) {
    this.client = client;
    this.upstream = upstream;
    this.held = held;
    for (const [from, to, queue] of [
      [client, upstream, this.#toTarget],
      [upstream, client, this.#toClient],
    ] as const) {
      from.on("error", () => undefined);
      from.on("data", (chunk: Buffer) => {
        this.#send(to, queue, chunk);
        if (from === client) this.inspect(chunk);
      });
      from.on("end", () => this.#send(to, queue, "end"));
      from.on("close", () => {
        if (this.frozen || this.held()) return;
        to.destroy();
        this.onClose();
      });
    }
  }

  #send(to: net.Socket, queue: Item[], item: Item): void {
    if (this.frozen) return;
    queue.push(item);
    if (!this.held()) this.flush();
  }

  flush(): void {
    if (this.frozen) return;
    for (const [to, queue] of [
      [this.upstream, this.#toTarget],
      [this.client, this.#toClient],
    ] as const) {
      for (const item of queue.splice(0)) {
        if (to.destroyed) continue;
        if (item === "end") to.end();
        else to.write(item);
      }
    }
    if (this.client.destroyed || this.upstream.destroyed) this.destroy();
  }

  destroy(): void {
    this.client.destroy();
    this.upstream.destroy();
    this.onClose();
  }
}
