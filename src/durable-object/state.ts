import type { AgentRuntime } from "../agent/runtime.ts";
import { DurableObjectStorage } from "../storage/durable-storage.ts";
import type { WebSocketRequestResponsePair } from "../websocket/auto-response.ts";
import type { WorkersWebSocket } from "../websocket/socket.ts";
import type { DurableAlarm } from "./alarm.ts";
import type { HibernatableSockets } from "./hibernation.ts";
import type { DurableObjectId } from "./id.ts";
import { DurableObjectFacets } from "../facets/facets.ts";

/** @internal Where blockConcurrencyWhile() promises made during the constructor are kept for start-up. */
export const CONSTRUCTOR_BLOCKS: unique symbol = Symbol("hearth.constructorBlocks");

/** What the actor hands its state when it makes one. */
export interface DurableObjectStateInit {
  runtime: AgentRuntime;
  id: DurableObjectId;
  alarm: DurableAlarm;
  sockets: HibernatableSockets;
  exports: Record<string, unknown>;
  props: unknown;
}

/**
 * `this.ctx` of a Durable Object: its id, its storage (SQL, synchronous KV, the async KV API, the alarm),
 * the input gate (`blockConcurrencyWhile`), `waitUntil`, and the WebSocket Hibernation API.
 * @example
 * export class Room extends DurableObject {
 *   async fetch(request: Request) {
 *     const { 0: client, 1: server } = new WebSocketPair();
 *     this.ctx.acceptWebSocket(server, ["lobby"]);
 *     return new Response(null, { status: 101, webSocket: client });
 *   }
 *   webSocketMessage(ws: WebSocket, message: string | ArrayBuffer) {
 *     for (const peer of this.ctx.getWebSockets("lobby")) peer.send(message);
 *   }
 * }
 */
export class DurableObjectState<Props = unknown> {
  readonly id: DurableObjectId;
  readonly storage: DurableObjectStorage;
  /** The worker's Durable Object and agent classes, bound or only exported, as namespaces (`ctx.exports.Room.getByName(…)`). */
  readonly exports: Record<string, unknown>;
  /** Values a caller attached for this instance; undefined unless given. */
  readonly props: Props;
  /**
   * Child Durable Objects made at run time, each with its own SQLite database (see {@link DurableObjectFacets}).
   * @example
   * const store = this.ctx.facets.get("tenant-1", () => ({ class: this.ctx.exports.TenantStore }));
   */
  readonly facets: DurableObjectFacets;
  readonly #runtime: AgentRuntime;
  readonly #sockets: HibernatableSockets;
  /** @internal Set while the constructor runs: its blocks must succeed for the object to start. */
  [CONSTRUCTOR_BLOCKS]: Array<Promise<unknown>> | undefined = [];

  /** @internal Made by the host for each instance. */
  constructor(init: DurableObjectStateInit) {
    this.#runtime = init.runtime;
    this.id = init.id;
    this.exports = init.exports;
    this.props = init.props as Props;
    this.#sockets = init.sockets;
    this.facets = new DurableObjectFacets(init.runtime, () => this.id);
    // deleteAll() takes the facets' data with it, as on Cloudflare: once the wipe is committed, since
    // files removed cannot come back if it is rolled back.
    const runtime = init.runtime;
    this.storage = new DurableObjectStorage(runtime.db, {
      alarms: init.alarm,
      deleteAll: (afterCommit) => afterCommit(() => runtime.children.deleteAll()),
      criticalSection: (fn) => runtime.criticalSection(fn),
    });
  }

  /** No other event reaches the object until `fn` settles. */
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
    const promise = this.#runtime.blockConcurrencyWhile(fn);
    const blocks = this[CONSTRUCTOR_BLOCKS];
    if (blocks) {
      promise.catch(() => {}); // reported by the failed start, not as an unhandled rejection
      blocks.push(promise);
    }
    return promise;
  }

  /** Keeps the object in memory until `promise` settles. */
  waitUntil(promise: Promise<unknown>): void {
    this.#runtime.waitUntil(promise);
  }

  /**
   * Adopts the server end of a WebSocketPair: its messages go to `webSocketMessage`, and it stays open
   * while the object hibernates. At most 10 tags, each at most 256 characters.
   */
  acceptWebSocket(ws: WorkersWebSocket, tags?: string[]): void {
    this.#sockets.accept(ws, tags);
  }

  /** The accepted WebSockets, optionally only those with `tag`. */
  getWebSockets(tag?: string): WorkersWebSocket[] {
    return this.#sockets.list(tag);
  }

  getTags(ws: WorkersWebSocket): string[] {
    return this.#sockets.tagsOf(ws);
  }

  /** Answers `pair.request` with `pair.response` on every accepted socket without waking the object. */
  setWebSocketAutoResponse(pair?: WebSocketRequestResponsePair): void {
    this.#sockets.setAutoResponse(pair);
  }

  getWebSocketAutoResponse(): WebSocketRequestResponsePair | null {
    return this.#sockets.autoResponse();
  }

  /** When the auto-response last answered on `ws`, or null. */
  getWebSocketAutoResponseTimestamp(ws: WorkersWebSocket): Date | null {
    return this.#sockets.autoResponseTimestamp(ws);
  }

  /** Accepted for compatibility and reported back; Hearth does not cut a slow handler short. */
  setHibernatableWebSocketEventTimeout(timeoutMs?: number): void {
    this.#sockets.setEventTimeout(timeoutMs);
  }

  getHibernatableWebSocketEventTimeout(): number | null {
    return this.#sockets.eventTimeout();
  }
}
