import type { WorkerFetch } from "../gateway/serve.ts";
import { CLUSTER_HEADERS, CLUSTER_PATH_PREFIX } from "./wire.ts";

/**
 * The door of a node that is about to stop: while open it counts the requests under way; once
 * draining it turns new ones away with answers that send them elsewhere without losing anything —
 * a client gets 503 with `retry-after: 0` (what a load balancer retries on another node), a peer
 * gets "moved" (it looks the owner up again) — and every answer closes its connection, so no
 * keep-alive socket is left for the server's close to cut under a request.
 * @example
 * const gate = new DrainGate();
 * const server = await serve({ host, fetch: gate.wrap(fetch) });
 * gate.drain();
 * await gate.idle(10_000); // then hand the agents over, then close the server
 */
export class DrainGate {
  #draining = false;
  #inFlight = 0;
  readonly #waiters = new Set<() => void>();

  get draining(): boolean {
    return this.#draining;
  }

  /** Requests answered but not finished yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  wrap(fetch: WorkerFetch): WorkerFetch {
    return async (request, env, ctx) => {
      if (this.#draining) return turnedAway(request);
      this.#inFlight++;
      try {
        const response = await fetch(request, env, ctx);
        return this.#draining ? closingConnection(response) : response;
      } finally {
        this.#inFlight--;
        if (this.#inFlight === 0) for (const wake of this.#waiters) wake();
      }
    };
  }

  /** From now on, new requests are turned away. */
  drain(): void {
    this.#draining = true;
  }

  /** Resolves when no request is under way, or after `limitMs`; true when idle. */
  async idle(limitMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    this.#waiters.add(wake);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs)));
    await Promise.race([woken, timedOut]);
    clearTimeout(timer);
    this.#waiters.delete(wake);
    return this.#inFlight === 0;
  }
}

function turnedAway(request: Request): Response {
  const headers: Record<string, string> = { "retry-after": "0", connection: "close" };
  if (new URL(request.url).pathname.startsWith(CLUSTER_PATH_PREFIX)) headers[CLUSTER_HEADERS.moved] = "1";
  return new Response("This node is shutting down: try another node", { status: 503, headers });
}

/** The same answer, ending its keep-alive connection (an accepted socket upgrade is left as it is). */
function closingConnection(response: Response): Response {
  if (response.status === 101 || response.headers.has("x-hearth-upgrade") || (response as { webSocket?: unknown }).webSocket) return response;
  try {
    response.headers.set("connection", "close");
    return response;
  } catch {
    // Immutable headers (a forwarded answer): a copy with the body as a stream.
    const headers = new Headers(response.headers);
    headers.set("connection", "close");
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}
