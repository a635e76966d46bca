import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { clearInterval, setImmediate, setInterval } from "node:timers"; // Node's own: never an application's fake one
import type { WebSocket } from "ws";
import { HANDLE } from "../agent/agent-base.ts";
import type { SocketRecord } from "../agent/connection.ts";
import type { AgentCaller } from "../agent/context.ts";
import { LIMITS, type Durability } from "../limits.ts";
import type { SocketEvents } from "../agent/runtime.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { reportTaskError, type ActorHostOptions, type FacetTreeReplication, type TaskErrorReport } from "./host-options.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import { closeFilePool } from "../storage/file-pool.ts";
import { settleLeftAgentFiles, settleQueuedFiles } from "../storage/settle-files.ts";
import { placedDispatcher, type HostPlacement } from "./placement.ts";
import type { Actor, ActorPathStep } from "./actor.ts";
import { ActorCell, type AgentBinding, type CellHost } from "./cell.ts";
import { ChildrenRecords, childStart, removePlaceFiles, replicateTreeChange, storedChildSpec, type ChildActors, type ChildrenHost, type ChildSpec } from "./children.ts";
import { childPlace, indexName, placeFromIndex, placeKey, rootKey, rootPlace, rootsOfKeys, type CellPlace } from "./place.ts";
import { actorStub } from "./stub.ts";
import { countByClass, type ClassCounts } from "./class-stats.ts";
import { walkToSubAgent } from "./sub-agent-walk.ts";
import { acceptAgentSocket, adoptActorSocket, closeDestroyedSockets, socketHostView } from "./socket-events.ts";
import { registerClasses } from "./class-registry.ts";
import { buildHostEnv } from "./host-env.ts";
import { validateAgentName } from "./names.ts";
import { AgentNamespace, type AgentDispatcher } from "./namespace.ts";
import { checkedDurability, positive } from "./option-checks.ts";
import { AgentCatalog } from "./catalog.ts";
import { SocketHub } from "./socket-hub.ts";
import { Timekeeper } from "./timekeeper.ts";
import { CLOSING_MS_PER_TURN } from "../time/turn-budget.ts";

export type { ActorHostOptions, AgentClass, TaskErrorReport } from "./host-options.ts";

/** Agents the idle sweep hibernates per turn of the event loop (fewer once CLOSING_MS_PER_TURN is spent); it goes on in the next turn. */
const HIBERNATIONS_PER_TURN = 32;

/**
 * Runs actors in this process: exactly one live instance per (class, name), created on first use,
 * hibernated when idle, woken by the next request or message. The core of `Host` (platform/host.ts),
 * which plugs workflows and Dynamic Workers into it; capabilities reach it through `bindings`,
 * `defaultBindings` and `timedWork` only.
 * @example
 * const host = new ActorHost({ dataDir: ".hearth", agents: { Counter } });
 * const server = await serve({ host, port: 8787 });
 */
export class ActorHost implements CellHost, AgentDispatcher {
  readonly dataDir: string;
  readonly durability: Durability;
  readonly hibernateAfterMs: number;
  readonly evictAfterMs: number;
  readonly maxMessageBytes: number;
  readonly maxLiveAgents: number;
  /** Whether a WebSocket's close reason may carry an agent's exception message (`hearth dev`). */
  readonly exposeErrors: boolean;
  readonly clock: Clock;
  readonly crashLoopLimit: number;
  /** Where agent databases replicate their commits (a cluster); undefined on one node. */
  readonly replicationFor: ((identity: string) => DatabaseReplication | undefined) | undefined;
  /** Every actor class's namespace, bound or only exported: what actors see as `ctx.exports`. */
  readonly exports: Record<string, unknown>;
  /** Variables plus one {@link AgentNamespace} per agent class: what a worker's fetch receives. */
  readonly env: Record<string, unknown>;
  /** Every root agent with its class, name, created and last-active times: what the inspector lists and counts. */
  readonly catalog: AgentCatalog;
  readonly #bindings: Map<string, AgentBinding>;
  /** Live cells in least-recently-active order (a Map keeps insertion order; touching re-inserts). */
  readonly #cells = new Map<string, ActorCell>();
  readonly #sockets = new SocketHub();
  readonly #childrenHost: ChildrenHost = {
    live: (place) => {
      const cell = this.#cells.get(placeKey(place));
      return cell && { idle: cell.idle, instance: cell.instance, flush: () => cell.db.flush(), deliver: (task) => cell.mailbox.deliver(task) };
    },
    start: (place, spec) => void this.#cellAt(place, () => this.#childSpec(place, spec)),
    stopTree: (place, reason, closeReason) => this.#stopTree(place, reason, closeReason),
    forgetTree: (place) => this.#time.dispatcher.forgetTree(place.rootSlug, indexName(place)),
    indexPlace: (place) => this.#time.indexFile(place.file),
    liveChildren: (place) => {
      const prefix = placeKey(place) + "\0";
      return [...this.#cells.values()].filter((cell) => cell.key.startsWith(prefix) && !cell.key.slice(prefix.length).includes("\0")).map((cell) => cell.place);
    },
    treeChanged: (parent, change) => {
      const replicated = replicateTreeChange(this.#facetTrees, change);
      if (replicated) this.#cells.get(placeKey(parent))?.db.holdOutputUntil(replicated);
    },
  };
  /** The children of each parent that reached one (ChildrenRecords says how long each is kept). */
  readonly #children = new ChildrenRecords(this.#childrenHost, placeKey, (key) => this.#cells.has(key));
  readonly #socketView = socketHostView(this, this.#sockets, () => this.#closed, (place, task) => this.#deliverAt(place, task));
  readonly #sweeper: NodeJS.Timeout;
  /** The idle sweep goes on in the next turn: the timer's own sweep waits for it (one sweep per turn). */
  #sweepContinues = false;
  readonly #bySlug: Map<string, AgentBinding>;
  readonly #time: Timekeeper;
  readonly #onTaskError: ((report: TaskErrorReport) => void) | undefined;
  readonly #placement: HostPlacement | undefined;
  readonly #facetTrees: FacetTreeReplication | undefined;
  #closed = false;

  constructor(options: ActorHostOptions) {
    this.dataDir = resolve(options.dataDir);
    this.durability = checkedDurability(options.durability);
    this.hibernateAfterMs = positive("hibernateAfterMs", options.hibernateAfterMs ?? LIMITS.hibernateAfterMs);
    this.evictAfterMs = Math.max(this.hibernateAfterMs, positive("evictAfterMs", options.evictAfterMs ?? LIMITS.evictAfterMs));
    this.maxMessageBytes = positive("maxMessageBytes", options.maxMessageBytes ?? LIMITS.maxMessageBytes);
    this.maxLiveAgents = positive("maxLiveAgents", options.maxLiveAgents ?? LIMITS.maxLiveAgents);
    this.exposeErrors = options.exposeErrors === true;
    this.clock = options.clock ?? systemClock;
    this.crashLoopLimit = positive("crashLoopLimit", options.crashLoopLimit ?? LIMITS.crashLoopLimit);
    this.replicationFor = options.replication;
    this.#facetTrees = options.facetTrees;
    const hungTaskAfterMs = positive("hungTaskAfterMs", options.hungTaskAfterMs ?? LIMITS.hungTaskAfterMs);
    this.#onTaskError = options.onTaskError;
    const placement = (this.#placement = options.placement);
    const dispatcher = placement ? placedDispatcher(this, placement, (className) => this.#binding(className).slug, (className, name) => existsSync(this.#rootPlace(this.#binding(className), name).file)) : this;
    const registry = registerClasses(dispatcher, options);
    this.#bindings = registry.byName;
    this.exports = registry.exports;
    this.#bySlug = registry.bySlug;
    const env = (this.env = buildHostEnv(options, registry.namespaces));
    const stateDir = resolve(options.stateDir ?? this.dataDir);
    this.#time = new Timekeeper({
      dataDir: this.dataDir,
      stateDir,
      ...(placement ? { owns: (slug: string, name: string) => placement.owns(slug, name) } : {}),
      durability: this.durability,
      clock: this.clock,
      hungTaskAfterMs,
      concurrency: Math.max(1, Math.min(LIMITS.taskConcurrency, Math.floor(this.maxLiveAgents / 2))),
      maxLiveAgents: this.maxLiveAgents,
      timedWork: options.timedWork ?? [],
      wakeSources: options.wakeSources ?? [],
      deliver: (slug, name, step) => {
        if (!this.#bySlug.has(slug)) return Promise.reject(new Error(`No agent class is registered for /${slug}/ any more; its schedules wait`));
        return this.#deliverAt(placeFromIndex(this.dataDir, slug, name), (actor) => actor[HANDLE.scoped](() => step(actor[HANDLE.tasks]())));
      },
      timedWorkHost: {
        env,
        // A sub-agent's workflows name it by its root and path (root name, then child names after NULs).
        agentStub: (className, name) => {
          if (name.includes("\0")) return this.#placedStub(className, name) as never;
          const namespace = env[className];
          return namespace instanceof AgentNamespace ? ((namespace as AgentNamespace).getByName(name) as unknown as Record<string, unknown>) : undefined;
        },
        notifyAgent: async (className, name, method, args) => {
          if (this.#closed || !this.#bindings.has(className)) return;
          const notified = name.includes("\0")
            ? this.#deliverAt(placeFromIndex(this.dataDir, this.#binding(className).slug, name), (actor) => actor[HANDLE.invoke](method, args))
            : dispatcher.invoke(className, name, method, args); // placed: the agent may live on another node
          await notified.catch((error: unknown) => console.error(`[hearth] ${className}/${name.replaceAll("\0", "/")}.${method} failed:`, error));
        },
      },
      report: (who, name, error) => this.#closed || reportTaskError(this.#onTaskError, { className: this.#bySlug.get(who)?.className ?? who, name, error }),
      ...(placement?.time ? { nextWakeChanged: (slug: string, name: string, at: number | null) => placement.time!.nextWakeChanged(slug, name, at) } : {}),
    });
    placement?.time?.attach({ lower: (slug, name, at) => this.#time.dispatcher.lower(slug, name, at) });
    this.#time.start();
    this.catalog = new AgentCatalog({ dataDir: this.dataDir, stateDir, ...(placement ? { owns: (slug: string, name: string) => placement.owns(slug, name) } : {}), durability: this.durability, clock: this.clock, classes: this.#bySlug });
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(5, Math.min(1000, Math.floor(this.hibernateAfterMs / 4)))).unref();
    settleLeftAgentFiles(this.dataDir); // what a killed process left unsettled, in the background
  }

  /** Agents in memory and open WebSockets. */
  get stats(): { liveAgents: number; sockets: number } {
    return { liveAgents: this.#cells.size, sockets: this.#sockets.size };
  }

  /** Counts per class for metrics (never instance names); see class-stats.ts. */
  classStats(): Map<string, ClassCounts> {
    return countByClass(this.#cells, this.#sockets, (key) => this.classNameOf(key.slice(0, key.indexOf("\0"))));
  }

  /** The storage name of a class (its directory under `agents/`): what a placement hashes. */
  storageSlugOf(className: string): string {
    return this.#binding(className).slug;
  }

  /** HTTP request to an agent's onRequest. */
  request(className: string, name: string, request: Request): Promise<Response> {
    return this.#deliver(className, name, (agent) => agent[HANDLE.request](request));
  }

  /** True when the agent is in memory or has storage on disk; never creates it. */
  exists(className: string, name: string): boolean {
    const place = this.#rootPlace(this.#binding(className), name);
    return this.#cells.has(placeKey(place)) || existsSync(place.file);
  }

  /**
   * Makes sure the agent is in memory and started; a start caused by this call passes `props` to its
   * onStart (as `getAgentByName(ns, name, { props })` and `routeAgentRequest(req, env, { props })` do).
   */
  start(className: string, name: string, props?: Record<string, unknown>): Promise<void> {
    try {
      const binding = this.#binding(className);
      const cell = this.#cellAt(this.#rootPlace(binding, name), () => ({ binding, name, props }));
      return cell.mailbox.deliver(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Calls a method on an agent (agent-to-agent RPC through a stub). */
  invoke(className: string, name: string, method: string, args: unknown[], caller?: AgentCaller): Promise<unknown> {
    return this.#deliver(className, name, (agent) => agent[HANDLE.invoke](method, args, caller));
  }

  /** Adopts an upgraded WebSocket for an agent: registers it and runs the agent's onConnect. */
  acceptSocket(className: string, name: string, ws: WebSocket, request: Request, place?: CellPlace): void {
    const binding = this.#binding(className);
    if (place === undefined && this.#placement?.owns(binding.slug, name) === false) return this.#placement.remote.acceptSocket(className, name, ws, request);
    const at = place ?? this.#rootPlace(binding, name);
    acceptAgentSocket(this.#socketView, at, placeKey(at), [`${binding.slug}/${name}`, ...at.path].join("/"), ws, request);
  }

  /**
   * Takes a root agent and everything under it out of memory now, without touching its storage: queued
   * events fail with `reason`, its sockets close. For an agent that moved to another host (lost lease).
   */
  evict(slug: string, name: string, reason: Error): void {
    this.#stopTree(placeFromIndex(this.dataDir, slug, name), reason);
  }

  async toSubAgent<T>(
    className: string,
    name: string,
    steps: readonly ActorPathStep[],
    request: Request | undefined,
    task: (actor: Actor, request: Request | undefined, place: CellPlace) => T | Promise<T>,
  ): Promise<T | Response> {
    return walkToSubAgent((place, deliver) => this.#deliverAt(place, deliver), this.#rootPlace(this.#binding(className), name), steps, request, task);
  }

  /** Hibernates every idle agent now (the sweeper does this after `hibernateAfterMs`); one with pending timers of its own is not idle. */
  hibernateIdleAgents(): number {
    const idle = [...this.#cells.values()].filter((cell) => cell.idle);
    for (const cell of idle) this.#hibernate(cell);
    return idle.length;
  }

  /**
   * Stops taking events, closes every WebSocket (1001), waits up to `drainMs` for running events, then
   * commits and closes every database, and waits (up to `LIMITS.closeSettleWithinMs`) for the files
   * written without fsync to be made durable.
   */
  async close({ drainMs = 5_000 }: { drainMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const record of this.#sockets.all()) record.socket.close(1001, "Server shutting down");
    const deadline = performance.now() + drainMs;
    while ([...this.#cells.values()].some((cell) => cell.mailbox.busy) && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.#time.stop();
    for (const cell of [...this.#cells.values()]) this.#hibernate(cell);
    this.#time.close();
    this.catalog.close();
    await closeFilePool(this.dataDir);
    await settleQueuedFiles(LIMITS.closeSettleWithinMs);
  }

  /** Resolves when no scheduled or queued work is running (tests: after advancing a virtual clock). */
  tasksIdle(): Promise<void> {
    return this.#time.idle();
  }

  /** Agents with scheduled or queued work, and when the earliest is due (epoch ms). */
  get pendingTasks(): { agents: number; nextAt: number | null } {
    return { agents: this.#time.index.size, nextAt: this.#time.index.earliest() };
  }

  /** The index entry of an agent: when the host will next wake it for its tasks (null: never). */
  nextWake(className: string, name: string): Date | null {
    const at = this.#time.index.get(this.#binding(className).slug, name);
    return at === null ? null : new Date(at);
  }

  /** Root agents (`slug/name`) in memory here, or with a WebSocket open (hibernated too), themselves or a sub-agent or facet. */
  residentRoots(): Set<string> {
    return rootsOfKeys([...this.#cells.keys(), ...this.#sockets.agentKeys()]);
  }

  /** Root agents (`slug/name`) with a task due by `until` (epoch ms): an agent, or a sub-agent or facet of it. */
  rootsDueBy(until: number): Set<string> {
    return rootsOfKeys(this.#time.index.due(until, Number.MAX_SAFE_INTEGER).map(({ slug, name }) => rootKey(slug, name)));
  }

  /** What src/host/introspect.ts reads: whether an agent is in memory now. */
  get internals(): { isLive(className: string, name: string): boolean } {
    return { isLive: (className, name) => this.#cells.has(placeKey(this.#rootPlace(this.#binding(className), name))) };
  }

  // CellHost

  socketsOf(cell: ActorCell): Map<string, SocketRecord> | undefined {
    return this.#sockets.of(cell.key);
  }

  adoptSocket(cell: ActorCell, record: SocketRecord): SocketEvents {
    return adoptActorSocket(this.#socketView, cell.place, cell.key, `${cell.binding.className}/${cell.name}`, record);
  }

  childrenOf(cell: ActorCell): ChildActors {
    return this.#children.of(cell.key, cell.place);
  }

  classNameOf(slug: string): string {
    return this.#bySlug.get(slug)?.className ?? slug;
  }

  atParent<T>(cell: ActorCell, task: (parent: Actor) => T | Promise<T>): Promise<T> {
    if (cell.place.path.length === 0) return Promise.reject(new TypeError(`${cell.binding.className}/${cell.name} is not a sub-agent: it has no parent`));
    return this.#deliverAt(this.#parentPlace(cell), task);
  }

  atStoredParent(cell: ActorCell, task: (parent: Actor) => unknown): boolean {
    const place = cell.place.path.length === 0 || this.#closed ? undefined : this.#parentPlace(cell);
    // A parent deleted meanwhile is never made again for this: only one in memory or on disk is reached.
    if (place === undefined || (!this.#cells.has(placeKey(place)) && !existsSync(place.file))) return false;
    void this.#deliverAt(place, task).catch((error: unknown) => console.error(`[hearth] the parent of ${cell.binding.className}/${cell.name}:`, error));
    return true;
  }

  #parentPlace(cell: ActorCell): CellPlace {
    return cell.place.path.slice(0, -1).reduce((place, child) => childPlace(place, child), rootPlace(this.dataDir, cell.place.rootSlug, cell.place.rootName));
  }

  socketSettings(cell: ActorCell): Record<string, unknown> {
    return this.#sockets.settings(cell.key);
  }

  touched(cell: ActorCell): void {
    if (this.#cells.get(cell.key) !== cell) return;
    this.#cells.delete(cell.key);
    this.#cells.set(cell.key, cell);
  }

  tasksChanged(cell: ActorCell, at: number): void {
    this.#time.dispatcher.lower(cell.place.rootSlug, indexName(cell.place), at);
  }

  /** Deletes the actor's data and its children's; its sockets close, its queued events fail. */
  async destroy(cell: ActorCell): Promise<void> {
    const reason = new Error(`${cell.binding.className}/${cell.name} was destroyed`);
    closeDestroyedSockets(cell, this.#sockets.takeAll(cell.key)); // after the reply of the call that destroyed it
    this.#stopTree(cell.place, reason);
    this.#time.dispatcher.forgetTree(cell.place.rootSlug, indexName(cell.place));
    removePlaceFiles(cell.place);
    this.catalog.removed(cell.place);
    this.#children.removedTree(cell.key);
    // Its parent's older stubs must not make it again, empty and unlisted: they fail as after a delete.
    if (cell.place.path.length > 0) this.#children.get(placeKey(this.#parentPlace(cell)))?.destroyed(cell.place.path.at(-1)!);
  }

  failedToStart(cell: ActorCell, error: unknown): void {
    console.error(`[hearth] ${cell.binding.className}/${cell.name} failed to start:`, error);
    if (this.#cells.get(cell.key) === cell) this.#cells.delete(cell.key);
    const message = error instanceof Error ? error.message : String(error);
    cell.mailbox.rejectQueued(new Error(`${cell.binding.className} failed to start: ${message}`, { cause: error }));
    cell.close();
  }

  // Internals

  #deliver<T>(className: string, name: string, task: (actor: Actor) => T | Promise<T>): Promise<T> {
    try {
      const binding = this.#binding(className);
      // A live root agent by its key alone: no place, file path or name check per event (its name was
      // checked when it was made; a NUL would name a child's key instead, so such a name goes the long way).
      const live = this.#closed || typeof name !== "string" || name.includes("\0") ? undefined : this.#cells.get(rootKey(binding.slug, name));
      if (live !== undefined) return live.mailbox.deliver(() => task(live.instance));
      return this.#deliverAt(this.#rootPlace(binding, name), task);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `task` on the actor at `place`, waking it (a child from what its file says it is). */
  #deliverAt<T>(place: CellPlace, task: (actor: Actor) => T | Promise<T>): Promise<T> {
    let cell: ActorCell;
    try {
      cell = this.#cellAt(place, () => this.#storedSpec(place));
    } catch (error) {
      return Promise.reject(error);
    }
    return cell.mailbox.deliver(() => task(cell.instance));
  }

  /** The live cell at `place`, or a new one made from `spec()`. */
  #cellAt(place: CellPlace, spec: () => { binding: AgentBinding; name: string; props?: Record<string, unknown>; childId?: unknown }): ActorCell {
    if (this.#closed) throw new Error("The host is closed");
    const key = placeKey(place);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      if (this.#placement?.owns(place.rootSlug, place.rootName) === false) throw new Error(`${place.rootSlug}/${place.rootName} belongs to another shard`);
      const { binding, name, props, childId } = spec();
      cell = new ActorCell(this, binding, name, place, props, childId);
      this.#cells.set(key, cell);
      this.catalog.opened(place);
      if (this.#cells.size > this.maxLiveAgents) this.#shed();
    }
    return cell;
  }

  #binding(className: string): AgentBinding {
    const binding = this.#bindings.get(className);
    if (!binding) throw new TypeError(`No agent class "${className}" is registered`);
    return binding;
  }

  /** A stub of the actor a placed name (root name and child path) points at. */
  #placedStub(className: string, name: string): Record<string, unknown> | undefined {
    const binding = this.#bindings.get(className);
    if (!binding) return undefined;
    const place = placeFromIndex(this.dataDir, binding.slug, name);
    return actorStub((task) => this.#deliverAt(place, task));
  }

  /** Where a root agent lives (its file path is kept by agentFilePath, not hashed per event). */
  #rootPlace(binding: AgentBinding, name: string): CellPlace {
    return rootPlace(this.dataDir, binding.slug, validateAgentName(name));
  }

  /** How to start the actor at a place from what is stored: a root by its class; a child by its file's record. */
  #storedSpec(place: CellPlace): { binding: AgentBinding; name: string; childId?: unknown } {
    if (place.path.length > 0) return this.#childSpec(place, storedChildSpec(place));
    const binding = this.#bySlug.get(place.rootSlug);
    if (!binding) throw new Error(`No class is registered for /${place.rootSlug}/ any more`);
    return { binding, name: place.rootName };
  }

  #childSpec(place: CellPlace, spec: ChildSpec): { binding: AgentBinding; name: string; childId?: unknown } {
    return childStart(place, spec, spec.create ? undefined : this.#bindings.get(spec.className));
  }

  /** Closes the live cells at `place` and under it; their queued events fail with `reason`. */
  #stopTree(place: CellPlace, reason: unknown, closeReason: string | null = "Facet stopped"): void {
    const key = placeKey(place);
    const inTree = (other: string) => other === key || other.startsWith(key + "\0");
    for (const cell of [...this.#cells.values()]) {
      if (!inTree(cell.key)) continue;
      this.#cells.delete(cell.key);
      cell.mailbox.rejectQueued(reason);
      this.#time.reconcile(cell);
      cell.close();
    }
    // Sockets of hibernated actors in the tree too: nothing would answer them any more. Kept only
    // when the data stays and their next frame may start the actor again (an aborted sub-agent).
    if (closeReason === null) return;
    for (const agentKey of this.#sockets.agentKeys()) {
      if (!inTree(agentKey)) continue;
      for (const record of this.#sockets.takeAll(agentKey)) record.socket.close(1001, closeReason);
    }
  }

  #sweep(): void {
    if (this.#sweepContinues) return;
    const now = performance.now();
    const deadline = now - this.hibernateAfterMs;
    // Past this, only an event running or waiting, or a hold (waitUntil, an accept()ed socket), keeps an agent: its own timers no longer do.
    const evictBefore = now - this.evictAfterMs;
    let hibernated = 0;
    let closingSince = 0; // the budget counts closes, not the walk past busy agents
    for (const cell of this.#cells.values()) {
      if (cell.lastActive > deadline) break;
      if (!(cell.lastActive <= evictBefore ? cell.quiet : cell.idle)) continue;
      // Each hibernation closes a file: a few per turn, so replies do not wait behind hundreds.
      if (hibernated === 0) closingSince = performance.now();
      else if (hibernated >= HIBERNATIONS_PER_TURN || performance.now() - closingSince > CLOSING_MS_PER_TURN) {
        this.#sweepContinues = true;
        return void setImmediate(() => {
          this.#sweepContinues = false;
          if (!this.#closed) this.#sweep();
        });
      }
      hibernated++;
      this.#hibernate(cell);
    }
  }

  /** Over the live-agent cap: hibernate the least recently active idle agents. */
  #shed(): void {
    for (const cell of this.#cells.values()) {
      if (this.#cells.size <= this.maxLiveAgents) return;
      if (cell.idle) this.#hibernate(cell);
    }
  }

  #hibernate(cell: ActorCell): void {
    this.#cells.delete(cell.key);
    this.catalog.left(cell.place);
    this.#sockets.dropEmptySettings(cell.key);
    this.#time.reconcile(cell);
    cell.close();
    this.#children.left(cell.key);
  }
}
