/**
 * The two ends a link serves: what a shard does with the calls another shard makes on it, and where
 * the response to a request it handed over goes as it arrives.
 */
import type { AgentCaller } from "../agent/context.ts";
import type { MovedConnection } from "../gateway/connection-transfer.ts";
import type { WireHandedRequest, WireResponseHead } from "./codec.ts";
import type { RelaySocket } from "./relay-socket.ts";

/** What a shard does with the calls another shard makes on it. */
export interface LinkHandler {
  invoke(className: string, name: string, method: string, args: unknown[], caller?: AgentCaller): Promise<unknown>;
  start(className: string, name: string, props?: Record<string, unknown>): Promise<void>;
  /** The name the id `name` was made from, for the object's `ctx.id.name` (see ActorDispatcher.learnName). */
  learnName(className: string, name: string, idName: string): Promise<void>;
  request(className: string, name: string, request: Request): Promise<Response>;
  /** This shard's metrics in the Prometheus text format ("" without metrics). */
  metrics(): Promise<string>;
  /** A call on a service this shard holds for the process (see Shard.serve). */
  service(kind: string, name: string, method: string, args: unknown[]): Promise<unknown>;
  /** A request another shard's server handed over, answered as this shard's server answers its own. */
  http(request: WireHandedRequest, signal: AbortSignal): Promise<Response>;
  /** The shard's worker fetch, with the gateway's handling of upgrades: see {@link acceptUpgrade}. */
  fetch(request: Request): Promise<Response>;
  /** Whether the worker accepted the upgrade: its response is an agent's marker or carries a WebSocketPair end. */
  isUpgrade(response: Response): boolean;
  /** Connects the socket of an accepted upgrade (see {@link isUpgrade}) to `socket`. */
  acceptUpgrade(response: Response, socket: RelaySocket): void;
  /** A client socket for an agent of this shard, held by the other shard. */
  acceptSocket(className: string, name: string, socket: RelaySocket, request: Request): void;
  /** A client connection the other shard's server moved to this shard's server. */
  connection(moved: MovedConnection): void;
}

/**
 * Where the response to a handed-over request goes, as it arrives: the head, body chunks, the end (or
 * a failure). `flush` follows the last of them in each message from the other shard.
 */
export interface ResponseSink {
  head(head: WireResponseHead): void;
  /** A chunk of the body; `written` once it left (the other shard sends more only as chunks leave). */
  chunk(data: Uint8Array, written: () => void): void;
  end(): void;
  fail(error: Error): void;
  flush(): void;
}
