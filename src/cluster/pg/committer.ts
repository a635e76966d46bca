import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { clearImmediate, clearTimeout, setImmediate, setTimeout } from "node:timers"; // Node's own: never an application's fake one
import type pg from "pg";
import { FencedError, type LogAppender, type LogEntry } from "../log.ts";
import { entryKey, insertBatch, resolveEntries, resolveSnapshot, runner, writeSnapshot, type Resolution, type SendableEntry } from "./append-sql.ts";
import { isConnectionError, PostgresUnreachableError } from "./errors.ts";
import { checkout } from "./pool.ts";
import { checkActorId } from "./leases.ts";
import { clusterTables, type ClusterTables } from "./schema.ts";

/** The largest changeset (or epoch_start) payload one append takes. */
export const MAX_CHANGESET_BYTES = 64 * 1024 * 1024;
/** The largest snapshot image one append takes (it is sent as one bytea value). */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

export interface GroupCommitterOptions {
  pool: pg.Pool;
  schema?: string;
  /** How long an append keeps retrying while Postgres is unreachable; default 10,000 ms. */
  appendTimeoutMs?: number;
  /** The longest one attempt (connect + statement) may take before it counts as a lost connection; default 5,000 ms. */
  attemptTimeoutMs?: number;
  /** Most entries in one statement; a turn with more sends several statements at once. Default 2,000. */
  maxBatchEntries?: number;
  /** Most payload bytes in one statement (an entry larger than this goes alone). Default 8 MiB. */
  maxBatchBytes?: number;
}

/** Counters that show how appends were batched and retried. */
export interface CommitterStats {
  /** Groups of entries formed (one per turn, more when a turn exceeds the batch limits). */
  batches: number;
  /** INSERT statements sent for changesets, retries included. */
  statements: number;
  /** Snapshot transactions sent, retries included. */
  snapshots: number;
  /** Entries made durable. */
  entries: number;
  /** Attempts repeated after a lost connection or an unreachable server. */
  retries: number;
  /** Re-reads that resolved an unknown outcome. */
  resolutions: number;
  /** Entries refused because their lease moved on. */
  fenced: number;
  /** The most entries one statement carried. */
  largestBatch: number;
}

interface Pending extends SendableEntry {
  resolve(): void;
  reject(error: unknown): void;
  /** `fresh`: not sent (or proven absent); `unknown`: sent, may have committed; `missing`: the INSERT skipped it. */
  state: "fresh" | "unknown" | "missing";
}

type Attempt = { ok: true } | { ok: false; error: unknown };

const RETRY_FIRST_MS = 25;
const RETRY_MAX_MS = 1_000;

/**
 * The node's group committer: every log entry appended during one event-loop turn goes to Postgres
 * in one fenced INSERT, across actors, so one round trip serves many agents. Several statements may
 * be in flight on the pool. Snapshots go alone, each in a transaction that also compacts the log.
 * Callers keep at most one entry in flight per actor.
 *
 * @example
 * const committer = new GroupCommitter({ pool });
 * await committer.append({ actorId: "counter/a", seq: 2, epoch: 1, kind: "changeset", payload });
 */
export class GroupCommitter implements LogAppender {
  readonly stats: CommitterStats = { batches: 0, statements: 0, snapshots: 0, entries: 0, retries: 0, resolutions: 0, fenced: 0, largestBatch: 0 };
  readonly #pool: pg.Pool;
  readonly #t: ClusterTables;
  readonly #appendTimeoutMs: number;
  readonly #attemptTimeoutMs: number;
  readonly #maxBatchEntries: number;
  readonly #maxBatchBytes: number;
  #queue: Pending[] = [];
  #scheduled: ReturnType<typeof setImmediate> | undefined;
  /**
   * The context the committer was made in (no agent's event): a batch carries many agents' appends,
   * so it runs as none of them — not in the context of whichever agent's append scheduled it (its
   * log lines, and the timers Postgres's client sets while sending it, are the node's).
   */
  readonly #outside = AsyncLocalStorage.snapshot();
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: GroupCommitterOptions) {
    this.#pool = options.pool;
    this.#t = clusterTables(options.schema);
    this.#appendTimeoutMs = positive("appendTimeoutMs", options.appendTimeoutMs ?? 10_000);
    this.#attemptTimeoutMs = positive("attemptTimeoutMs", options.attemptTimeoutMs ?? 5_000);
    this.#maxBatchEntries = positive("maxBatchEntries", options.maxBatchEntries ?? 2_000);
    this.#maxBatchBytes = positive("maxBatchBytes", options.maxBatchBytes ?? 8 * 1024 * 1024);
  }

  /** Resolves once the entry is durable; rejects with FencedError, PostgresUnreachableError or a refusal of bad input. */
  append(entry: LogEntry): Promise<void> {
    try {
      checkEntry(entry);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed) return Promise.reject(new Error(`${entry.actorId}: the group committer is closed; the entry at seq ${entry.seq} was not written`));
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const digest = createHash("sha256").update(entry.payload).digest();
    const item: Pending = { entry, digest, resolve, reject, state: "fresh" };
    if (entry.kind === "snapshot") {
      this.#track(this.#outside(() => this.#commitSnapshot(item)));
    } else {
      this.#queue.push(item);
      this.#scheduled ??= setImmediate(() => this.#outside(() => this.#sendQueued()));
    }
    return promise;
  }

  /** Settles when every entry appended so far has been written or refused. */
  async flush(): Promise<void> {
    if (this.#scheduled !== undefined) {
      clearImmediate(this.#scheduled);
      this.#sendQueued();
    }
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Refuses further appends and waits for those in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #sendQueued(): void {
    this.#scheduled = undefined;
    const queue = this.#queue;
    this.#queue = [];
    let batch: Pending[] = [];
    let bytes = 0;
    for (const item of queue) {
      const size = item.entry.payload.byteLength;
      if (batch.length > 0 && (batch.length >= this.#maxBatchEntries || bytes + size > this.#maxBatchBytes)) {
        this.#track(this.#commitBatch(batch));
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length > 0) this.#track(this.#commitBatch(batch));
  }

  /** Sends one batch until every entry in it is written, refused, or out of time. */
  async #commitBatch(items: Pending[]): Promise<void> {
    this.stats.batches++;
    await this.#drive(items, "changesets", async (todo, run) => {
      const unknown = todo.filter((item) => item.state !== "fresh");
      if (unknown.length > 0) {
        this.stats.resolutions++;
        const outcomes = await resolveEntries(run, this.#t, unknown);
        unknown.forEach((item, i) => this.#settleResolved(item, outcomes[i]!));
        return;
      }
      this.stats.statements++;
      this.stats.largestBatch = Math.max(this.stats.largestBatch, todo.length);
      // Until Postgres answers, a lost connection leaves these unknown: they may have committed.
      for (const item of todo) item.state = "unknown";
      const written = await insertBatch(run, this.#t, todo);
      for (const item of todo) {
        if (written.has(entryKey(item.entry.actorId, item.entry.seq))) this.#succeed(item);
        else item.state = "missing";
      }
    });
  }

  async #commitSnapshot(item: Pending): Promise<void> {
    await this.#drive([item], "snapshot", async (todo, run) => {
      const [only] = todo;
      if (only === undefined) return;
      if (only.state !== "fresh") {
        this.stats.resolutions++;
        this.#settleResolved(only, await resolveSnapshot(run, this.#t, only));
        return;
      }
      this.stats.snapshots++;
      only.state = "unknown";
      if (await writeSnapshot(run, this.#t, only)) this.#succeed(only);
      else only.state = "missing";
    });
  }

  /**
   * The retry loop shared by batches and snapshots: each step runs on a fresh checkout with a time
   * bound; a lost connection marks what was sent as unknown (resolved by a re-read next step), an
   * unreachable server backs off, and a statement error refuses the rest. Ends at appendTimeoutMs.
   */
  async #drive(items: Pending[], what: string, step: (todo: Pending[], run: ReturnType<typeof runner>) => Promise<void>): Promise<void> {
    const started = performance.now();
    let delay = RETRY_FIRST_MS;
    let lastError: unknown;
    for (;;) {
      const todo = items.filter((item) => !settled.has(item));
      if (todo.length === 0) return;
      const left = this.#appendTimeoutMs - (performance.now() - started);
      if (left <= 0) {
        for (const item of todo) {
          const outcome = item.state === "unknown" ? "unknown" : "not-written";
          this.#fail(item, new PostgresUnreachableError(`${item.entry.actorId}: append of ${what} at seq ${item.entry.seq}`, performance.now() - started, outcome, lastError));
        }
        return;
      }
      const unknownBefore = new Set(todo.filter((item) => item.state !== "fresh"));
      const attempt = await this.#attempt(Math.min(left, this.#attemptTimeoutMs), (run) => step(todo, run));
      if (attempt.ok) {
        delay = RETRY_FIRST_MS;
        continue;
      }
      if (isRolledBack(attempt.error)) {
        // Postgres aborted the transaction (deadlock, serialization): definitely nothing written.
        // Only what this attempt sent: an earlier lost attempt may still have committed.
        for (const item of todo) if (!settled.has(item) && item.state === "unknown" && !unknownBefore.has(item)) item.state = "fresh";
      } else if (!isConnectionError(attempt.error)) {
        for (const item of todo) if (!settled.has(item)) this.#fail(item, attempt.error);
        return;
      }
      lastError = attempt.error;
      this.stats.retries++;
      await sleep(Math.min(delay, Math.max(0, this.#appendTimeoutMs - (performance.now() - started))));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }

  #settleResolved(item: Pending, outcome: Resolution): void {
    if (outcome === "written") this.#succeed(item);
    else if (outcome === "absent-epoch-holds" && item.state === "unknown") item.state = "fresh";
    else this.#fail(item, new FencedError(item.entry.actorId, item.entry.epoch));
  }

  #succeed(item: Pending): void {
    settled.add(item);
    this.stats.entries++;
    item.resolve();
  }

  #fail(item: Pending, error: unknown): void {
    settled.add(item);
    if (error instanceof FencedError) this.stats.fenced++;
    item.reject(error);
  }

  /** Checks out a client within the time bound and runs `work` on it; a broken client is destroyed. */
  async #attempt(timeoutMs: number, work: (run: ReturnType<typeof runner>) => Promise<void>): Promise<Attempt> {
    const connecting = checkout(this.#pool);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), timeoutMs)));
    let client: pg.PoolClient;
    try {
      const winner = await Promise.race([connecting, timeout]);
      if (winner === "timeout") {
        // Hand the connection back if it arrives after we stopped waiting.
        connecting.then((late) => late.release(), () => undefined);
        return { ok: false, error: new Error(`connection timeout after ${Math.round(timeoutMs)} ms`) };
      }
      client = winner;
    } catch (error) {
      return { ok: false, error };
    } finally {
      clearTimeout(timer);
    }
    try {
      await work(runner(client, timeoutMs));
      client.release();
      return { ok: true };
    } catch (error) {
      const broken = isConnectionError(error);
      client.release(broken ? (error as Error) : undefined);
      return { ok: false, error };
    }
  }
}

/** Entries that are settled; a WeakSet so a settled entry is never settled twice. */
const settled = new WeakSet<Pending>();

function checkEntry(entry: LogEntry): void {
  if (entry === null || typeof entry !== "object") throw new TypeError("append: the entry must be an object");
  checkActorId(entry.actorId);
  if (!Number.isSafeInteger(entry.seq) || entry.seq < 1) throw new RangeError(`${entry.actorId}: seq must be a positive safe integer, got ${entry.seq}`);
  if (!Number.isSafeInteger(entry.epoch) || entry.epoch < 1) throw new RangeError(`${entry.actorId}: epoch must be a positive safe integer, got ${entry.epoch}`);
  if (entry.kind !== "changeset" && entry.kind !== "snapshot" && entry.kind !== "epoch_start") {
    throw new TypeError(`${entry.actorId}: kind must be changeset, snapshot or epoch_start, got ${String(entry.kind)}`);
  }
  if (!(entry.payload instanceof Uint8Array)) throw new TypeError(`${entry.actorId}: payload must be a Uint8Array`);
  const limit = entry.kind === "snapshot" ? MAX_SNAPSHOT_BYTES : MAX_CHANGESET_BYTES;
  if (entry.payload.byteLength > limit) {
    throw new RangeError(`${entry.actorId}: ${entry.kind} payload of ${entry.payload.byteLength} bytes exceeds the limit of ${limit} bytes; nothing was written`);
  }
}

/** deadlock_detected and serialization_failure: the statement's transaction was rolled back whole. */
function isRolledBack(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "40P01" || code === "40001";
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`GroupCommitter ${name} must be a positive number, got ${value}`);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
