import { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { currentScope, runInAgentScope } from "../agent/context.ts";
import { RUNTIME, type AgentContextWithRuntime, type AgentRuntime, type SocketEvents } from "../agent/runtime.ts";
import { AgentDatabase } from "../storage/database.ts";
import { DurableObjectStorage, type AlarmSlot } from "../storage/durable-storage.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import type { Clock } from "../time/clock.ts";
import { ActorTimers } from "./actor-timers.ts";
import { currentEvent } from "./event-context.ts";
import { Mailbox } from "./mailbox.ts";
import type { Actor } from "./actor.ts";
import type { ChildActors } from "./children.ts";
import { placeIdentity, placeKey, type CellPlace } from "./place.ts";

/** An actor class as the host knows it. */
export interface AgentBinding {
  /** Binding (export) name, e.g. "ChatRoom". */
  readonly className: string;
  /** URL and directory form, e.g. "chat-room". */
  readonly slug: string;
  /** Makes one live instance. */
  readonly create: (ctx: AgentContextWithRuntime, env: Record<string, unknown>) => Actor;
}

/** An agent's alarm is its schedules' business: `ctx.storage.setAlarm` is for plain Durable Objects. */
const AGENT_ALARM: AlarmSlot = {
  get: () => null,
  set: () => {
    throw new TypeError("An agent's alarm runs its schedules: use this.schedule(when, callback) (ctx.storage.setAlarm is for plain Durable Objects)");
  },
  delete: () => {},
};

/** What a cell needs from its host. */
export interface CellHost {
  readonly env: Record<string, unknown>;
  /** Every actor class's namespace (`ctx.exports`). */
  readonly exports: Record<string, unknown>;
  readonly durability: "strict" | "relaxed";
  readonly clock: Clock;
  readonly crashLoopLimit: number;
  readonly replicationFor: ((identity: string) => DatabaseReplication | undefined) | undefined;
  tasksChanged(cell: ActorCell, at: number): void;
  childrenOf(cell: ActorCell): ChildActors;
  /** The binding name of the class stored under a slug (a root's class). */
  classNameOf(slug: string): string;
  atParent<T>(cell: ActorCell, task: (parent: Actor) => T | Promise<T>): Promise<T>;
  atStoredParent(cell: ActorCell, task: (parent: Actor) => unknown): boolean;
  socketsOf(cell: ActorCell): Map<string, SocketRecord> | undefined;
  adoptSocket(cell: ActorCell, record: SocketRecord): SocketEvents;
  socketSettings(cell: ActorCell): Record<string, unknown>;
  touched(cell: ActorCell): void;
  destroy(cell: ActorCell): Promise<void>;
  failedToStart(cell: ActorCell, error: unknown): void;
}

/**
 * One live agent instance: its database, its mailbox (input gate) and the object itself.
 * A cell exists only while the agent is in memory; hibernation drops it, sockets stay with the host.
 */
export class ActorCell implements AgentRuntime {
  readonly key: string;
  readonly place: CellPlace;
  readonly binding: AgentBinding;
  readonly name: string;
  /** A child's id as its creator gave it (a facet's `id` option), for the actor's `ctx.id`. */
  readonly childId: unknown;
  readonly db: AgentDatabase;
  readonly mailbox: Mailbox;
  readonly instance: Actor;
  lastActive = performance.now();
  /** The setTimeout / setInterval timers its code set (actor-timers.ts). */
  readonly timers = new ActorTimers(this);
  #keepAlive = 0;
  #host: CellHost;
  #closed = false;

  constructor(host: CellHost, binding: AgentBinding, name: string, place: CellPlace, props?: Record<string, unknown>, childId?: unknown) {
    this.#host = host;
    this.key = placeKey(place);
    this.place = place;
    this.binding = binding;
    this.name = name;
    this.childId = childId;
    const identity = placeIdentity(place);
    const replication = host.replicationFor?.(identity);
    this.db = new AgentDatabase({
      path: place.file,
      durability: host.durability,
      identity,
      ...(replication ? { replication } : {}),
      currentOwner: currentEvent,
      onRollback: () => this.instance?.[HANDLE.invalidate](),
    });
    this.mailbox = new Mailbox({
      settle: (event, failed) => this.db.endEvent(event, failed),
      yielded: () => {
        try {
          this.db.flush();
        } catch (error) {
          // The writers learn it when they finish (their results are rejected); keep serving.
          console.error(`[hearth] ${binding.className}/${name}: commit failed:`, error);
        }
      },
      idle: () => {
        this.lastActive = performance.now();
        this.#host.touched(this);
      },
    }, this);
    const ctx: AgentContextWithRuntime = {
      id: { name, toString: () => `${binding.slug}/${name}` },
      storage: new DurableObjectStorage(this.db, {
        alarms: AGENT_ALARM,
        // Its sub-agents (facets) go with it, as a Durable Object's facets do, and as on Cloudflare:
        // once the wipe is committed (their files cannot come back if it is rolled back).
        deleteAll: (afterCommit) => {
          afterCommit(() => this.children.deleteAll());
          this.instance[HANDLE.wiped]?.();
        },
        criticalSection: (fn) => this.criticalSection(fn),
      }),
      blockConcurrencyWhile: (fn) => this.blockConcurrencyWhile(fn),
      waitUntil: (promise) => this.waitUntil(promise),
      [RUNTIME]: this,
    };
    try {
      this.instance = binding.create(ctx, host.env);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const start = async () => {
      try {
        await this.instance[HANDLE.start](props);
        // Commit start-up on its own: its schema must not share the fate of a later event's commit.
        this.db.flush();
      } catch (error) {
        // Before the mailbox moves on: nothing queued may run on a half-started agent.
        this.db.rollbackCurrent();
        this.#host.failedToStart(this, error);
        throw error;
      }
    };
    this.mailbox.deliver(start, true).catch(() => {}); // reported by failedToStart
  }

  get className(): string {
    return this.binding.className;
  }

  get classSlug(): string {
    return this.binding.slug;
  }

  get clock(): Clock {
    return this.#host.clock;
  }

  get crashLoopLimit(): number {
    return this.#host.crashLoopLimit;
  }

  tasksChanged(at: number): void {
    this.#host.tasksChanged(this, at);
  }

  /** In memory with nothing to do, no timer of its code pending: may hibernate. */
  get idle(): boolean {
    return this.quiet && !this.timers.pending;
  }

  /** No event runs or waits and nothing holds it (waitUntil, an open accept()ed socket): only its timers may be pending. */
  get quiet(): boolean {
    return !this.mailbox.busy && this.#keepAlive === 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  *sockets(): IterableIterator<SocketRecord> {
    const sockets = this.#host.socketsOf(this);
    if (sockets) yield* sockets.values();
  }

  socket(id: string): SocketRecord | undefined {
    return this.#host.socketsOf(this)?.get(id);
  }

  /** How deep the actor sits: 1 for a root, 2 for its facets, … */
  get depth(): number {
    return this.place.path.length + 1;
  }

  get exports(): Record<string, unknown> {
    return this.#host.exports;
  }

  get children(): ChildActors {
    return this.#host.childrenOf(this);
  }

  get lineage(): { rootClassName: string; rootName: string; path: readonly string[] } {
    return { rootClassName: this.#host.classNameOf(this.place.rootSlug), rootName: this.place.rootName, path: this.place.path };
  }

  atStoredParent(task: (parent: Actor) => unknown): boolean {
    return this.#host.atStoredParent(this, task);
  }

  atParent<T>(task: (parent: Actor) => T | Promise<T>): Promise<T> {
    return this.#host.atParent(this, task);
  }

  adoptSocket(record: SocketRecord): SocketEvents {
    return this.#host.adoptSocket(this, record);
  }

  socketSettings(): Record<string, unknown> {
    return this.#host.socketSettings(this);
  }

  keepAlive(): () => void {
    this.#keepAlive++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#keepAlive--;
      this.lastActive = performance.now();
      this.#host.touched(this);
    };
  }

  destroy(): Promise<void> {
    return this.#host.destroy(this);
  }

  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
    // Called from the event that already holds the gate exclusively (onStart): run it in place,
    // queueing it behind itself would wait forever.
    if (this.mailbox.holdsExclusively(currentEvent())) return fn();
    // The callback is this agent's work: called from one of its own events (or its constructor), it
    // runs in that scope (getCurrentAgent(), a stub call's caller), wherever the gate lets it start.
    const scope = this.#ownScope();
    return this.mailbox.deliver(scope === undefined ? fn : () => runInAgentScope(scope, fn), true);
  }

  /**
   * Runs `fn` with the input gate shut to every other event, in the caller's context: at once when
   * the running event holds the gate, else when the events queued before it are done
   * (`ctx.storage.transaction()`; Mailbox.criticalSection).
   */
  criticalSection<T>(fn: () => Promise<T>): Promise<T> {
    return this.mailbox.criticalSection(currentEvent(), fn);
  }

  /**
   * The running scope when it is this agent's own (an event of it, or a Durable Object's constructor),
   * not that of whoever built or called it.
   */
  #ownScope(): ReturnType<typeof currentScope> {
    const scope = currentScope();
    return scope?.runtime === this ? scope : undefined;
  }

  waitUntil(promise: Promise<unknown>): void {
    const release = this.keepAlive();
    promise
      .catch((error: unknown) => this.instance.onError(error))
      .finally(release)
      .catch(() => {});
  }

  /** Commits and closes the database and cancels its code's timers; the cell is unusable afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.timers.close();
    try {
      this.instance[HANDLE.unload]();
    } catch (error) {
      console.error(`[hearth] ${this.binding.className}/${this.name}: unloading failed:`, error);
    }
    this.db.close();
  }
}
