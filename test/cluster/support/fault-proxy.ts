import net from "node:net";
import { FaultLink } from "./fault-link.ts";

/**
 * What the proxy does to traffic. Every mode applies to existing connections as well as new ones:
 * - `pass`: pipe bytes both ways; anything held back by an earlier mode is delivered first, in order.
 * - `{ delay: ms }`: each chunk reaches the other side `ms` later, in each direction (a round trip
 *   gains 2 × ms); order is kept.
 * - `blackhole`: both sockets stay open and nothing moves — the half-open case. Reads stop, so the
 *   peers' writes pile up in kernel buffers as on a dead network; TCP keepalive cannot notice (the
 *   proxy's kernel still ACKs), only application timeouts can. New connections are accepted and held
 *   without dialling the target. Back to `pass` (or `delay`), held bytes and held connections go
 *   through like a network that came back: the TCP streams resume where they stopped.
 * - `reset`: every current connection is destroyed on both sides with an RST; new connections are
 *   accepted and reset at once, until the mode changes.
 * - `drop-new`: the listening socket closes, so new connections get ECONNREFUSED; existing ones keep
 *   piping as in `pass`. Leaving the mode listens again on the same port.
 */
export type FaultMode = "pass" | "blackhole" | "reset" | "drop-new" | { readonly delay: number };

/** Counters since the proxy started. */
export interface FaultProxyStats {
  /** Connections accepted by the proxy (including ones reset at once). */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
  /** Connections destroyed by the `reset` mode. */
  readonly reset: number;
  /** Bytes delivered client → target and target → client. */
  readonly bytesToTarget: number;
  readonly bytesToClient: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** Where the proxy forwards to. */
  readonly target: { readonly host: string; readonly port: number };
  /** `host:port` of the proxy. */
  readonly address: string;
  /** The given URL (postgres://, http://, ws://…) with its host and port replaced by the proxy's. */
  url(through: string): string;
  /** Switches the mode; resolves once it is in force (the listener closed or reopened for `drop-new`). */
  mode(next: FaultMode): Promise<void>;
  readonly currentMode: FaultMode;
  readonly stats: FaultProxyStats;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** Port to listen on (default: a free one). */
  readonly port?: number;
  readonly mode?: FaultMode;
}

const HOST = "127.0.0.1";

/**
 * A TCP proxy on loopback whose link can be delayed, black-holed, reset or closed to new connections,
 * to put faults between a node and Postgres or between two nodes.
 *
 * @example
 * const proxy = await startFaultProxy({ target: { host: "127.0.0.1", port: pg.port } });
 * const client = new pg.Client({ connectionString: proxy.url(pg.url) });
 * await proxy.mode("blackhole"); // queries now hang until a client-side timeout
 * await proxy.mode("pass");      // the link comes back
 * await proxy.close();
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  checkMode(options.mode ?? "pass");
  let current: FaultMode = options.mode ?? "pass";
  const links = new Set<FaultLink>();
  const counters = { accepted: 0, reset: 0, bytesToTarget: 0, bytesToClient: 0 };
  let server: net.Server | undefined;
  let closed = false;

  const accept = (client: net.Socket): void => {
    counters.accepted++;
    if (current === "reset" || closed) {
      counters.reset++;
      client.resetAndDestroy();
      return;
    }
    const link = new FaultLink(client, options.target, counters);
    links.add(link);
    link.onClosed = () => links.delete(link);
    link.apply(current);
  };

  const listen = (port: number): Promise<net.Server> =>
    new Promise((resolve, reject) => {
      const next = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, accept);
      next.once("error", reject);
      next.listen(port, HOST, () => {
        next.off("error", reject);
        resolve(next);
      });
    });

  const first = await listen(options.port ?? 0);
  const port = (first.address() as net.AddressInfo).port;
  server = first;
  if (current === "drop-new") {
    server = undefined;
    await closeListener(first);
  }

  return {
    host: HOST,
    port,
    target: options.target,
    address: `${HOST}:${port}`,
    url(through) {
      const parsed = new URL(through);
      parsed.hostname = HOST;
      parsed.port = String(port);
      return parsed.toString();
    },
    async mode(next) {
      checkMode(next);
      if (closed) throw new Error("fault proxy: mode() after close()");
      const wasDropping = current === "drop-new";
      current = next;
      if (next === "drop-new" && !wasDropping) {
        const listening = server;
        server = undefined;
        if (listening) await closeListener(listening);
      } else if (next !== "drop-new" && wasDropping) {
        server = await listen(port);
      }
      for (const link of [...links]) link.apply(next);
    },
    get currentMode() {
      return current;
    },
    get stats() {
      return { ...counters, open: links.size };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const link of [...links]) link.destroy();
      links.clear();
      const listening = server;
      server = undefined;
      if (listening) await closeListener(listening);
    },
  };
}

/** Closes the listening socket; resolves when the port no longer accepts (not when connections end). */
function closeListener(listening: net.Server): Promise<void> {
  return new Promise((resolve) => {
    listening.close();
    // The listening handle is closed synchronously; one turn lets a queued accept land first.
    setImmediate(resolve);
  });
}

function checkMode(mode: FaultMode): void {
  if (typeof mode === "object") {
    if (!Number.isFinite(mode.delay) || mode.delay < 0) {
      throw new RangeError(`fault proxy: delay must be a finite number of milliseconds >= 0, got ${mode.delay}`);
    }
    return;
  }
  if (!["pass", "blackhole", "reset", "drop-new"].includes(mode)) {
    throw new RangeError(`fault proxy: unknown mode ${JSON.stringify(mode)} (pass, blackhole, reset, drop-new or { delay })`);
  }
}
