import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
/** One key's final state in a batch: the row to store, or null to delete it. */
export interface KvRow {
  value: Uint8Array;
  expiration: number | null;
  metadata: string | null;
}

/** Commits one batch: every key at most once, so puts and deletes never touch the same row twice. */
export type CommitBatch = (rows: ReadonlyMap<string, KvRow | null>) => Promise<void>;

/**
 * Value bytes one batch may carry before the next write starts another batch: a statement of many rows
 * sends its values as text (hex, twice their size), and Postgres refuses a message over 1 GiB. A
 * single larger value (up to KV's 25 MiB) goes alone.
 */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

interface Batch {
  readonly rows: Map<string, KvRow | null>;
  bytes: number;
  readonly done: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  /** Resolves (never rejects) when the batch is committed or has failed. */
  readonly settled: Promise<void>;
  finished: boolean;
}

/** Batches not yet settled, in every queue of the process (for a clean shutdown). */
const unsettled = new Set<Promise<void>>();

/**
 * The writes of one namespace object, committed to Postgres a turn at a time: every put and delete of
 * one turn of the event loop goes into one batch (the last write of a key wins within it), and one
 * statement commits the batch. Batches commit one after another, never concurrently, so a later write
 * of a key can never be overtaken by an earlier one on another pooled connection. A write's promise
 * resolves when its batch is committed.
 */
export class KvWriteQueue {
  readonly #commit: CommitBatch;
  #pending: Batch | undefined;
  #last: Batch | undefined;
  /** Settles when the last flushed batch has settled; never rejects. */
  #tail: Promise<void> = Promise.resolve();

  constructor(commit: CommitBatch) {
    this.#commit = commit;
  }

  /** Queues `row` (null: delete) for `key` in this turn's batch; resolves once it is committed. */
  write(key: string, row: KvRow | null): Promise<void> {
    const size = row === null ? 0 : row.value.byteLength;
    let batch = this.#pending ?? this.#open();
    if (batch.rows.size > 0 && batch.bytes + size > MAX_BATCH_BYTES) {
      // Sent before the next batch, so this write still lands after the writes queued before it.
      this.flush();
      batch = this.#open();
    }
    batch.bytes += size;
    // Re-inserting moves nothing that matters: keys of a batch are distinct, so order is free.
    batch.rows.set(key, row);
    return batch.done;
  }

  /**
   * Resolves when every write queued so far has settled (committed or failed), or undefined when none
   * is outstanding. Reads wait for it, so a reader sees the writes that were made before it.
   */
  settled(): Promise<void> | undefined {
    const last = this.#last;
    return last === undefined || last.finished ? undefined : last.settled;
  }

  /** Sends this turn's batch now instead of at the end of the turn. */
  flush(): void {
    const batch = this.#pending;
    if (batch === undefined) return;
    this.#pending = undefined;
    this.#tail = this.#tail
      .then(() => this.#commit(batch.rows))
      .then(
        () => batch.resolve(),
        (error: unknown) => batch.reject(error),
      );
  }

  #open(): Batch {
    const { promise: done, resolve, reject } = Promise.withResolvers<void>();
    // Every writer hears a failure through its own promise; none must crash the process unawaited.
    done.catch(() => {});
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    const batch: Batch = { rows: new Map(), bytes: 0, done, resolve, reject, settled, finished: false };
    unsettled.add(settled);
    void settled.then(() => {
      batch.finished = true;
      unsettled.delete(settled);
    });
    this.#pending = batch;
    this.#last = batch;
    setImmediate(() => {
      if (this.#pending === batch) this.flush();
    });
    return batch;
  }
}

/**
 * Resolves when every KV write queued in this process on a Postgres namespace has been committed or
 * has failed. Call it after closing the namespaces and before ending their pool.
 *
 * @example
 * namespace.close();
 * await settlePostgresKvWrites();
 * await pool.end();
 */
export async function settlePostgresKvWrites(): Promise<void> {
  while (unsettled.size > 0) await Promise.all(unsettled);
}
