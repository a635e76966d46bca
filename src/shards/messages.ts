import type { AgentCaller } from "../agent/context.ts";
import type { MovedConnection } from "../gateway/connection-transfer.ts";
import type { WireHandedRequest, WireRequest, WireResponseHead } from "./codec.ts";
import type { WireError } from "./error-wire.ts";

/** A call one shard makes on another. */
export type Call =
  | { op: "invoke"; className: string; name: string; method: string; args: unknown[]; caller?: AgentCaller }
  | { op: "start"; className: string; name: string; props?: Record<string, unknown> }
  | { op: "name"; className: string; name: string; idName: string }
  /** The shard's metrics text, for a `/metrics` answered on another thread. */
  | { op: "metrics" }
  /** A call on a service the receiving shard holds for the whole process (a KV namespace, the workflow engine …). */
  | { op: "service"; kind: string; name: string; method: string; args: unknown[] }
  /** An HTTP request to an actor (a stub's fetch); `socket` as for `fetch`. */
  | { op: "request"; className: string; name: string; request: WireRequest; socket?: number }
  /**
   * A request the receiving shard's worker fetch answers (the gateway found the agent it is for on
   * that shard). `socket`: an upgrade request, and the socket id the caller reserved for it.
   */
  | { op: "fetch"; request: WireRequest; socket?: number }
  /** A plain HTTP request the caller's server received for an agent of the receiving shard, which answers it as its own server would. */
  | { op: "http"; request: WireHandedRequest };

/** What a shard answers to a request: how the socket of an accepted upgrade continues. */
export type Upgrade = "relay";

/**
 * Everything that crosses a link between two shards. Calls are answered by `ok` / `fail`, or for
 * requests by `head`, then `chunk`s and `end` (or `fail`). Sockets are relayed by id: the edge (the
 * shard holding the client's TCP socket) sends frames `toOwner`, the owner (the agent's shard) back.
 */
export type LinkMessage =
  | ({ t: "call"; id: number } & Call)
  | { t: "ok"; id: number; value: unknown }
  | { t: "fail"; id: number; error: WireError }
  | { t: "head"; id: number; head: WireResponseHead; upgrade?: Upgrade }
  | { t: "chunk"; id: number; data: Uint8Array }
  | { t: "end"; id: number }
  /** The caller went away: the far side aborts the request and stops streaming. */
  | { t: "cancel"; id: number }
  /** Caller → answerer: this many bytes of the response body left the caller (written to its client, or read): the answerer may send as many more. */
  | { t: "ack"; id: number; bytes: number }
  /** Edge → owner: a client socket for this agent; the owner accepts it over a relay. */
  | { t: "open"; sid: number; className: string; name: string; request: WireRequest }
  | { t: "frames"; sid: number; toOwner: boolean; data: Array<string | ArrayBuffer> }
  | { t: "close"; sid: number; toOwner: boolean; code: number; reason: string }
  /**
   * Edge → owner: a client connection whose upgrade request names one of the owner's agents, moved
   * whole (gateway/connection-transfer.ts); the owner's server serves it from its request on. Sent
   * alone, with the handle in the transfer list.
   */
  | { t: "connection"; moved: MovedConnection };
