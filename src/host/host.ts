import { randomUUID } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import type { WebSocket } from "ws";
import { Agent, HANDLE } from "../agent/agent.ts";
import type { SocketRecord } from "../agent/connection.ts";
import type { AgentCaller } from "../agent/context.ts";
import type { SocketEvents } from "../agent/runtime.ts";
import { LIMITS, type Durability } from "../limits.ts";
import { chatRequestError, frames, sniffChatRequestId, sniffRpcId } from "../protocol/frames.ts";
import { agentFilePath } from "../storage/agent-file.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { WorkerLoader } from "../sandbox/loader.ts";
import { WorkflowBinding } from "../workflow/binding.ts";
import type { WorkflowEngine } from "../workflow/engine.ts";
import { WorkflowEntrypoint, type WorkflowClass } from "../workflow/entrypoint.ts";
import type { Actor } from "./actor.ts";
import { ActorCell, type AgentBinding, type CellHost } from "./cell.ts";
import { corkedSocket } from "./corked-socket.ts";
import { registerClasses, twoCopiesHint } from "./class-registry.ts";
import { validateAgentName } from "./names.ts";
import { AgentNamespace, type AgentDispatcher } from "./namespace.ts";
import { SocketHub } from "./socket-hub.ts";
import { Timekeeper } from "./timekeeper.ts";

/** An Agent subclass. */
export type AgentClass = abstract new (...args: never[]) => Agent;

export interface HostOptions {
  /** Where agent databases live. Created if missing. */
  dataDir: string;
  /** Agent classes by binding name; each becomes `env[name]`. */
  agents: Record<string, AgentClass>;
  /**
   * Plain Durable Object classes (extending `DurableObject` from hearth or `cloudflare:workers`) by
   * binding name; each becomes `env[name]`, a Durable Object namespace. They run on the same host as
   * agents: the same input gate, implicit transactions, output gate, hibernation and schedule index.
   */
  durableObjects?: Record<string, abstract new (...args: never[]) => unknown>;
  /** Workflow classes by binding name; each becomes `env[name]` (a WorkflowBinding). */
  workflows?: Record<string, WorkflowClass>;
  /** Plain variables added to `env` (from .env / .dev.vars). */
  vars?: Record<string, unknown>;
  /**
   * Other values added to `env` under their names: platform bindings (KV, D1, queues, …) built
   * outside the host. A name may not clash with an agent class, a workflow or a variable.
   */
  bindings?: Record<string, unknown>;
  /**
   * The storage directory name of an agent binding (default: its kebab-case name). A wrangler project
   * keys storage by class name, so renaming a binding keeps its agents' data.
   */
  storageNames?: Record<string, string>;
  /** `relaxed` (default) survives a process crash; `strict` also a power loss. */
  durability?: Durability;
  /** Idle time before an agent hibernates. Default 10 s. */
  hibernateAfterMs?: number;
  /** Largest accepted WebSocket frame. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Agents kept in memory at once. Default 4,096. */
  maxLiveAgents?: number;
  /** Time source of schedules and queues. Default: the system clock; tests pass a `VirtualClock`. */
  clock?: Clock;
  /** A scheduled or queued callback still running after this long is reported as hung. Default 15 min. */
  hungTaskAfterMs?: number;
  /** Runs of one task in a row that never finished before the crash-loop breaker stops it. Default 5. */
  crashLoopLimit?: number;
  /** Called with problems of scheduled work the agent's own onError cannot see: hung runs, unreachable agents. */
  onTaskError?: (report: TaskErrorReport) => void;
}

/** A problem with an agent's scheduled work, reported by the host. */
export interface TaskErrorReport {
  className: string;
  name: string;
  error: Error;
}

/**
 * Runs agents in this process: exactly one live instance per (class, name), created on first use,
 * hibernated when idle, woken by the next request or message.
 * @example
 * const host = new Host({ dataDir: ".hearth", agents: { Counter } });
 * const server = await serve({ host, port: 8787 });
 */
export class Host implements CellHost, AgentDispatcher {
  readonly dataDir: string;
  readonly durability: Durability;
  readonly hibernateAfterMs: number;
  readonly maxMessageBytes: number;
  readonly maxLiveAgents: number;
  readonly clock: Clock;
  readonly crashLoopLimit: number;
  /** Variables plus one {@link AgentNamespace} per agent class: what a worker's fetch receives. */
  readonly env: Record<string, unknown>;
  readonly #bindings: Map<string, AgentBinding>;
  /** Live cells in least-recently-active order (a Map keeps insertion order; touching re-inserts). */
  readonly #cells = new Map<string, ActorCell>();
  readonly #sockets = new SocketHub();
  readonly #sweeper: NodeJS.Timeout;
  readonly #bySlug: Map<string, AgentBinding>;
  readonly #time: Timekeeper;
  readonly #loader: WorkerLoader | undefined;
  readonly #onTaskError: ((report: TaskErrorReport) => void) | undefined;
  #closed = false;

  constructor(options: HostOptions) {
    this.dataDir = resolve(options.dataDir);
    this.durability = options.durability ?? "relaxed";
    if (this.durability !== "strict" && this.durability !== "relaxed") {
      throw new TypeError(`durability must be "strict" or "relaxed", got ${JSON.stringify(options.durability)}`);
    }
    this.hibernateAfterMs = positive("hibernateAfterMs", options.hibernateAfterMs ?? LIMITS.hibernateAfterMs);
    this.maxMessageBytes = positive("maxMessageBytes", options.maxMessageBytes ?? LIMITS.maxMessageBytes);
    this.maxLiveAgents = positive("maxLiveAgents", options.maxLiveAgents ?? LIMITS.maxLiveAgents);
    this.clock = options.clock ?? systemClock;
    this.crashLoopLimit = positive("crashLoopLimit", options.crashLoopLimit ?? LIMITS.crashLoopLimit);
    const hungTaskAfterMs = positive("hungTaskAfterMs", options.hungTaskAfterMs ?? LIMITS.hungTaskAfterMs);
    this.#onTaskError = options.onTaskError;
    const registry = registerClasses(this, options);
    this.#bindings = registry.byName;
    this.#bySlug = registry.bySlug;
    const env: Record<string, unknown> = { ...options.vars };
    for (const [className, namespace] of Object.entries(registry.namespaces)) {
      if (className in env) throw new TypeError(`The class binding ${className} clashes with a variable of the same name`);
      env[className] = namespace;
    }
    const workflows = new Map<string, WorkflowClass>();
    for (const [name, ctor] of Object.entries(options.workflows ?? {})) {
      if (typeof ctor !== "function" || !(ctor.prototype instanceof WorkflowEntrypoint)) {
        throw new TypeError(`workflows.${name} is not a class that extends WorkflowEntrypoint${twoCopiesHint(ctor, "WorkflowEntrypoint")}`);
      }
      if (name in env) throw new TypeError(`The workflow binding ${name} clashes with an agent class or variable of the same name`);
      workflows.set(name, ctor);
      env[name] = new WorkflowBinding(() => this.#workflowEngine(), name);
    }
    for (const [name, value] of Object.entries(options.bindings ?? {})) {
      if (name in env) throw new TypeError(`The binding ${name} clashes with an agent class, workflow or variable of the same name`);
      env[name] = value;
    }
    // Dynamic Workers: every agent, workflow and the worker's fetch get env.LOADER (unless the app
    // binds something of that name itself).
    if (!("LOADER" in env)) {
      this.#loader = new WorkerLoader();
      env.LOADER = this.#loader;
    }
    this.env = env;
    this.#time = new Timekeeper({
      dataDir: this.dataDir,
      durability: this.durability,
      clock: this.clock,
      hungTaskAfterMs,
      concurrency: Math.max(1, Math.min(LIMITS.taskConcurrency, Math.floor(this.maxLiveAgents / 2))),
      workflows,
      deliver: (slug, name, step) => {
        const binding = this.#bySlug.get(slug);
        if (!binding) return Promise.reject(new Error(`No agent class is registered for /${slug}/ any more; its schedules wait`));
        return this.#deliver(binding.className, name, (agent) => agent[HANDLE.scoped](() => step(agent[HANDLE.tasks]())));
      },
      engineHost: {
        env,
        agentStub: (className, name) => {
          const namespace = env[className];
          return namespace instanceof AgentNamespace ? (namespace as AgentNamespace<Agent>).getByName(name) : undefined;
        },
        notifyAgent: async (className, name, method, args) => {
          if (this.#closed || !this.#bindings.has(className)) return;
          await this.invoke(className, name, method, args).catch((error: unknown) =>
            console.error(`[hearth] ${className}/${name}.${method} failed:`, error),
          );
        },
      },
      report: (who, name, error) => this.#reportTaskError(this.#bySlug.get(who)?.className ?? who, name, error),
    });
    this.#time.start();
    const sweepEvery = Math.max(5, Math.min(1000, Math.floor(this.hibernateAfterMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), sweepEvery).unref();
  }

  /** Agents in memory and open WebSockets. */
  get stats(): { liveAgents: number; sockets: number } {
    return { liveAgents: this.#cells.size, sockets: this.#sockets.size };
  }

  /** HTTP request to an agent's onRequest. */
  request(className: string, name: string, request: Request): Promise<Response> {
    return this.#deliver(className, name, (agent) => agent[HANDLE.request](request));
  }

  /** True when the agent is in memory or has storage on disk; never creates it. */
  exists(className: string, name: string): boolean {
    const binding = this.#binding(className);
    if (this.#cells.has(this.#key(binding, name))) return true;
    return existsSync(this.filePath(binding, name));
  }

  /**
   * Makes sure the agent is in memory and started; a start caused by this call passes `props` to its
   * onStart (as `getAgentByName(ns, name, { props })` and `routeAgentRequest(req, env, { props })` do).
   */
  start(className: string, name: string, props?: Record<string, unknown>): Promise<void> {
    try {
      const cell = this.#cell(this.#binding(className), name, props);
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
  acceptSocket(className: string, name: string, ws: WebSocket, request: Request): void {
    const binding = this.#binding(className);
    const key = this.#key(binding, name);
    const requested = new URL(request.url).searchParams.get("_pk");
    if (requested !== null && (requested.length === 0 || requested.length > 256)) {
      ws.close(1008, "Connection id (_pk) must be 1-256 characters");
      return;
    }
    if (this.#sockets.count(key) >= LIMITS.maxConnectionsPerAgent) {
      ws.close(1013, `Too many connections to this agent (maxConnectionsPerAgent ${LIMITS.maxConnectionsPerAgent})`);
      return;
    }
    const id = requested ?? randomUUID();
    const record: SocketRecord = {
      id,
      socket: corkedSocket(ws),
      url: request.url,
      tags: [id],
      stateJson: undefined,
      readonly: false,
      protocol: true,
      connected: false,
    };
    this.#sockets.add(key, record)?.socket.close(4000, "Replaced by a newer connection with the same id");
    ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) =>
      this.#onSocketMessage(binding, name, record, data, isBinary),
    );
    ws.on("close", (code: number, reason: Buffer) => {
      // A socket that was replaced or whose agent was destroyed has no agent to tell.
      if (!this.#sockets.remove(key, record) || this.#closed) return;
      this.#deliver(binding.className, name, (agent) =>
        agent[HANDLE.close](record, code, reason.toString(), code !== 1006),
      ).catch(() => {});
    });
    ws.on("error", (error: Error) => console.error(`[hearth] socket ${binding.slug}/${name}#${id}:`, error.message));
    this.#deliver(binding.className, name, (agent) => agent[HANDLE.connect](record, request)).catch((error: unknown) => {
      this.#sockets.remove(key, record);
      ws.close(1011, truncate(`Agent failed in onConnect: ${error instanceof Error ? error.message : String(error)}`));
    });
  }

  /** Hibernates every idle agent now (the sweeper does this after `hibernateAfterMs`). */
  hibernateIdleAgents(): number {
    let count = 0;
    for (const cell of [...this.#cells.values()]) {
      if (cell.idle) {
        this.#hibernate(cell);
        count++;
      }
    }
    return count;
  }

  /**
   * Stops taking events, closes every WebSocket (1001), waits up to `drainMs` for running events to
   * finish, then commits and closes every database.
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
    for (const cell of this.#cells.values()) {
      this.#reconcileTasks(cell);
      cell.close();
    }
    this.#cells.clear();
    this.#time.close();
    this.#loader?.close();
  }

  /** Resolves when no scheduled or queued work is running (tests: after advancing a virtual clock). */
  tasksIdle(): Promise<void> {
    return this.#time.idle();
  }

  /** Workflow instances executing now (sleeping and waiting ones are not in memory). */
  get workflowStats(): { running: number } {
    return { running: this.#time.workflows?.runningCount ?? 0 };
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

  // CellHost

  filePath(binding: AgentBinding, name: string): string {
    return agentFilePath(this.dataDir, binding.slug, name);
  }

  socketsOf(cell: ActorCell): Map<string, SocketRecord> | undefined {
    return this.#sockets.of(cell.key);
  }

  adoptSocket(cell: ActorCell, record: SocketRecord): SocketEvents {
    const { key, name } = cell;
    const { className } = cell.binding;
    if (this.#sockets.count(key) >= LIMITS.maxConnectionsPerAgent) {
      throw new RangeError(`Too many WebSockets on ${className}/${name}: the limit is ${LIMITS.maxConnectionsPerAgent} (maxConnectionsPerAgent)`);
    }
    this.#sockets.add(key, record);
    const gone = (): boolean => !this.#sockets.remove(key, record) || this.#closed;
    return {
      message: (data) => void this.#deliver(className, name, (actor) => actor[HANDLE.message](record, data)).catch(() => {}),
      close: (code, reason, wasClean) => {
        if (gone()) return;
        this.#deliver(className, name, (actor) => actor[HANDLE.close](record, code, reason, wasClean)).catch(() => {});
      },
      error: (error) => {
        if (gone()) return;
        this.#deliver(className, name, (actor) => actor[HANDLE.socketError]?.(record, error)).catch(() => {});
      },
    };
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
    this.#time.dispatcher.lower(cell.binding.slug, cell.name, at);
  }

  async destroy(cell: ActorCell): Promise<void> {
    this.#time.dispatcher.forget(cell.binding.slug, cell.name);
    for (const record of this.#sockets.takeAll(cell.key)) record.socket.close(1000, "Agent destroyed");
    if (this.#cells.get(cell.key) === cell) this.#cells.delete(cell.key);
    cell.mailbox.rejectQueued(new Error(`Agent ${cell.key.replace("\0", "/")} was destroyed`));
    cell.close();
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(cell.db.path + suffix, { force: true });
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
    let cell: ActorCell;
    try {
      cell = this.#cell(this.#binding(className), name);
    } catch (error) {
      return Promise.reject(error);
    }
    return cell.mailbox.deliver(() => task(cell.instance));
  }

  #cell(binding: AgentBinding, name: string, props?: Record<string, unknown>): ActorCell {
    if (this.#closed) throw new Error("The host is closed");
    const key = this.#key(binding, name);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new ActorCell(this, binding, name, key, props);
      this.#cells.set(key, cell);
      if (this.#cells.size > this.maxLiveAgents) this.#shed();
    }
    return cell;
  }

  #binding(className: string): AgentBinding {
    const binding = this.#bindings.get(className);
    if (!binding) throw new TypeError(`No agent class "${className}" is registered`);
    return binding;
  }

  #key(binding: AgentBinding, name: string): string {
    return `${binding.slug}\0${validateAgentName(name)}`;
  }

  #onSocketMessage(
    binding: AgentBinding,
    name: string,
    record: SocketRecord,
    data: Buffer | ArrayBuffer | Buffer[],
    isBinary: boolean,
  ): void {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (buffer.length > this.maxMessageBytes) {
      const error = `Message of ${buffer.length} bytes exceeds the limit of ${this.maxMessageBytes} bytes (maxMessageBytes)`;
      const head = isBinary ? "" : buffer.subarray(0, 512).toString();
      const rpcId = sniffRpcId(head);
      const chatId = rpcId === undefined ? sniffChatRequestId(head) : undefined;
      record.socket.send(rpcId ? frames.rpcError(rpcId, error) : chatId ? chatRequestError(chatId, error) : frames.error(error));
      return;
    }
    const message = isBinary
      ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)
      : buffer.toString("utf8");
    this.#deliver(binding.className, name, (agent) => agent[HANDLE.message](record, message as string | ArrayBuffer)).catch(
      () => {}, // already reported through the agent's onError
    );
  }

  #sweep(): void {
    const deadline = performance.now() - this.hibernateAfterMs;
    for (const cell of this.#cells.values()) {
      if (cell.lastActive > deadline) break;
      if (cell.idle) this.#hibernate(cell);
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
    this.#reconcileTasks(cell);
    cell.close();
  }

  /** Sets the agent's index entry from its committed tasks, so it is not woken for nothing. */
  #reconcileTasks(cell: ActorCell): void {
    if (cell.closed) return;
    try {
      cell.db.flush();
      const tasks = cell.instance[HANDLE.tasks]();
      if (tasks.hasTasks) this.#time.dispatcher.reconcile(cell.binding.slug, cell.name, tasks.nextDue());
    } catch (error) {
      console.error(`[hearth] ${cell.binding.className}/${cell.name}: could not update the schedule index:`, error);
    }
  }

  #workflowEngine(): WorkflowEngine {
    const engine = this.#time.workflows;
    if (!engine) throw new Error("This host runs no workflows");
    return engine;
  }

  #reportTaskError(className: string, name: string, error: Error): void {
    if (this.#closed) return;
    console.error(`[hearth] ${className}/${name}: ${error.message}`);
    try {
      this.#onTaskError?.({ className, name, error });
    } catch (hookError) {
      console.error("[hearth] onTaskError failed:", hookError);
    }
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

/** WebSocket close reasons are limited to 123 bytes. */
function truncate(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -2) + "…";
  return out;
}
