import type { DurableObjectStorage } from "../storage/durable-storage.ts";
import type { AgentDatabase } from "../storage/database.ts";
import type { Clock } from "../time/clock.ts";
import type { SocketRecord } from "./connection.ts";
import type { Actor } from "../host/actor.ts";
import type { ChildActors } from "../host/children.ts";

/** What an agent instance needs from the host that runs it. Implemented by the host's actor cell. */
export interface AgentRuntime {
  /** The binding (export) name of the agent class, e.g. "ChatRoom". */
  readonly className: string;
  /** The URL form of the class name, e.g. "chat-room". */
  readonly classSlug: string;
  readonly name: string;
  readonly db: AgentDatabase;
  sockets(): IterableIterator<SocketRecord>;
  socket(id: string): SocketRecord | undefined;
  /** Holds the agent in memory until the returned function is called. */
  keepAlive(): () => void;
  destroy(): Promise<void>;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` with the input gate shut to other events, in the caller's context (`ctx.storage.transaction()`). */
  criticalSection<T>(fn: () => Promise<T>): Promise<T>;
  waitUntil(promise: Promise<unknown>): void;
  /** Time source of schedules (virtual in tests). */
  readonly clock: Clock;
  /** Unfinished runs in a row after which a task is stopped (the crash-loop breaker). */
  readonly crashLoopLimit: number;
  /** A task is due at `at`: the host must wake the agent by then, even after a restart. */
  tasksChanged(at: number): void;
  /**
   * Adds a socket the actor accepted itself (a Durable Object's `ctx.acceptWebSocket`) to the host's
   * sockets; what arrives on it is handed to the returned events, which wake the actor as needed.
   */
  adoptSocket(record: SocketRecord): SocketEvents;
  /** A settings object for the actor's sockets that outlives hibernation (the auto-response). */
  socketSettings(): Record<string, unknown>;
  /** 1 for a root actor, 2 for its children (facets), … */
  readonly depth: number;
  /** A child's id as its creator gave it (a facet's `id` option); undefined for a root actor. */
  readonly childId: unknown;
  /** Every actor class of the worker, bound or only exported, as namespaces (`ctx.exports`). */
  readonly exports: Record<string, unknown>;
  /** The actor's children (facets): each its own actor with its own database, under this one's. */
  readonly children: ChildActors;
  /** Where the actor sits: its root's class and name, and the facet names down to it (empty for a root). */
  readonly lineage: { readonly rootClassName: string; readonly rootName: string; readonly path: readonly string[] };
  /** Runs `task` on the actor's parent (waking it); rejects for a root actor. */
  atParent<T>(task: (parent: Actor) => T | Promise<T>): Promise<T>;
  /** Runs `task` on the parent, waking it, if it is in memory or on disk (never creates it); false when it is neither. */
  atStoredParent(task: (parent: Actor) => unknown): boolean;
}

/** What the network side of an adopted socket reports. */
export interface SocketEvents {
  message(data: string | ArrayBuffer): void;
  close(code: number, reason: string, wasClean: boolean): void;
  error(error: unknown): void;
}

/**
 * `ctx.storage` of an agent: the Durable Object storage API (`sql`, the synchronous `kv`, the async
 * `get`/`put`/`delete`/`list`, `transaction`, `transactionSync`, `deleteAll`). The alarm belongs to the
 * agent's schedules: `setAlarm` throws, `getAlarm` is null.
 */
export type AgentStorage = DurableObjectStorage;

/**
 * The agent's context, as `this.ctx`.
 * @example
 * this.ctx.storage.kv.put("greeting", "hi");
 * await this.ctx.blockConcurrencyWhile(async () => { await warmUp(); });
 */
export interface AgentContext {
  readonly id: { readonly name: string; toString(): string };
  readonly storage: AgentStorage;
  /** No other event reaches the agent until `fn` settles. */
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
  /** Keeps the agent in memory until `promise` settles; rejections go to onError. */
  waitUntil(promise: Promise<unknown>): void;
}

export const RUNTIME: unique symbol = Symbol("hearth.runtime");

/** @internal The context object carries its runtime under a symbol the Agent constructor reads. */
export type AgentContextWithRuntime = AgentContext & { readonly [RUNTIME]: AgentRuntime };
