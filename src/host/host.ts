import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import type { WebSocket } from "ws";
import { Agent, HANDLE } from "../agent/agent.ts";
import type { SocketRecord } from "../agent/connection.ts";
import { camelCaseToKebabCase } from "../client/kebab.ts";
import { LIMITS, type Durability } from "../limits.ts";
import { frames, sniffRpcId } from "../protocol/frames.ts";
import { agentFilePath } from "../storage/agent-file.ts";
import { ActorCell, type AgentBinding, type CellHost } from "./cell.ts";
import { corkedSocket } from "./corked-socket.ts";
import { validateAgentName } from "./names.ts";
import { AgentNamespace, type AgentDispatcher } from "./namespace.ts";
import { SocketHub } from "./socket-hub.ts";

/** An Agent subclass. */
export type AgentClass = abstract new (...args: never[]) => Agent;

export interface HostOptions {
  /** Where agent databases live. Created if missing. */
  dataDir: string;
  /** Agent classes by binding name; each becomes `env[name]`. */
  agents: Record<string, AgentClass>;
  /** Plain variables added to `env` (from .env / .dev.vars). */
  vars?: Record<string, string>;
  /** `relaxed` (default) survives a process crash; `strict` also a power loss. */
  durability?: Durability;
  /** Idle time before an agent hibernates. Default 10 s. */
  hibernateAfterMs?: number;
  /** Largest accepted WebSocket frame. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Agents kept in memory at once. Default 4,096. */
  maxLiveAgents?: number;
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
  /** Variables plus one {@link AgentNamespace} per agent class: what a worker's fetch receives. */
  readonly env: Record<string, unknown>;
  readonly #bindings = new Map<string, AgentBinding>();
  /** Live cells in least-recently-active order (a Map keeps insertion order; touching re-inserts). */
  readonly #cells = new Map<string, ActorCell>();
  readonly #sockets = new SocketHub();
  readonly #sweeper: NodeJS.Timeout;
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
    const env: Record<string, unknown> = { ...options.vars };
    const slugs = new Map<string, string>();
    for (const [className, ctor] of Object.entries(options.agents)) {
      if (typeof ctor !== "function" || !(ctor.prototype instanceof Agent)) {
        throw new TypeError(`agents.${className} is not a class that extends Agent`);
      }
      const slug = camelCaseToKebabCase(className);
      const clash = slugs.get(slug);
      if (clash) throw new TypeError(`Agent classes ${clash} and ${className} both map to /${slug}/`);
      slugs.set(slug, className);
      this.#bindings.set(className, { className, slug, ctor: ctor as unknown as AgentBinding["ctor"] });
      env[className] = new AgentNamespace(this, className, slug);
    }
    this.env = env;
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

  /** Calls a method on an agent (agent-to-agent RPC through a stub). */
  invoke(className: string, name: string, method: string, args: unknown[]): Promise<unknown> {
    return this.#deliver(className, name, (agent) => agent[HANDLE.invoke](method, args));
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
    const deadline = Date.now() + drainMs;
    while ([...this.#cells.values()].some((cell) => cell.mailbox.busy) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const cell of this.#cells.values()) cell.close();
    this.#cells.clear();
  }

  // CellHost

  filePath(binding: AgentBinding, name: string): string {
    return agentFilePath(this.dataDir, binding.slug, name);
  }

  socketsOf(cell: ActorCell): Map<string, SocketRecord> | undefined {
    return this.#sockets.of(cell.key);
  }

  touched(cell: ActorCell): void {
    if (this.#cells.get(cell.key) !== cell) return;
    this.#cells.delete(cell.key);
    this.#cells.set(cell.key, cell);
  }

  async destroy(cell: ActorCell): Promise<void> {
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

  #deliver<T>(className: string, name: string, task: (agent: Agent) => T | Promise<T>): Promise<T> {
    let cell: ActorCell;
    try {
      cell = this.#cell(this.#binding(className), name);
    } catch (error) {
      return Promise.reject(error);
    }
    return cell.mailbox.deliver(() => task(cell.instance));
  }

  #cell(binding: AgentBinding, name: string): ActorCell {
    if (this.#closed) throw new Error("The host is closed");
    const key = this.#key(binding, name);
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = new ActorCell(this, binding, name, key);
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
      const id = isBinary ? undefined : sniffRpcId(buffer.subarray(0, 512).toString());
      record.socket.send(id ? frames.rpcError(id, error) : frames.error(error));
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
    const deadline = Date.now() - this.hibernateAfterMs;
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
    cell.close();
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
