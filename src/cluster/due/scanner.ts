import { performance } from "node:perf_hooks";
import type pg from "pg";
import { claimingNodes, orphansDue } from "../pg/due.ts";
import { clusterTables, type ClusterTables } from "../pg/schema.ts";
import { preferredNode } from "./rendezvous.ts";

export interface DueScannerOptions {
  pool: pg.Pool;
  schema?: string;
  /** This node's id, as in the membership table. */
  nodeId: string;
  /** Whether this node may take actors over now (its membership is valid and it is not draining). */
  active(): boolean;
  /**
   * Takes the actor over: claims its lease (a no-op when another node got it first), rebuilds its
   * file, and starts it so that this node's own due index runs its schedules from now on.
   */
  take(actorId: string, dueAt: number): Promise<void>;
  /** How often the table is scanned; default 250 ms. */
  intervalMs?: number;
  /** Actors due within this much of now are taken (their restore overlaps the wait); default 1,000 ms. */
  lookaheadMs?: number;
  /** How long a node that is not an actor's preferred taker waits before taking it too; default 1,000 ms. */
  graceMs?: number;
  /** Most actors one scan looks at; default 256. */
  batch?: number;
  /** Takes under way at once; default 8. */
  parallel?: number;
  /** How long an actor whose take failed is left alone; default 5,000 ms. */
  retryAfterMs?: number;
  /** Where failed scans and takes are reported; default console.error. */
  report?(what: string, error: Error): void;
}

/** What one scan did. */
export interface ScanOutcome {
  /** Due actors nobody live holds. */
  orphans: number;
  /** Takes this scan started. */
  taken: string[];
  /** Orphans left to their preferred node for now. */
  deferred: number;
}

/** Counters for status pages and tests. */
export interface DueScannerStats {
  scans: number;
  /** Takes started (each claims, restores and starts one actor). */
  takes: number;
  /** Takes started by a node that was not the actor's preferred one, after the grace period. */
  graceTakes: number;
  failures: number;
}

/**
 * Every node's watch over time for the dead: every `intervalMs` it reads the actors of `actor_due`
 * that are due (within a lookahead) while no live node holds their lease, and takes over those it is
 * the rendezvous-preferred node for among the live nodes; the others it takes only when they stay
 * orphaned past a grace period (their preferred node may be dying too). A node that takes an actor
 * starts it, and its own due index fires the exact times from then on.
 *
 * @example
 * const scanner = new DueScanner({ pool, nodeId: "a", active: () => membership.valid, take: (id) => claimAndStart(id) });
 * scanner.start();
 * // … on shutdown:
 * await scanner.stop();
 */
export class DueScanner {
  readonly stats: DueScannerStats = { scans: 0, takes: 0, graceTakes: 0, failures: 0 };
  readonly #options: DueScannerOptions;
  readonly #t: ClusterTables;
  readonly #intervalMs: number;
  readonly #lookaheadMs: number;
  readonly #graceMs: number;
  readonly #batch: number;
  readonly #parallel: number;
  readonly #retryAfterMs: number;
  readonly #report: (what: string, error: Error) => void;
  /** When this node first saw each orphan it is not preferred for (monotonic ms). */
  readonly #firstSeen = new Map<string, number>();
  /** Actors whose take failed, and until when they are left alone (monotonic ms). */
  readonly #backoff = new Map<string, number>();
  readonly #taking = new Map<string, Promise<void>>();
  /** When each recent take ended (monotonic ms): a scan read before that saw the actor still orphaned. */
  readonly #takenAt = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #scanning: Promise<ScanOutcome> | undefined;
  #stopped = true;
  /** The last scan failed: the next failures of this run are not reported again. */
  #failing = false;

  constructor(options: DueScannerOptions) {
    this.#options = options;
    this.#t = clusterTables(options.schema);
    this.#intervalMs = positive("intervalMs", options.intervalMs ?? 250);
    this.#lookaheadMs = nonNegative("lookaheadMs", options.lookaheadMs ?? 1_000);
    this.#graceMs = nonNegative("graceMs", options.graceMs ?? 1_000);
    this.#batch = positive("batch", options.batch ?? 256);
    this.#parallel = positive("parallel", options.parallel ?? 8);
    this.#retryAfterMs = nonNegative("retryAfterMs", options.retryAfterMs ?? 5_000);
    this.#report = options.report ?? ((what, error) => console.error(`[hearth] cluster: ${what}:`, error.message));
  }

  /** Scans every intervalMs from now on (the first scan at once). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#arm(0);
  }

  /** Stops scanning and waits for the scan and takes under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#scanning?.catch(() => undefined);
    await Promise.allSettled([...this.#taking.values()]);
  }

  /** Takes under way now. */
  get taking(): number {
    return this.#taking.size;
  }

  /** One scan: reads the orphans and the live nodes, and starts the takes this node should do now. */
  scanOnce(): Promise<ScanOutcome> {
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(): Promise<ScanOutcome> {
    const outcome: ScanOutcome = { orphans: 0, taken: [], deferred: 0 };
    if (!this.#options.active()) return outcome;
    this.stats.scans++;
    const started = performance.now();
    const [orphans, nodes] = await Promise.all([orphansDue(this.#options.pool, this.#t, this.#lookaheadMs, this.#batch), claimingNodes(this.#options.pool, this.#t)]);
    outcome.orphans = orphans.length;
    const now = performance.now();
    const seen = new Set<string>();
    for (const { actorId, dueAt } of orphans) {
      seen.add(actorId);
      if (this.#taking.has(actorId) || (this.#backoff.get(actorId) ?? 0) > now || (this.#takenAt.get(actorId) ?? -1) >= started) continue;
      if (this.#taking.size >= this.#parallel) continue;
      const preferred = preferredNode(actorId, nodes) === this.#options.nodeId;
      if (!preferred) {
        const first = this.#firstSeen.get(actorId) ?? now;
        this.#firstSeen.set(actorId, first);
        if (now - first < this.#graceMs) {
          outcome.deferred++;
          continue;
        }
        this.stats.graceTakes++;
      }
      this.#take(actorId, dueAt);
      outcome.taken.push(actorId);
    }
    // An actor no longer orphaned (taken by someone) starts its grace afresh if it is orphaned again.
    for (const actorId of this.#firstSeen.keys()) if (!seen.has(actorId)) this.#firstSeen.delete(actorId);
    for (const [actorId, until] of this.#backoff) if (until <= now) this.#backoff.delete(actorId);
    for (const [actorId, at] of this.#takenAt) if (at < started) this.#takenAt.delete(actorId);
    return outcome;
  }

  #take(actorId: string, dueAt: number): void {
    this.stats.takes++;
    this.#firstSeen.delete(actorId);
    const work = Promise.resolve()
      .then(() => this.#options.take(actorId, dueAt))
      .catch((error: unknown) => {
        this.stats.failures++;
        this.#backoff.set(actorId, performance.now() + this.#retryAfterMs);
        this.#report(`taking over ${actorId} (due ${new Date(dueAt).toISOString()}) failed`, error instanceof Error ? error : new Error(String(error)));
      })
      .finally(() => {
        this.#taking.delete(actorId);
        this.#takenAt.set(actorId, performance.now());
      });
    this.#taking.set(actorId, work);
  }

  #arm(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.scanOnce()
        .then(() => (this.#failing = false))
        .catch((error: unknown) => {
          this.stats.failures++;
          // Once per run of failures: Postgres unreachable would otherwise log every intervalMs.
          if (!this.#failing) this.#report("scanning actor_due failed", error instanceof Error ? error : new Error(String(error)));
          this.#failing = true;
        })
        .finally(() => this.#arm(this.#intervalMs));
    }, delay);
    this.#timer.unref();
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`DueScanner ${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`DueScanner ${name} must be a non-negative number, got ${value}`);
  return value;
}
