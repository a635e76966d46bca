import { AsyncLocalStorage } from "node:async_hooks";
import { clearImmediate, clearTimeout, setImmediate, setTimeout } from "node:timers"; // Node's own: never an application's fake one
import type pg from "pg";
import { isConnectionError } from "../pg/errors.ts";
import { MAX_DUE_BATCH, writeDue, type DueWrite } from "../pg/due.ts";
import { clusterTables, type ClusterTables } from "../pg/schema.ts";

export interface DueWriterOptions {
  pool: pg.Pool;
  schema?: string;
  /** The lease epoch this node holds for an actor now; undefined when it does not hold it (its row is its owner's business). */
  epochOf(actorId: string): number | undefined;
  /** How long {@link DueWriter.settled} waits while Postgres does not answer; default 10,000 ms. */
  settleTimeoutMs?: number;
  /** The longest one statement may take before it counts as failed and is retried; default 5,000 ms. */
  attemptTimeoutMs?: number;
  /** Where failed writes are reported (once per run of failures); default console.error. */
  report?(error: Error): void;
}

/** Counters for status pages and tests. */
export interface DueWriterStats {
  /** Statements sent, retries included. */
  statements: number;
  /** Rows written or removed. */
  rows: number;
  /** Rows refused because the actor's lease moved on. */
  fenced: number;
  /** Values dropped because this node did not hold the actor when they were sent. */
  notHeld: number;
  /** Statements that failed and were retried. */
  retries: number;
}

interface Pending {
  at: number | null;
  /** The number of the `set` that gave this value. */
  n: number;
}

const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

/**
 * Keeps `actor_due` current for the actors this node holds: every next wake set during one
 * event-loop turn goes out in one fenced statement, across actors (like the group committer's
 * appends); only the last value per actor is sent, one statement at a time, so rows never go back in
 * time. A statement that fails is retried with the newest values until Postgres answers.
 *
 * @example
 * const writer = new DueWriter({ pool, epochOf: (id) => ownership.held(id)?.epoch });
 * writer.set("counter/a", Date.now() + 60_000);
 * await writer.settled("counter/a"); // durable (or given up after settleTimeoutMs)
 */
export class DueWriter {
  readonly stats: DueWriterStats = { statements: 0, rows: 0, fenced: 0, notHeld: 0, retries: 0 };
  readonly #pool: pg.Pool;
  readonly #t: ClusterTables;
  readonly #epochOf: DueWriterOptions["epochOf"];
  readonly #settleTimeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #report: (error: Error) => void;
  /** Values not sent yet: actor → next wake, and the number of the `set` that gave it. */
  #pending = new Map<string, Pending>();
  /** Actors whose value is in the statement in flight → the number of that value's `set`. */
  #sending = new Map<string, number>();
  /** Who waits for which actor's value: resolved once a value numbered at least `upTo` is settled. */
  readonly #waiters = new Map<string, Array<{ upTo: number; resolve: () => void }>>();
  /** Numbers every `set`, so a waiter waits for the values before it and never for later ones. */
  #sets = 0;
  #running: Promise<void> | undefined;
  #scheduled: ReturnType<typeof setImmediate> | undefined;
  /** The context the writer was made in: a batch carries many agents' wakes, so it runs as none of them. */
  readonly #outside = AsyncLocalStorage.snapshot();
  #closed = false;

  constructor(options: DueWriterOptions) {
    this.#pool = options.pool;
    this.#t = clusterTables(options.schema);
    this.#epochOf = options.epochOf;
    this.#settleTimeoutMs = positive("settleTimeoutMs", options.settleTimeoutMs ?? 10_000);
    this.#attemptTimeoutMs = positive("attemptTimeoutMs", options.attemptTimeoutMs ?? 5_000);
    this.#report = options.report ?? ((error) => console.error("[hearth] cluster: writing next wakes to actor_due failed:", error.message));
  }

  /** The actor's next wake is `at` (epoch ms), or none (null): written with the rest of this turn's. */
  set(actorId: string, at: number | null): void {
    if (at !== null && !Number.isFinite(at)) throw new RangeError(`${actorId}: a next wake must be a finite number of epoch milliseconds or null, got ${at}`);
    if (this.#closed) return;
    this.#pending.set(actorId, { at, n: ++this.#sets });
    this.#schedule();
  }

  /** A value set for `actorId` is not in Postgres yet (waiting, or being written). */
  unsettled(actorId: string): boolean {
    return this.#pending.has(actorId) || this.#sending.has(actorId);
  }

  /**
   * Resolves once the values set so far for `actorId` are in Postgres, refused, or dropped — or after
   * settleTimeoutMs while Postgres does not answer (writing goes on). At once when nothing is pending.
   * Values set later are not waited for, so an actor that keeps moving its wake cannot starve a reply.
   */
  settled(actorId: string): Promise<void> {
    const upTo = this.#pending.get(actorId)?.n ?? this.#sending.get(actorId);
    if (upTo === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#settleTimeoutMs);
      timer.unref();
      const list = this.#waiters.get(actorId) ?? [];
      list.push({
        upTo,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.#waiters.set(actorId, list);
    });
  }

  /** Values waiting to be sent or in flight. */
  get backlog(): number {
    return this.#pending.size + this.#sending.size;
  }

  /** Resolves when everything set so far has been sent (retrying while Postgres does not answer). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.#scheduled !== undefined) {
        clearImmediate(this.#scheduled);
        this.#scheduled = undefined;
        this.#start();
      }
      if (this.#running === undefined) return;
      await this.#running;
    }
  }

  /** Sends what is pending (one pass, no retries past a failure), then takes no more values. */
  async close(): Promise<void> {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
      this.#start();
    }
    this.#closed = true;
    await this.#running;
    for (const actorId of [...this.#waiters.keys()]) this.#wake(actorId, Number.POSITIVE_INFINITY);
  }

  #schedule(): void {
    if (this.#running !== undefined || this.#scheduled !== undefined) return;
    this.#scheduled = setImmediate(() =>
      this.#outside(() => {
        this.#scheduled = undefined;
        this.#start();
      }),
    );
  }

  #start(): void {
    if (this.#running !== undefined || this.#pending.size === 0) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#pending.size > 0 && !this.#closed) this.#schedule();
    });
  }

  /** Sends batches until nothing is pending; after a failure waits and sends the newest values again. */
  async #drain(): Promise<void> {
    let delay = RETRY_FIRST_MS;
    let failing = false;
    while (this.#pending.size > 0) {
      const batch = this.#take();
      if (batch.length === 0) continue;
      try {
        this.stats.statements++;
        const fenced = new Set(await writeDue(this.#pool, this.#t, batch, this.#attemptTimeoutMs));
        this.stats.fenced += fenced.size;
        this.stats.rows += batch.length - fenced.size;
        this.#done(batch);
        delay = RETRY_FIRST_MS;
        failing = false;
      } catch (error) {
        const err = error instanceof Error ? error : new Error(String(error));
        if (!failing) this.#report(err);
        failing = true;
        if (!isConnectionError(error) && !isRolledBack(error)) {
          // Postgres refused the statement itself: sending it again would not help.
          this.#done(batch);
          continue;
        }
        this.#putBack(batch);
        if (this.#closed) return;
        this.stats.retries++;
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Moves up to one statement's worth of pending values into flight, with the epochs held now. */
  #take(): Array<DueWrite & { n: number }> {
    const batch: Array<DueWrite & { n: number }> = [];
    for (const [actorId, { at, n }] of this.#pending) {
      if (batch.length >= MAX_DUE_BATCH) break;
      this.#pending.delete(actorId);
      const epoch = this.#epochOf(actorId);
      if (epoch === undefined) {
        this.stats.notHeld++;
        this.#wake(actorId, n);
        continue;
      }
      this.#sending.set(actorId, n);
      batch.push({ actorId, epoch, at, n });
    }
    return batch;
  }

  #done(batch: ReadonlyArray<DueWrite & { n: number }>): void {
    for (const { actorId, n } of batch) {
      this.#sending.delete(actorId);
      this.#wake(actorId, n);
    }
  }

  /** A failed statement's values go back unless a newer value was set meanwhile. */
  #putBack(batch: ReadonlyArray<DueWrite & { n: number }>): void {
    for (const { actorId, at, n } of batch) {
      this.#sending.delete(actorId);
      if (!this.#pending.has(actorId)) this.#pending.set(actorId, { at, n });
    }
  }

  /** Resolves the waiters of `actorId` that wait for values up to number `n`. */
  #wake(actorId: string, n: number): void {
    const list = this.#waiters.get(actorId);
    if (list === undefined) return;
    const still = list.filter((waiter) => waiter.upTo > n);
    for (const waiter of list) if (waiter.upTo <= n) waiter.resolve();
    if (still.length === 0) this.#waiters.delete(actorId);
    else this.#waiters.set(actorId, still);
  }
}

/** deadlock_detected and serialization_failure: nothing was written, the statement may simply run again. */
function isRolledBack(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "40P01" || code === "40001";
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`DueWriter ${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}
