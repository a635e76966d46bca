import net from "node:net";
import type { FaultMode } from "./fault-proxy.ts";

/** The proxy's counters a link adds to. */
export interface LinkCounters {
  reset: number;
  bytesToTarget: number;
  bytesToClient: number;
}

type Item =
  | { readonly kind: "data"; readonly chunk: Buffer; readonly due: number }
  | { readonly kind: "end"; readonly due: number }
  | { readonly kind: "reset"; readonly due: number };

/**
 * One direction of a link: what `from` sends, queued with the time it may reach `to`. The queue holds
 * FIN and RST too, so a peer's close reaches the other side in order, after the bytes before it, and
 * not at all while the link is black-holed (as on a real partition).
 */
class Direction {
  readonly #items: Item[] = [];
  #delay = 0;
  #holding = true;
  #draining = false;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  readonly from: net.Socket;
  readonly to: net.Socket;
  readonly count: (bytes: number) => void;

  constructor(from: net.Socket, to: net.Socket, count: (bytes: number) => void) {
    this.from = from;
    this.to = to;
    this.count = count;
    from.on("data", (chunk: Buffer) => this.#push({ kind: "data", chunk, due: performance.now() + this.#delay }));
    from.on("end", () => this.#push({ kind: "end", due: performance.now() + this.#delay }));
    // A reset or error of `from` becomes an RST to `to`; "close" after "end" is the normal end of the stream.
    from.on("error", () => this.#push({ kind: "reset", due: performance.now() + this.#delay }));
  }

  /** Delivers queued items after `delay` ms each, and keeps reading. */
  flow(delay: number): void {
    this.#delay = delay;
    this.#holding = false;
    if (!this.#draining) this.from.resume();
    this.#flush();
  }

  /** Stops reading and delivering; queued items wait. */
  hold(): void {
    this.#holding = true;
    this.from.pause();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  clear(): void {
    this.hold();
    this.#items.length = 0;
    this.#done = true;
  }

  #push(item: Item): void {
    if (this.#done) return;
    this.#items.push(item);
    if (!this.#holding && this.#timer === undefined) this.#flush();
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (!this.#holding && this.#items.length > 0) {
      const head = this.#items[0]!;
      const wait = head.due - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => this.#flush(), wait);
        return;
      }
      this.#items.shift();
      this.#deliver(head);
    }
  }

  #deliver(item: Item): void {
    const to = this.to;
    if (to.destroyed) return;
    if (item.kind === "reset") {
      this.#done = true;
      to.resetAndDestroy();
    } else if (item.kind === "end") {
      to.end();
    } else {
      this.count(item.chunk.length);
      if (!to.write(item.chunk) && !this.#draining) {
        // Back-pressure: stop reading until the slow side drained, as a real socket would.
        this.#draining = true;
        this.from.pause();
        to.once("drain", () => {
          this.#draining = false;
          if (!this.#holding) this.from.resume();
        });
      }
    }
  }
}

/**
 * One client connection through the fault proxy and its connection to the target. The target is
 * dialled on the first mode that lets bytes through, so a connection accepted during a black hole
 * waits as a SYN on a dead network would.
 */
export class FaultLink {
  onClosed: () => void = () => {};
  #upstream: net.Socket | undefined;
  #toTarget: Direction | undefined;
  #toClient: Direction | undefined;
  #finished = false;

  readonly client: net.Socket;
  readonly target: { readonly host: string; readonly port: number };
  readonly counters: LinkCounters;

  constructor(client: net.Socket, target: { readonly host: string; readonly port: number }, counters: LinkCounters) {
    this.client = client;
    this.target = target;
    this.counters = counters;
    client.on("error", () => {});
    client.on("close", () => this.#checkClosed());
  }

  apply(mode: FaultMode): void {
    if (this.#finished) return;
    if (mode === "reset") return this.reset();
    if (mode === "blackhole") {
      this.#toTarget?.hold();
      this.#toClient?.hold();
      return;
    }
    const delay = typeof mode === "object" ? mode.delay : 0;
    this.#dial();
    this.#toTarget!.flow(delay);
    this.#toClient!.flow(delay);
  }

  /** Destroys both sockets with an RST. */
  reset(): void {
    if (this.#finished) return;
    this.counters.reset++;
    this.#toTarget?.clear();
    this.#toClient?.clear();
    if (!this.client.destroyed) this.client.resetAndDestroy();
    if (this.#upstream && !this.#upstream.destroyed) this.#upstream.resetAndDestroy();
    this.#finish();
  }

  /** Destroys both sockets (the proxy is closing). */
  destroy(): void {
    this.#toTarget?.clear();
    this.#toClient?.clear();
    this.client.destroy();
    this.#upstream?.destroy();
    this.#finish();
  }

  #dial(): void {
    if (this.#upstream) return;
    // Nagle off on both sides (the server sets it too), so the proxy adds no latency of its own to small writes.
    const upstream = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true, noDelay: true });
    this.#upstream = upstream;
    upstream.on("close", () => this.#checkClosed());
    this.#toTarget = new Direction(this.client, upstream, (n) => (this.counters.bytesToTarget += n));
    this.#toClient = new Direction(upstream, this.client, (n) => (this.counters.bytesToClient += n));
  }

  #checkClosed(): void {
    const upstreamDone = this.#upstream === undefined || this.#upstream.destroyed;
    if (this.client.destroyed && upstreamDone) this.#finish();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.onClosed();
  }
}
