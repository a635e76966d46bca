// Node's own: a test's fake timers on the global object must not stop shipping.
import { setImmediate as realSetImmediate } from "node:timers";
import type { LogAppender, LogEntryKind } from "../log.ts";

/** A settleable promise; rejections are delivered to each waiter, never unhandled here. */
export interface Waiter {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** Local commits captured by the open session and not yet taken out of it. */
export interface Batch {
  /** The seq of the batch's last commit: the entry that ships it takes this seq. */
  lastSeq: number;
  /** A commit in it changed the schema: it ships as a snapshot. */
  snapshot: boolean;
  waiter: Waiter;
}

/** What leaves for the log: one entry and the commits it covers. */
export interface Shipment {
  seq: number;
  kind: Exclude<LogEntryKind, "epoch_start">;
  payload: Uint8Array;
  waiter: Waiter;
}

/** The open connection, as the shipper needs it: the only place a batch can be taken out of. */
export interface BatchSource {
  /** A transaction is open: the session and the file hold uncommitted rows, nothing can be taken now. */
  readonly inTransaction: boolean;
  /** Takes the batch out of the session (a changeset, or the whole image) and starts a new session. */
  take(batch: Batch): Shipment;
  /** Replication broke: the file may hold commits the log never took; mark it so it is not reused. */
  markUnreplicated(): void;
}

/**
 * One actor's way to the log, across its connections: assigns seqs, and keeps at most one append in
 * flight. Commits made while one is in flight coalesce into the next entry; a failed append breaks the
 * actor's replication for good (its lease may be gone: nothing it writes later may count).
 */
export class Shipper {
  readonly #actorId: string;
  readonly #epoch: number;
  readonly #appender: LogAppender;
  #seq: number;
  #acknowledged: number;
  #inFlight = false;
  /** Taken out of a connection that closed while an append was in flight, in seq order. */
  #queued: Shipment[] = [];
  #batch: Batch | undefined;
  #broken: Error | undefined;
  #retryScheduled = false;
  source: BatchSource | undefined;
  /**
   * The `schema_version` whose tables were last found replicable: checked again at a schema change,
   * and at a connection's first write when the file's schema is not that one (written before
   * replication started, or by a rolled-back change).
   */
  checkedSchema: number | undefined;

  constructor(actorId: string, epoch: number, startSeq: number, appender: LogAppender) {
    this.#actorId = actorId;
    this.#epoch = epoch;
    this.#appender = appender;
    this.#seq = startSeq;
    this.#acknowledged = startSeq;
  }

  get actorId(): string {
    return this.#actorId;
  }

  /** The error that broke replication (a fence, an unreachable log), or undefined while it works. */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** The seq of the last local commit that changed something. */
  get seq(): number {
    return this.#seq;
  }

  /** The highest seq the log acknowledged. */
  get acknowledged(): number {
    return this.#acknowledged;
  }

  /** Commits wait for the log (captured, queued or in flight). */
  get pending(): boolean {
    return this.#inFlight || this.#queued.length > 0 || this.#batch !== undefined;
  }

  nextSeq(): number {
    return ++this.#seq;
  }

  /** A local commit happened (`seq` from {@link nextSeq}): settles once an acknowledged entry covers it. */
  add(seq: number, snapshot: boolean): Promise<void> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    this.#batch ??= { lastSeq: seq, snapshot: false, waiter: waiter() };
    this.#batch.lastSeq = seq;
    this.#batch.snapshot ||= snapshot;
    const promise = this.#batch.waiter.promise;
    this.pump();
    return promise;
  }

  /** The connection closes: what it captured and has not shipped is taken out now. */
  release(source: BatchSource): void {
    if (this.source !== source) return;
    try {
      if (this.#batch !== undefined && this.#broken === undefined) {
        this.#queued.push(source.take(this.#batch));
        this.#batch = undefined;
      }
    } catch (error) {
      this.#break(asError(error));
    } finally {
      this.source = undefined;
    }
    this.pump();
  }

  /** Sends the next entry unless one is in flight. */
  pump(): void {
    if (this.#broken !== undefined || this.#inFlight) return;
    let shipment = this.#queued.shift();
    if (shipment === undefined && this.#batch !== undefined && this.source !== undefined) {
      if (this.source.inTransaction) {
        this.#retryLater();
        return;
      }
      try {
        shipment = this.source.take(this.#batch);
      } catch (error) {
        this.#break(asError(error));
        return;
      }
      this.#batch = undefined;
    }
    if (shipment !== undefined) this.#send(shipment);
  }

  #send(shipment: Shipment): void {
    this.#inFlight = true;
    const entry = { actorId: this.#actorId, seq: shipment.seq, epoch: this.#epoch, kind: shipment.kind, payload: shipment.payload };
    let appended: Promise<void>;
    try {
      appended = this.#appender.append(entry);
    } catch (error) {
      appended = Promise.reject(asError(error));
    }
    appended.then(
      () => {
        this.#inFlight = false;
        this.#acknowledged = shipment.seq;
        shipment.waiter.resolve();
        this.pump();
      },
      (error: unknown) => {
        this.#inFlight = false;
        shipment.waiter.reject(asError(error));
        this.#break(asError(error));
      },
    );
  }

  /** Every commit not yet acknowledged fails with `error`, and so does every later one. */
  #break(error: Error): void {
    this.#broken ??= error;
    this.source?.markUnreplicated();
    for (const shipment of this.#queued) shipment.waiter.reject(this.#broken);
    this.#queued = [];
    this.#batch?.waiter.reject(this.#broken);
    this.#batch = undefined;
  }

  /** An ack came while the connection is inside a transaction: try again once it committed or rolled back. */
  #retryLater(): void {
    if (this.#retryScheduled) return;
    this.#retryScheduled = true;
    realSetImmediate(() => {
      this.#retryScheduled = false;
      this.pump();
    });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
