import type { DatabaseSync, Session, StatementSync } from "node:sqlite";
import type { DatabaseReplication, ReplicaLink } from "../../storage/replication.ts";
import type { LogAppender } from "../log.ts";
import { MAX_SNAPSHOT_BYTES } from "../pg/committer.ts";
import { LIVE_BYTES_SQL, snapshotImage } from "./image.ts";
import { SchemaRules } from "./schema-rules.ts";
import { Shipper, type Batch, type BatchSource, type Shipment } from "./shipper.ts";

/**
 * Changesets shipped since the last snapshot, in bytes, above which the next entry is a whole image
 * instead — once they also pass the database's size (compaction: the log behind a snapshot can go,
 * and a restore applies at most max(this, the database's size) of changesets).
 */
export const SNAPSHOT_AFTER_BYTES = 4 * 1024 * 1024;

/** The key in `_hearth_meta` that holds the seq of the last commit written to the file. */
export const LOG_SEQ_KEY = "log_seq";

/**
 * The log position written into a file whose replication broke (a fence, an append that failed): it
 * may hold commits the log never took, under seqs a new owner reuses. It matches no log, so the file
 * is rebuilt instead of reused.
 */
export const UNREPLICATED_POSITION = -1;

export interface ReplicateOptions {
  /** The agent's log key (its place identity, e.g. `counter/a`). */
  actorId: string;
  /** The lease epoch this node holds: every entry carries it, and the log refuses it once it is old. */
  epoch: number;
  /** The highest seq in the actor's log when this owner starts (its `epoch_start` marker): the first commit takes `startSeq + 1`. */
  startSeq: number;
  appender: LogAppender;
  /** See {@link SNAPSHOT_AFTER_BYTES} (the default). */
  snapshotAfterBytes?: number;
  /**
   * The largest image the log takes as one snapshot; default {@link MAX_SNAPSHOT_BYTES}, the log's
   * own limit. A database above it is not compacted (its changes go on as changesets) and refuses a
   * schema change, which would have to ship it whole.
   */
  maxSnapshotBytes?: number;
  /** Bytes of the changesets already in the log after its latest snapshot (counted towards compaction). */
  changesetBytesSinceSnapshot?: number;
  /** The table (`key TEXT PRIMARY KEY, value`) that keeps the file's log position; default `_hearth_meta`. */
  metaTable?: string;
}

/** An actor's replication, with what it has reached (for status and tests). */
export interface ActorReplication extends DatabaseReplication {
  /** The seq of the last local commit that changed something (`startSeq` before any). */
  readonly seq: number;
  /** The highest seq the log acknowledged. */
  readonly acknowledged: number;
  /** Commits wait for the log (captured, queued or in flight): a draining node waits until this is false. */
  readonly pending: boolean;
  /** Why replication stopped (a {@link FencedError}, an unreachable log), or undefined while it works. */
  readonly broken: Error | undefined;
  /** Changeset bytes in the log after its latest snapshot, as compaction counts them. */
  readonly changesetBytesSinceSnapshot: number;
}

/**
 * Captures an agent's local commits as entries of its log: a changeset per commit (or per batch of
 * commits made while the previous entry was in flight), a snapshot after a schema change or when the
 * changesets since the last snapshot pass `snapshotAfterBytes` and the database's size. One per actor and lease: each
 * connection the agent opens attaches to it; its seqs and the entry in flight outlive connections.
 *
 * Each commit that changed rows or the schema bumps the seq and writes it into `_hearth_meta`
 * ('log_seq') inside the same transaction, so the file always knows the log position it reflects.
 * @example
 * const replication = replicate({ actorId: "counter/a", epoch, startSeq, appender: log });
 * const db = new AgentDatabase({ path, durability: "strict", identity: "counter/a", currentOwner, replication });
 */
export function replicate(options: ReplicateOptions): ActorReplication {
  const shipper = new Shipper(options.actorId, options.epoch, options.startSeq, options.appender);
  const compaction: Compaction = { limit: options.snapshotAfterBytes ?? SNAPSHOT_AFTER_BYTES, maxSnapshotBytes: options.maxSnapshotBytes ?? MAX_SNAPSHOT_BYTES, shipped: options.changesetBytesSinceSnapshot ?? 0, warned: false };
  if (!(compaction.limit >= 0)) throw new RangeError(`snapshotAfterBytes must be a number of bytes ≥ 0, got ${compaction.limit}`);
  if (!(compaction.maxSnapshotBytes > 0)) throw new RangeError(`maxSnapshotBytes must be a number of bytes > 0, got ${compaction.maxSnapshotBytes}`);
  return {
    attach(db: DatabaseSync): ReplicaLink {
      if (shipper.source !== undefined) {
        throw new Error(`${options.actorId}: a second connection attached to the replica log while one is open (detach the first)`);
      }
      const link = new CaptureLink(db, shipper, compaction, options.metaTable ?? DEFAULT_META_TABLE);
      shipper.source = link;
      return link;
    },
    get seq() {
      return shipper.seq;
    },
    get acknowledged() {
      return shipper.acknowledged;
    },
    get pending() {
      return shipper.pending;
    },
    get broken() {
      return shipper.broken;
    },
    get changesetBytesSinceSnapshot() {
      return compaction.shipped;
    },
  };
}

/** Changeset bytes shipped since the last snapshot, against the limit. */
interface Compaction {
  readonly limit: number;
  /** The largest image the log takes (see {@link ReplicateOptions.maxSnapshotBytes}). */
  readonly maxSnapshotBytes: number;
  shipped: number;
  /** Compaction was skipped for the database's size, and said so (once per lease). */
  warned: boolean;
}

/**
 * A schema change refused: it ships the whole database as one snapshot, and the database is larger
 * than the log takes in one. The transaction is rolled back; the agent goes on.
 */
export class SnapshotTooLargeError extends Error {
  override readonly name = "SnapshotTooLargeError";
  constructor(actorId: string, bytes: number, limit: number) {
    super(
      `${actorId}: a schema change ships the whole database to the cluster's log as one snapshot, and this database is ${bytes} bytes, ` +
        `above the limit of ${limit} bytes (MAX_SNAPSHOT_BYTES); the transaction was rolled back. Writes that change no schema go on.`,
    );
  }
}

const STATS = "SELECT total_changes() AS changes, (SELECT schema_version FROM pragma_schema_version) AS schema";
/** An agent file's own table, where its log position is kept. */
export const DEFAULT_META_TABLE = "_hearth_meta";
const writeSeqSql = (table: string): string => `INSERT INTO "${table.replaceAll('"', '""')}" (key, value) VALUES ('${LOG_SEQ_KEY}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** One open connection: its session, and what it had changed at its last commit. */
class CaptureLink implements ReplicaLink, BatchSource {
  readonly #db: DatabaseSync;
  readonly #shipper: Shipper;
  readonly #compaction: Compaction;
  readonly #stats: StatementSync;
  readonly #writeSeqSql: string;
  #writeSeq: StatementSync | undefined;
  #rules: SchemaRules | undefined;
  #size: StatementSync | undefined;
  #session: Session | undefined;
  /** `total_changes()` after the last commit (the connection's counter, trigger rows included). */
  #changes: number;
  #schema: number;
  /** Set by beforeCommit, taken by committed(): the commit being made, if it changed anything. */
  #commit: { seq: number; snapshot: boolean } | undefined;

  constructor(db: DatabaseSync, shipper: Shipper, compaction: Compaction, metaTable: string) {
    this.#db = db;
    this.#writeSeqSql = writeSeqSql(metaTable);
    this.#shipper = shipper;
    this.#compaction = compaction;
    this.#stats = db.prepare(STATS);
    const stats = this.#readStats();
    this.#changes = stats.changes;
    this.#schema = stats.schema;
    this.#session = db.createSession();
  }

  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  beforeCommit(): void {
    this.#commit = undefined; // one left over: its COMMIT failed, nothing of it happened
    const { changes, schema } = this.#readStats();
    const schemaChanged = schema !== this.#schema;
    if (changes === this.#changes && !schemaChanged) return; // read-only: nothing to ship
    // Counted even if this commit is refused below: its rows are rolled back, the counter stays.
    this.#changes = changes;
    const broken = this.#shipper.broken;
    if (broken !== undefined) throw broken;
    if (schemaChanged || this.#shipper.checkedSchema !== schema) {
      this.#rules ??= new SchemaRules(this.#db);
      this.#rules.assertReplicable();
      this.#shipper.checkedSchema = schema;
    }
    if (schemaChanged) {
      const size = this.#databaseSize();
      if (size > this.#compaction.maxSnapshotBytes) throw new SnapshotTooLargeError(this.#shipper.actorId, size, this.#compaction.maxSnapshotBytes);
    }
    const seq = this.#shipper.nextSeq();
    this.#writeSeq ??= this.#db.prepare(this.#writeSeqSql);
    this.#writeSeq.run(String(seq));
    this.#changes = Number((this.#stats.get() as { changes: number }).changes);
    this.#schema = schema;
    this.#commit = { seq, snapshot: schemaChanged };
  }

  committed(): Promise<void> | undefined {
    const commit = this.#commit;
    this.#commit = undefined;
    const broken = this.#shipper.broken;
    if (broken !== undefined) return Promise.reject(broken);
    return commit === undefined ? undefined : this.#shipper.add(commit.seq, commit.snapshot);
  }

  detach(): void {
    if (this.#shipper.broken !== undefined) this.markUnreplicated();
    this.#shipper.release(this);
    this.#session?.close();
    this.#session = undefined;
  }

  markUnreplicated(): void {
    // Inside a transaction the mark could be rolled back with it: detach writes it again, after the last commit.
    if (this.#db.isTransaction) return;
    try {
      this.#writeSeq ??= this.#db.prepare(this.#writeSeqSql);
      this.#writeSeq.run(String(UNREPLICATED_POSITION));
      this.#changes = this.#readStats().changes; // the mark is no one's write
    } catch (error) {
      console.error(`[hearth] ${this.#shipper.actorId}: could not mark the local file as not replicated:`, error);
    }
  }

  take(batch: Batch): Shipment {
    if (this.#session === undefined) throw new Error(`${this.#shipper.actorId}: the connection's session is closed`);
    if (!batch.snapshot) {
      const changeset = this.#changeset();
      if (changeset !== undefined && !this.#compactNow(this.#compaction.shipped + changeset.byteLength)) {
        this.#renewSession();
        this.#compaction.shipped += changeset.byteLength;
        return { seq: batch.lastSeq, kind: "changeset", payload: changeset, waiter: batch.waiter };
      }
    }
    const image = snapshotImage(this.#db);
    this.#renewSession();
    this.#compaction.shipped = 0;
    return { seq: batch.lastSeq, kind: "snapshot", payload: image, waiter: batch.waiter };
  }

  /**
   * The changesets since the last snapshot (this one included) pass the limit and the database's own
   * size: a snapshot then costs no more than the log it replaces, so a large database is not copied
   * whole every few megabytes of changes (bytes shipped stay under 2× the changes plus the limit).
   * Never for a database larger than the log takes as one snapshot: the log would refuse it and
   * replication break on every write; its changes go on as changesets, the log behind them stays.
   */
  #compactNow(sinceSnapshot: number): boolean {
    if (sinceSnapshot <= this.#compaction.limit) return false;
    const size = this.#databaseSize();
    if (sinceSnapshot <= size) return false;
    if (size <= this.#compaction.maxSnapshotBytes) return true;
    if (!this.#compaction.warned) {
      this.#compaction.warned = true;
      console.error(
        `[hearth] cluster: ${this.#shipper.actorId}: its database (${size} bytes) is above the largest snapshot the log takes (${this.#compaction.maxSnapshotBytes} bytes, MAX_SNAPSHOT_BYTES): ` +
          `its log is not compacted and grows with every change, a restore replays it all, and a schema change is refused`,
      );
    }
    return false;
  }

  /** The database's size in bytes: the pages in use, about the size of its image (image.ts). */
  #databaseSize(): number {
    this.#size ??= this.#db.prepare(LIVE_BYTES_SQL);
    return Number((this.#size.get() as { size: number }).size);
  }

  /** Undefined when the session cannot produce one (a table it recorded was dropped): a snapshot then. */
  #changeset(): Uint8Array | undefined {
    try {
      return this.#session!.changeset();
    } catch {
      return undefined;
    }
  }

  #renewSession(): void {
    this.#session!.close();
    this.#session = this.#db.createSession();
  }

  #readStats(): { changes: number; schema: number } {
    const row = this.#stats.get() as { changes: number; schema: number };
    return { changes: Number(row.changes), schema: Number(row.schema) };
  }
}
