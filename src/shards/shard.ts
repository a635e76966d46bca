import type { MessagePort } from "node:worker_threads";
import type { MovedConnection } from "../gateway/connection-transfer.ts";
import type { WebSocket } from "ws";
import type { ExecutionContext, WorkerFetch } from "../gateway/serve.ts";
import type { Host } from "../platform/host.ts";
import { findNamespace } from "../gateway/route.ts";
import { decodePathSegment } from "../web/url-path.ts";
import { currentLogContext, logContextRead } from "../observability/logs/context.ts";
import { mergeExpositions } from "../observability/metrics/merge.ts";
import type { HostPlacement, RemoteActors } from "../host/placement.ts";
import { isWebSocketUpgrade, upgradeTargetOf } from "../host/upgrade.ts";
import { spliceToNetwork } from "../websocket/network.ts";
import { webSocketOfResponse } from "../websocket/response.ts";
import { handedRequest } from "../gateway/node-adapter.ts";
import { unrepresentableRequest, type RequestHandOff } from "../gateway/serve.ts";
import { handOffRequests, type HandOffOptions } from "./hand-off.ts";
import type { LinkHandler } from "./link-handler.ts";
import { ShardLink } from "./link.ts";
import { shardOf } from "./placement.ts";
import type { RelaySocket } from "./relay-socket.ts";

/** What a shard is told at start: who it is, and a MessagePort to every other shard. */
export interface ShardIdentity {
  /** 0 … count-1. */
  readonly index: number;
  readonly count: number;
  /** One port per other shard, by that shard's index. */
  readonly ports: ReadonlyMap<number, MessagePort>;
}

/**
 * The shard that holds what the process has once, for every thread: the platform bindings' files (KV,
 * D1, rate limits, queues), the workflow engine, queue consumers and cron triggers, the inspector and
 * inbound mail. The other shards reach its services over their link to it.
 */
export const SERVICE_HOLDER = 0;

/** Something a shard serves to the others (the holder's bindings, every shard's inspector): `invoke` runs one call on its `name` (a namespace, a database …). */
export interface ShardService {
  invoke(name: string, method: string, args: unknown[]): unknown;
}

/** How this shard's server answers a request: the one it handed requests go through. */
interface Answering {
  origin: string;
  answer: (request: Request) => Promise<Response>;
  /** Takes up a client connection another shard's server moved here. */
  adopt: (moved: MovedConnection) => void;
}

/** The host and the worker fetch a shard runs, once they exist. */
interface Attached {
  host: Host;
  fetch: (request: Request) => Promise<Response>;
  metrics: (() => string) | undefined;
}

/**
 * One shard of a process: the host's placement (it owns the agents that hash to it, see placement.ts),
 * the links to the other shards, and what those ask of this one. A request that reaches this shard's
 * server for another shard's agent — by its URL, `/agents/<class>/<name>/…` — goes there whole, so the
 * worker's fetch, its hooks and the agent run on one thread; an RPC call, a stub's fetch or a socket
 * for another shard's agent goes the same way from wherever it starts.
 * @example
 * const shard = new Shard({ index: 0, count: 2, ports });
 * const host = new Host({ dataDir, agents, placement: shard, stateDir: shardStateDir(dataDir, 0, 2) });
 * shard.attach(host, (request) => fetch(request, host.env, ctx));
 */
export class Shard implements HostPlacement {
  readonly index: number;
  readonly count: number;
  readonly remote: RemoteActors;
  readonly #links = new Map<number, ShardLink>();
  #attached: Attached | undefined;
  #answering: Answering | undefined;
  /** Requests handed over before this shard's server listened. */
  #waitingServer: Array<() => void> = [];
  /** Calls that arrived before the host was ready. */
  #waiting: Array<() => void> = [];
  readonly #services = new Map<string, ShardService>();

  constructor(identity: ShardIdentity) {
    this.index = identity.index;
    this.count = identity.count;
    const handler = this.#handler();
    for (const [peer, port] of identity.ports) this.#links.set(peer, new ShardLink(port, peer, handler));
    this.remote = {
      request: (className, name, request) => this.#linkTo(className, name).request(className, name, request),
      invoke: (className, name, method, args, caller) => this.#linkTo(className, name).invoke(className, name, method, args, caller),
      start: (className, name, props) => this.#linkTo(className, name).start(className, name, props),
      learnName: (className, name, idName) => this.#linkTo(className, name).learnName(className, name, idName),
      acceptSocket: (className, name, ws, request) => this.#linkTo(className, name).openSocket(className, name, ws, request),
    };
  }

  owns(slug: string, name: string): boolean {
    return shardOf(slug, name, this.count) === this.index;
  }

  /** Whether this shard holds the process's services (see {@link SERVICE_HOLDER}). */
  get holdsServices(): boolean {
    return this.index === SERVICE_HOLDER;
  }

  /** Serves `kind` to the other shards: {@link callService} reaches the holder's, {@link callShard} any shard's. */
  serve(kind: string, service: ShardService): void {
    this.#services.set(kind, service);
  }

  /** Runs `method` on `kind`/`name`, which the holder serves: here on the holder, else over the link to it. */
  callService(kind: string, name: string, method: string, args: unknown[]): Promise<unknown> {
    return this.callShard(SERVICE_HOLDER, kind, name, method, args);
  }

  /** Runs `method` on `kind`/`name` as shard `index` serves it (this one included). */
  async callShard(index: number, kind: string, name: string, method: string, args: unknown[]): Promise<unknown> {
    if (index === this.index) return this.#invokeService(kind, name, method, args);
    const link = this.#links.get(index);
    if (link === undefined) throw new RangeError(`No shard ${index}: there are ${this.count}`);
    return link.service(kind, name, method, args);
  }

  #invokeService(kind: string, name: string, method: string, args: unknown[]): unknown {
    const service = this.#services.get(kind);
    if (service === undefined) throw new Error(`Shard ${this.index} serves no ${JSON.stringify(kind)}`);
    return service.invoke(name, method, args);
  }

  /** The host and worker fetch (and the metrics' text) are ready: calls from other shards are served from now on. */
  attach(host: Host, fetch: (request: Request) => Promise<Response>, metrics?: () => string): void {
    this.#attached = { host, fetch, metrics };
    for (const run of this.#waiting.splice(0)) run();
  }

  /**
   * This shard's server listens: requests other shards' servers hand over ({@link handOff}) are
   * answered by `answer` (the server's metrics, trace and worker fetch), as if they came to it, and
   * connections they move here are taken up by `adopt`.
   */
  answerWith(origin: string, answer: (request: Request) => Promise<Response>, adopt: (moved: MovedConnection) => void): void {
    this.#answering = { origin, answer, adopt };
    for (const run of this.#waitingServer.splice(0)) run();
  }

  /**
   * What this shard's server hands to another: a plain HTTP request for an agent of that shard, by
   * its URL (the default `/agents/<class>/<name>` routes), taken before anything is built for it.
   */
  handOff(options: HandOffOptions = {}): RequestHandOff {
    return handOffRequests((target) => {
      const owner = this.#ownerOfPath(target);
      return owner === undefined || owner === this.index ? undefined : this.#links.get(owner);
    }, options);
  }

  /**
   * The worker's fetch as this shard serves it: a request whose URL names an agent of another shard
   * (the default `/agents/<class>/<name>` routes) is answered there.
   */
  route(fetch: WorkerFetch): WorkerFetch {
    return (request: Request, env: Record<string, unknown>, ctx: ExecutionContext) => {
      const owner = this.#ownerOfUrl(request.url, env);
      if (owner === undefined || owner === this.index) return fetch(request, env, ctx);
      return this.#links.get(owner)!.fetch(request, isWebSocketUpgrade(request), correlation());
    };
  }

  /** Every shard's metrics as one exposition, each series labelled with its `thread`. */
  async gatherMetrics(): Promise<string> {
    const own = { label: String(this.index), text: this.#attached?.metrics?.() ?? "" };
    const others = await Promise.all([...this.#links.values()].map(async (link) => ({ label: String(link.peer), text: await link.metrics() })));
    return mergeExpositions([own, ...others].sort((a, b) => Number(a.label) - Number(b.label)), "thread");
  }

  /** Client connections this shard's server moved to their agent's shard, and WebSockets relayed between this shard and others now. */
  get connections(): { moved: number; relayed: number } {
    let moved = 0;
    let relayed = 0;
    for (const link of this.#links.values()) {
      moved += link.movedConnections;
      relayed += link.relayedSockets;
    }
    return { moved, relayed };
  }

  /** Closes the links: calls waiting on other shards fail. */
  close(): void {
    for (const link of this.#links.values()) link.close();
  }

  #ownerOfUrl(url: string, env: Record<string, unknown>): number | undefined {
    // "http://host:port/agents/<slug>/<name>…": the path starts after the third slash.
    return this.#ownerOfPath(url.slice(url.indexOf("/", url.indexOf("//") + 2)), env);
  }

  /** The shard a request for `path` (`/agents/<slug>/<name>…`) belongs to; undefined for any shard. */
  #ownerOfPath(path: string, env = this.#attached?.host.env): number | undefined {
    if (env === undefined) return undefined;
    // `hearth dev`'s hand-fired handlers (cron triggers) run where the process's triggers are.
    if (path.startsWith("/cdn-cgi/handler/")) return SERVICE_HOLDER;
    if (!path.startsWith("/agents/")) return undefined;
    const [slug = "", encoded = ""] = path.slice(8).split(/[/?#]/, 2);
    if (slug === "" || encoded === "") return undefined;
    const namespace = findNamespace(env, slug);
    if (!namespace || !this.#attached) return undefined;
    const name = decodePathSegment(encoded);
    return shardOf(this.#attached.host.storageSlugOf(namespace.className), name, this.count);
  }

  #linkTo(className: string, name: string): ShardLink {
    if (!this.#attached) throw new Error("The shard is not ready yet");
    return this.#links.get(shardOf(this.#attached.host.storageSlugOf(className), name, this.count))!;
  }

  /** Waits for this shard's server when a request is handed over before it listens. */
  #serverReady(): Promise<Answering> {
    if (this.#answering) return Promise.resolve(this.#answering);
    return new Promise((resolve) => this.#waitingServer.push(() => resolve(this.#answering!)));
  }

  /** Waits for the host when a call arrives before it exists. */
  #ready(): Promise<Attached> {
    if (this.#attached) return Promise.resolve(this.#attached);
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#attached!)));
  }

  #handler(): LinkHandler {
    return {
      invoke: async (className, name, method, args, caller) => (await this.#ready()).host.invoke(className, name, method, args, caller),
      start: async (className, name, props) => (await this.#ready()).host.start(className, name, props),
      // Handed to the class's namespace, if it keeps such names (Durable Objects).
      learnName: async (className, name, idName) => {
        const namespace = (await this.#ready()).host.exports[className] as { learnName?(name: string, idName: string): void } | undefined;
        namespace?.learnName?.(name, idName);
      },
      request: async (className, name, request) => (await this.#ready()).host.request(className, name, request),
      fetch: async (request) => (await this.#ready()).fetch(request),
      http: async (wire, signal) => {
        const { origin, answer } = await this.#serverReady();
        let handed: ReturnType<typeof handedRequest>;
        try {
          handed = handedRequest(wire.method, wire.target, wire.rawHeaders, wire.body, wire.origin || origin);
        } catch (error) {
          return unrepresentableRequest(wire.method, wire.target, error); // as the receiving server answers its own
        }
        const { request, abort } = handed;
        signal.addEventListener("abort", abort, { once: true });
        return answer(request);
      },
      connection: (moved) => void this.#serverReady().then(({ adopt }) => adopt(moved)),
      metrics: async () => (await this.#ready()).metrics?.() ?? "",
      // After the host is ready: the services are registered before it (bindings first, then the host).
      service: async (kind, name, method, args) => (await this.#ready(), this.#invokeService(kind, name, method, args)),
      isUpgrade: (response) => upgradeTargetOf(response) !== undefined || webSocketOfResponse(response) !== undefined,
      acceptUpgrade: (response, socket) => {
        const host = this.#attached!.host;
        const target = upgradeTargetOf(response);
        if (target) host.acceptSocket(target.className, target.name, asNetworkSocket(socket), target.request, target.place);
        else spliceToNetwork(webSocketOfResponse(response)!, asNetworkSocket(socket), host.maxMessageBytes);
      },
      acceptSocket: (className, name, socket, request) => {
        void this.#ready().then(({ host }) => host.acceptSocket(className, name, asNetworkSocket(socket), request));
      },
    };
  }
}

/**
 * The request id and trace of the request being handed over, as headers, so the owner's logs and
 * spans continue them (read only when something reads log contexts: otherwise nothing is tracked).
 */
function correlation(): Array<[string, string]> | undefined {
  if (!logContextRead()) return undefined;
  const fields = currentLogContext();
  const headers: Array<[string, string]> = [];
  if (fields?.requestId) headers.push(["x-request-id", fields.requestId]);
  if (fields?.trace_id && fields.span_id) headers.push(["traceparent", `00-${fields.trace_id}-${fields.span_id}-01`]);
  return headers;
}

/** A relayed socket has the slice of `ws`'s API the host and the splice use (send, close, readyState, events). */
function asNetworkSocket(socket: RelaySocket): WebSocket {
  return socket as unknown as WebSocket;
}
