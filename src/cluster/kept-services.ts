import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { preferredNode } from "./due/rendezvous.ts";

/** What {@link KeptServices} needs of its cluster node. */
export interface KeptServicesNode {
  readonly nodeId: string;
  /** This node may claim now: its membership is valid, it is not draining or closed. */
  active(): boolean;
  /** This node's incarnation now (a node that joined again registers its kinds again). */
  incarnation(): number;
  /** Records that this node's incarnation keeps services of `kind`: only such nodes are preferred for them. */
  keep(kind: string): Promise<void>;
  /** The live holders of those of `actorIds` that have one, and the alive nodes that keep `kind`. */
  look(kind: string, actorIds: readonly string[]): Promise<{ holders: ReadonlyMap<string, string>; nodes: readonly string[] }>;
  /** This node holds `actorId` now. */
  owns(actorId: string): boolean;
  /** Claims `actorId` when nobody live holds it, and opens it here ("open"). */
  take(actorId: string): Promise<void>;
  /** Whether `actorId` could move now without cutting work short (nothing under way in it). */
  movable(actorId: string): boolean;
  /** Hands `actorId` to node `to`, which claims it on its next look or first call. */
  handOver(actorId: string, to: string): Promise<void>;
}

export interface KeptServicesOptions {
  /** How often the holders are looked up; default 1,000 ms. */
  everyMs?: number;
  /**
   * How long a service stays without a live holder before a node that is not its preferred one takes
   * it (its preferred node may be dying too), and how long a holder that is not the preferred node
   * waits before handing it over; default 2 × everyMs.
   */
  graceMs?: number;
}

/**
 * Services some live node must hold even when nothing calls them (workflow instances run on their own),
 * spread over the nodes that keep their kind (each node says so in Postgres once it is ready, so a
 * node that does not serve the kind is never handed one): each service's preferred node among those (rendezvous hashing, the
 * same answer on every node) claims it when nobody holds it, another node only after a grace period;
 * and a holder that is not the preferred node — a node joined since it claimed — hands the service
 * over at a moment when nothing is under way in it. One lookup of every kept service per interval.
 * At most one take or hand-over of a service is under way at a time on a node (a look waits for them).
 * @example
 * const kept = new KeptServices(node, { everyMs: 1_000 });
 * kept.add("~workflows", ["~workflows/p0", "~workflows/p1"], () => hostReady);
 * // … on drain:
 * kept.stop();
 */
export class KeptServices {
  readonly #node: KeptServicesNode;
  readonly #everyMs: number;
  readonly #graceMs: number;
  readonly #groups: Array<{ kind: string; actorIds: readonly string[]; ready: () => boolean; keptBy?: number }> = [];
  /** Since when (monotonic ms) a service had no live holder, or was held here though preferred elsewhere. */
  readonly #since = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(node: KeptServicesNode, options: KeptServicesOptions = {}) {
    this.#node = node;
    this.#everyMs = options.everyMs ?? 1_000;
    this.#graceMs = options.graceMs ?? 2 * this.#everyMs;
  }

  /**
   * Keeps services `actorIds` of `kind` held from now on, looked after once `ready()` (this node's
   * host is made): only then does this node say it keeps the kind, and only then is it handed any.
   */
  add(kind: string, actorIds: readonly string[], ready: () => boolean = () => true): void {
    this.#groups.push({ kind, actorIds, ready });
    this.#timer ??= setInterval(() => void this.tick(), this.#everyMs).unref();
  }

  /** Stops looking (a draining or closing node). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look: claims what this node should hold, hands over what it should not (and can now). */
  async tick(): Promise<void> {
    if (this.#busy || !this.#node.active()) return;
    this.#busy = true;
    try {
      for (const group of this.#groups) {
        if (!group.ready()) continue;
        const incarnation = this.#node.incarnation();
        if (group.keptBy !== incarnation) {
          await this.#node.keep(group.kind);
          group.keptBy = incarnation;
        }
        await this.#look(group.kind, group.actorIds);
      }
    } catch (error) {
      console.error(`[hearth] cluster: node ${this.#node.nodeId} could not look after its kept services: ${(error as Error).message}`);
    } finally {
      this.#busy = false;
    }
  }

  async #look(kind: string, actorIds: readonly string[]): Promise<void> {
    const { holders, nodes } = await this.#node.look(kind, actorIds);
    const now = performance.now();
    const takes: string[] = [];
    const moves: Array<{ actorId: string; to: string }> = [];
    for (const actorId of actorIds) {
      const holder = holders.get(actorId);
      const preferred = preferredNode(actorId, nodes);
      if (holder === undefined) {
        if (preferred === this.#node.nodeId || this.#waited(actorId, now)) takes.push(actorId);
      } else if (holder !== this.#node.nodeId) {
        this.#since.delete(actorId);
      } else if (!this.#node.owns(actorId)) {
        takes.push(actorId); // the lease names this node (handed to it, or its claim not yet served)
      } else if (preferred !== undefined && preferred !== this.#node.nodeId) {
        if (this.#waited(actorId, now) && this.#node.movable(actorId)) moves.push({ actorId, to: preferred });
      } else {
        this.#since.delete(actorId);
      }
    }
    await Promise.all([...takes.map((actorId) => this.#take(actorId)), ...moves.map((move) => this.#handOver(move.actorId, move.to))]);
  }

  /** Whether the condition first seen for `actorId` has lasted the grace period (starts it when new). */
  #waited(actorId: string, now: number): boolean {
    const since = this.#since.get(actorId);
    if (since === undefined) {
      this.#since.set(actorId, now);
      return this.#graceMs === 0;
    }
    return now - since >= this.#graceMs;
  }

  async #handOver(actorId: string, to: string): Promise<void> {
    this.#since.delete(actorId);
    try {
      await this.#node.handOver(actorId, to);
    } catch (error) {
      if (this.#timer === undefined) return; // stopped meanwhile (the node drains or left): nothing to report
      console.error(`[hearth] cluster: node ${this.#node.nodeId} could not hand ${actorId} to node ${to}: ${(error as Error).message}`);
    }
  }

  async #take(actorId: string): Promise<void> {
    this.#since.delete(actorId);
    if (this.#timer === undefined) return; // stopped while this look ran
    try {
      await this.#node.take(actorId);
    } catch (error) {
      if (this.#timer === undefined) return; // stopped meanwhile (the node drains or left): nothing to report
      console.error(`[hearth] cluster: node ${this.#node.nodeId} could not take ${actorId} over: ${(error as Error).message}`);
    }
  }
}
