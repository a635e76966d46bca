import type { SocketRecord } from "../agent/connection.ts";

/**
 * Every open WebSocket, grouped by agent. Lives in the host, not in agents, so sockets and their
 * attachments (id, tags, state, flags) stay put while an agent hibernates.
 */
export class SocketHub {
  readonly #byAgent = new Map<string, Map<string, SocketRecord>>();
  /** Per-agent socket settings (a Durable Object's auto-response); kept until the agent is destroyed. */
  readonly #settings = new Map<string, Record<string, unknown>>();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  of(agentKey: string): Map<string, SocketRecord> | undefined {
    return this.#byAgent.get(agentKey);
  }

  count(agentKey: string): number {
    return this.#byAgent.get(agentKey)?.size ?? 0;
  }

  /** True while `record` is the socket registered under its id (not closed, replaced or taken with its agent). */
  has(agentKey: string, record: SocketRecord): boolean {
    return this.#byAgent.get(agentKey)?.get(record.id) === record;
  }

  /** Adds a socket; returns the one it replaced when a client reconnects with the same id. */
  add(agentKey: string, record: SocketRecord): SocketRecord | undefined {
    let sockets = this.#byAgent.get(agentKey);
    if (!sockets) this.#byAgent.set(agentKey, (sockets = new Map()));
    const previous = sockets.get(record.id);
    record.connectedAt ??= Date.now();
    if (!previous) this.#count++;
    sockets.set(record.id, record);
    return previous;
  }

  /**
   * Removes the socket if it is still the one registered under its id; false when it was already
   * gone (replaced by a reconnect with the same id, or its agent was destroyed).
   */
  remove(agentKey: string, record: SocketRecord): boolean {
    const sockets = this.#byAgent.get(agentKey);
    if (sockets?.get(record.id) !== record) return false;
    sockets.delete(record.id);
    this.#count--;
    if (sockets.size === 0) this.#byAgent.delete(agentKey);
    return true;
  }

  settings(agentKey: string): Record<string, unknown> {
    let settings = this.#settings.get(agentKey);
    if (!settings) this.#settings.set(agentKey, (settings = {}));
    return settings;
  }

  /** Forgets an agent's settings if none were set (a hibernated agent then costs the hub nothing). */
  dropEmptySettings(agentKey: string): void {
    const settings = this.#settings.get(agentKey);
    if (settings && Object.keys(settings).length === 0) this.#settings.delete(agentKey);
  }

  /** The keys of the agents that have sockets, live or hibernated. */
  agentKeys(): string[] {
    return [...this.#byAgent.keys()];
  }

  /** Removes and returns every socket of one agent, and forgets its settings. */
  takeAll(agentKey: string): SocketRecord[] {
    this.#settings.delete(agentKey);
    const sockets = this.#byAgent.get(agentKey);
    if (!sockets) return [];
    this.#byAgent.delete(agentKey);
    this.#count -= sockets.size;
    return [...sockets.values()];
  }

  *all(): IterableIterator<SocketRecord> {
    for (const sockets of this.#byAgent.values()) yield* sockets.values();
  }
}
