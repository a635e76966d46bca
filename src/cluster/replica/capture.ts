import type { DatabaseSync, Session, StatementSync } from "node:sqlite";
import type { DatabaseReplication, ReplicaLink } from "../../storage/replication.ts";
import type { LogAppender } from "../log.ts";
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
  const compaction = { limit: options.snapshotAfterBytes ?? SNAPSHOT_AFTER_BYTES, shipped: options.changesetBytesSinceSnapshot ?? 0 };
  if (!(compaction.limit >= 0)) throw new RangeError(`snapshotAfterBytes must be a number of bytes ≥ 0, got ${compaction.limit}`);
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
  };
}

/** Changeset bytes shipped since the last snapshot, against the limit. */
interface Compaction {
  readonly limit: number;
  shipped: number;
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
    const image = this.#db.serialize();
    this.#renewSession();
    this.#compaction.shipped = 0;
    return { seq: batch.lastSeq, kind: "snapshot", payload: image, waiter: batch.waiter };
  }

  /**
   * The changesets since the last snapshot (this one included) pass the limit and the database's own
   * size: a snapshot then costs no more than the log it replaces, so a large database is not copied
   * whole every few megabytes of changes (bytes shipped stay under 2× the changes plus the limit).
   */
  #compactNow(sinceSnapshot: number): boolean {
    if (sinceSnapshot <= this.#compaction.limit) return false;
    this.#size ??= this.#db.prepare("SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()");
    return sinceSnapshot > Number((this.#size.get() as { size: number }).size);
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
