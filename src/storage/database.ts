import { dirname, resolve } from "node:path";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { currentBootStamp, SCHEMA_TABLES } from "./agent-file-setup.ts";
import { HARDEN_PRAGMAS, IDENTITY_SQL, openAgentFile } from "./connection.ts";
import { SqlError, StorageClosedError } from "./errors.ts";
import { ImplicitTransaction } from "./implicit-transaction.ts";
import { endEventOutsideTransaction, LostWrites, outputOutsideTransaction } from "./lost-writes.ts";
import { prepareOnce } from "./prepare-once.ts";
import { runSyncBlock } from "./sync-block.ts";
import type { ExplicitSavepoint, TransactionOwner } from "./implicit-transaction.ts";
import { holdWal, returnHeldWal, type HeldWal } from "./file-pool.ts";
import { DatabaseFileSync, keepEmptyWal, syncAtClose } from "./close-files.ts";
import { QuietWalWatch } from "./quiet-wal.ts";
import { ReleaseQueue } from "./release-queue.ts";
import type { ReplicaLink } from "./replication.ts";
import { closingReserve, keepConnectionOpen, openWithDescriptors, unwatchConnection, watchConnection, type Parkable } from "./parking.ts";
import { cancelQuietClose, queueQuietClose, quietClosesPending, type QuietClose } from "./quiet-close.ts";
import { fileClosed, fileOpened } from "./settle.ts";
import { refuseTransactionControl } from "./refused-statements.ts";
import { splitStatements } from "./split-statements.ts";
import { SchemaCache } from "./schema-cache.ts";
import { STATE_TABLE, StatementCache } from "./statement-cache.ts";
import { agentsFolderOf } from "./unsettled-log.ts";
import type { AgentDatabaseOptions, SqlAuthorizer } from "./database-options.ts";

export type { ExplicitSavepoint, TransactionOwner } from "./implicit-transaction.ts";
export type { AgentDatabaseOptions, SqlAuthorizer } from "./database-options.ts";

/** A quiet session's connection on its way to closing in the background (quiet-close.ts). */
interface Closing {
  item: QuietClose;
  db: DatabaseSync;
  /** Step 2 ran: the database file holds writes not yet synced. */
  copied: boolean;
}

/**
 * One agent's SQLite database: opening (`connection.ts`), cached statements, and the implicit
 * transactions of {@link ImplicitTransaction}, which every statement joins.
 *
 * An idle connection is parked (closed) by the sweep of `parking.ts` and reopened by the next
 * statement; nothing is pending while parked, so the output gate, group commit and savepoints see
 * no difference. Cached statements are prepared again; the table cache stays (only this object
 * writes the file).
 * @example
 * const db = new AgentDatabase({ path, durability: "relaxed", identity: "counter/a", currentOwner: () => undefined });
 * db.statement("CREATE TABLE t (x)").run();
 * db.close();
 */
export class AgentDatabase implements Parkable {
  readonly path: string;
  /** Where the file's pool of new files lives (file-pool.ts). */
  readonly #agentsFolder: string;
  #db: DatabaseSync | undefined;
  #parked = false;
  /** Used since the last parking sweep. */
  #used = true;
  /** Written without fsync since it was created in this boot: settled in the background at close. */
  #unsettled = false;
  /** The file was made by the open of this connection (a new agent). */
  #created = false;
  /** The -wal's second name while the file is open (file-pool.ts): its inode outlives SQLite's delete at close. */
  #heldWal: HeldWal | undefined;
  /** A quiet session (connection.ts): no fsync and no automatic checkpoint until closed in order or hardened. */
  #quiet = false;
  readonly #walWatch = new QuietWalWatch();
  /** Parked, its connection still closing in the background; the next statement takes it back. */
  #closing: Closing | undefined;
  /** Syncs the database file itself; its descriptor is closed after the connection (before, it would drop SQLite's lock). */
  readonly #fileSync: DatabaseFileSync;
  readonly #statements = new StatementCache();
  #transaction!: ImplicitTransaction;
  /** The open connection's replica link (replicated databases only). */
  #link: ReplicaLink | undefined;
  /** Output waiting for replication; outlives connections (parking), so order holds across them. */
  readonly #releases: ReleaseQueue | undefined;
  /** Events whose writes were lost while they ran, kept across connections (a park does not forget them). */
  readonly #lostWrites = new LostWrites();
  readonly #options: AgentDatabaseOptions;
  #syncDepth = 0;
  /** The file's tables and triggers, read once and kept until the schema may have changed. */
  readonly #schema = new SchemaCache();
  /** Statements of the agent's own SQL run so far that named the state table (see {@link stateTableTouches}). */
  #stateTableTouches = 0;

  constructor(options: AgentDatabaseOptions) {
    this.#options = options;
    this.path = options.path;
    this.#fileSync = new DatabaseFileSync(options.path);
    this.#agentsFolder = agentsFolderOf(resolve(options.path));
    this.#releases = options.replication === undefined ? undefined : new ReleaseQueue();
    this.#connect();
  }

  /** Not closed: open, or parked and reopened by the next statement. */
  get isOpen(): boolean {
    return this.#db !== undefined || this.#parked;
  }

  /** The connection is closed while idle; the next statement reopens it. */
  get parked(): boolean {
    return this.#parked;
  }

  /**
   * Closes the connection now if no transaction is open (the file stays this agent's; the next
   * statement reopens it). Returns whether it is parked.
   */
  park(): boolean {
    if (this.#db === undefined) return this.#parked;
    if (this.busy) return false;
    // Its close holds the connection's descriptors a little longer: only within the room kept for that.
    if (this.#quiet && quietClosesPending() < closingReserve()) this.#parkQuietly();
    else this.#disconnect();
    this.#parked = true;
    return true;
  }

  /** Whether this connection runs as a quiet session (no fsync, no automatic checkpoint since it opened). */
  get quiet(): boolean {
    return this.#quiet;
  }

  /** A transaction is open: the connection cannot be parked now. */
  get busy(): boolean {
    return this.#transaction.pending || this.#syncDepth > 0;
  }

  /**
   * The open connection's file was made by its open, from the template (a new agent): Hearth's tables
   * held no rows then. False while parked.
   */
  get madeByThisOpen(): boolean {
    return this.#db !== undefined && this.#created;
  }

  /** A statement ran since the parking sweep last looked. */
  get used(): boolean {
    return this.#used;
  }

  takeUse(): boolean {
    const used = this.#used;
    this.#used = false;
    return used;
  }

  /**
   * Keeps the connection from being parked for the next `ms` (work is due then: a schedule's run
   * would otherwise reopen the file). The next statement reopens a parked one as always.
   */
  keepOpenFor(ms: number): void {
    keepConnectionOpen(this, ms);
  }

  /**
   * Opens the running event's transaction, if none is open: output from here on waits for the
   * event's writes, and is dropped if the event fails (without a transaction, output leaves at once).
   */
  joinTransaction(): void {
    this.#joined("transaction");
  }

  /** A cached prepared statement; runs inside the implicit transaction. */
  statement(query: string): StatementSync {
    const statement = this.#statements.prepare(this.#joined(), query);
    if (this.#statements.changesSchema(query)) this.#schema.changed(query);
    return statement;
  }

  /**
   * A statement prepared for one use (not cached: the inspector's, or a cursor's while the cached one
   * is being read), `authorize` asked about each thing it does while SQLite compiles it (node:sqlite's
   * `setAuthorizer`); runs inside the implicit transaction.
   */
  oneUseStatement(query: string, authorize?: SqlAuthorizer): StatementSync {
    return prepareOnce(this.#joined(), query, authorize);
  }

  /** {@link statement} for the agent's own SQL (`this.sql`, `storage.sql.exec`): counts those naming the state table. */
  userStatement(query: string): StatementSync {
    const statement = this.statement(query);
    if (this.#statements.namesStateTable(query)) this.#stateTableTouches++;
    return statement;
  }

  /** {@link execScript} for the agent's own SQL: counted like {@link userStatement}. */
  userScript(script: string): void {
    if (STATE_TABLE.test(script)) this.#stateTableTouches++;
    this.execScript(script);
  }

  /** Statements of the agent's own SQL that named `_hearth_state` so far: the state's row count starts over when it moves. */
  get stateTableTouches(): number {
    return this.#stateTableTouches;
  }

  /** Runs statements that take no parameters and return nothing (schema changes, several at once). */
  execScript(script: string): void {
    const db = this.#open("SQL");
    const statements = splitStatements(script);
    for (const statement of statements) refuseTransactionControl(statement);
    this.#transaction.join();
    try {
      db.exec(script);
    } catch (error) {
      throw new SqlError(error, script);
    } finally {
      this.#schema.scriptRan(statements);
    }
  }

  /** Whether the database has a table of this name (one read of the schema serves until it may change). */
  hasTable(name: string): boolean {
    return this.#schema.hasTable(this.#connection, name);
  }

  /** Whether a trigger names the state table: the state's rows may then change with statements that do not name it. */
  get stateTableHasTriggers(): boolean {
    return this.#schema.stateTableHasTriggers(this.#connection);
  }

  readonly #connection = (): DatabaseSync => this.#open("SQL");

  /** The connection, opened if parked, with the implicit transaction joined: where SQL runs. */
  #joined(what = "SQL"): DatabaseSync {
    const db = this.#open(what);
    this.#transaction.join();
    return db;
  }

  /**
   * Runs `fn` atomically inside the current transaction (a savepoint): if it throws, its writes are
   * undone and the error is rethrown; the surrounding event's earlier writes stay.
   */
  transactionSync<T>(fn: () => T): T {
    const db = this.#joined("transactionSync");
    this.#syncDepth++;
    try {
      return runSyncBlock(db, this.#transaction, this.#savepointUndone, fn);
    } finally {
      this.#syncDepth--;
    }
  }

  /** A transactionSync block's savepoint was rolled back: what the schema cache and the owner knew may be stale. */
  readonly #savepointUndone = (): void => {
    this.#schema.forget();
    this.#options.onRollback?.();
  };

  /**
   * Opens the savepoint of a `ctx.storage.transaction()` closure of the running event: its SQL and
   * key-value writes are kept or undone together by {@link endTransaction}, and nothing commits
   * while it is open (storage/durable-transaction.ts).
   */
  beginTransaction(): ExplicitSavepoint {
    this.#open("transaction");
    if (this.#syncDepth > 0) throw new Error("transaction() cannot be called inside transactionSync()");
    return this.#transaction.beginExplicit();
  }

  /** Ends a savepoint of {@link beginTransaction}: kept, or undone. Nothing to do once the connection closed (it was undone then). */
  endTransaction(savepoint: ExplicitSavepoint, keep: boolean): void {
    if (this.#db !== undefined) this.#transaction.endExplicit(savepoint, keep);
  }

  /** Runs `work` once the writes made so far commit; never if they are undone first (files deleted beside the database). */
  afterCommit(work: () => void): void {
    this.#joined("afterCommit");
    this.#transaction.afterCommit(work);
  }

  /** `write` now, or once another event's transaction() closure ends (ImplicitTransaction.whenWritable). */
  whenWritable(write: () => void): Promise<void> | undefined {
    return this.#transaction.whenWritable(write);
  }

  /** True while a {@link transactionSync} block runs: a commit now would break it. */
  get inTransactionSync(): boolean {
    return this.#syncDepth > 0;
  }

  /** Bytes of the database's pages in use, as Cloudflare counts them: (page count − free pages) × page size. */
  get size(): number {
    const db = this.#open("databaseSize");
    const row = db
      .prepare("SELECT (page_count - freelist_count) * page_size AS size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()")
      .get();
    return Number(row?.size ?? 0);
  }

  /** Commits now (per the durability setting) and releases held output. */
  flush(): void {
    if (this.#db !== undefined) this.#transaction.commit();
  }

  /**
   * The output gate: `send` runs when the writes before it are committed, or never if the event that
   * made them fails — then `dropped` runs instead, if given (held-output.ts).
   */
  output(send: () => void, dropped?: () => void): void {
    if (this.#db !== undefined) this.#transaction.output(send, dropped);
    else outputOutsideTransaction(this.#lostWrites, this.#releases, this.#options.currentOwner(), { send, dropped });
  }

  /**
   * Output from now on (this event's and later ones') waits for `durable` as for a commit; if it
   * rejects, the running event fails as when its own writes cannot be replicated. For changes made
   * beside the database that a replica must hold first (a cluster removing a facet tree from its
   * log). Without replication nothing waits.
   */
  holdOutputUntil(durable: Promise<void>): void {
    const owner = this.#options.currentOwner();
    this.#releases?.add(durable, [], undefined, owner === undefined ? [] : [owner]);
  }

  /** An event settled; resolves when its writes are durable (undefined: nothing pending). */
  endEvent(owner: TransactionOwner, failed: boolean): Promise<void> | undefined {
    if (this.#db !== undefined) return this.#transaction.endEvent(owner, failed);
    // Parked since: an event whose writes were lost before is still told so.
    return endEventOutsideTransaction(this.#lostWrites, this.#releases, owner, failed);
  }

  /**
   * Settles when the writes made so far are committed (rejects if that commit fails); undefined
   * when nothing is pending. Unlike {@link output}, it settles even if the event that wrote fails.
   */
  whenCommitted(): Promise<void> | undefined {
    return this.#db === undefined ? this.#releases?.whenReleased(undefined) : this.#transaction.committed();
  }

  /** Rolls back the running event's uncommitted writes now (before an error reply leaves). */
  rollbackCurrent(): void {
    if (this.#db !== undefined) this.#transaction.rollbackCurrent();
  }

  close(): void {
    this.#parked = false;
    const closing = this.#closing;
    if (closing !== undefined) {
      this.#closing = undefined;
      cancelQuietClose(closing.item);
      this.#closeHardened(closing);
    } else if (this.#db !== undefined) this.#disconnect();
  }

  #open(what: string): DatabaseSync {
    this.#used = true;
    if (this.#db !== undefined) {
      if (this.#quiet && this.#walWatch.hardenedAfterStatement(this.#db, this.path)) this.#quiet = false;
      return this.#db;
    }
    if (!this.#parked) throw new StorageClosedError(what);
    if (this.#closing !== undefined) return this.#takeBack(this.#closing);
    try {
      this.#connect();
    } catch (error) {
      throw new Error(`${what}: reopening the idle (parked) connection failed. ${(error as Error).message}`, { cause: error });
    }
    this.#parked = false;
    return this.#db!;
  }

  #connect(): void {
    const options = this.#options;
    const { db, unsettled, created, quiet, identityToWrite } = openWithDescriptors(() =>
      openAgentFile({
        path: options.path,
        durability: options.durability,
        identity: options.identity,
        bootStamp: options.bootStamp ?? currentBootStamp(),
        // A replicated database's commits are the cluster's to order; its file closes the usual way.
        allowQuiet: options.replication === undefined,
        // Into the first transaction (a commit fewer per new agent), but not into a replica's log.
        deferIdentity: options.replication === undefined,
      }),
    );
    this.#db = db;
    this.#heldWal = holdWal(this.#agentsFolder, options.path);
    this.#unsettled = unsettled;
    this.#created = created;
    // A file this open made is the template: its tables are known (a new agent's layers ask at start).
    if (created) this.#schema.knowTemplate(SCHEMA_TABLES);
    this.#quiet = quiet;
    this.#walWatch.reset();
    this.#used = true;
    this.#link = options.replication?.attach(db);
    const replica = this.#link === undefined ? undefined : { link: this.#link, releases: this.#releases! };
    this.#transaction = new ImplicitTransaction(
      db,
      options.currentOwner,
      () => {
        this.#schema.forget(); // a rolled-back CREATE TABLE is gone again
        options.onRollback?.();
      },
      replica,
      this.#lostWrites,
    );
    if (identityToWrite !== undefined) this.#transaction.writeFirst(() => db.prepare(IDENTITY_SQL).run(identityToWrite));
    fileOpened(options.path, unsettled);
    watchConnection(this);
  }

  /** Commits, closes the connection, keeps an empty -wal file for the next open, queues the settle. */
  #disconnect(): void {
    const db = this.#db!;
    unwatchConnection(this);
    try {
      this.#transaction.commitBeforeClose();
    } finally {
      this.#db = undefined;
      if (this.#quiet) syncAtClose(db);
      this.#closed(db);
    }
  }

  /** After the connection's last statement: closes it and does what follows a close. */
  #closed(db: DatabaseSync): void {
    this.#link?.detach();
    this.#link = undefined;
    this.#statements.clear();
    try {
      db.close();
    } finally {
      this.#fileSync.close();
      this.#quiet = false;
      const held = this.#heldWal;
      this.#heldWal = undefined;
      // Otherwise not at a new agent's first close: those come in bursts (one more file creation each,
      // stalled behind the settles' syncs), and many are never woken; their first wake creates the -wal once.
      if (held !== undefined ? !returnHeldWal(held, this.path) : !this.#created) keepEmptyWal(this.#agentsFolder, this.path, this.#options.durability);
      fileClosed(this.path, this.#unsettled);
    }
  }

  /** Parks a quiet session: its close runs in the background, in order (quiet-close.ts). */
  #parkQuietly(): void {
    const db = this.#db!;
    this.flush();
    unwatchConnection(this);
    this.#db = undefined;
    const closing: Closing = {
      db,
      copied: false,
      item: {
        folder: dirname(this.path),
        copy: () => {
          db.exec("PRAGMA wal_checkpoint(PASSIVE)");
          closing.copied = true;
        },
        close: () => {
          this.#closing = undefined;
          this.#closed(db);
        },
        closeNow: () => {
          this.#closing = undefined;
          this.#closeHardened(closing);
        },
      },
    };
    this.#closing = closing;
    queueQuietClose(closing.item);
  }

  /**
   * A statement needs the connection of a quiet park not yet closed: it is taken back as it is. Once
   * its WAL was copied, the database file is synced first and the session hardened: its next write
   * restarts the WAL over frames that were the only durable copy of those pages, which SQLite makes
   * safe by syncing the new WAL header (synchronous = NORMAL).
   */
  #takeBack(closing: Closing): DatabaseSync {
    this.#closing = undefined;
    cancelQuietClose(closing.item);
    if (closing.copied) {
      this.#fileSync.sync();
      closing.db.exec(HARDEN_PRAGMAS);
      this.#quiet = false;
    }
    this.#db = closing.db;
    this.#parked = false;
    watchConnection(this);
    return closing.db;
  }

  /** Closes on this thread, with syncs: what a quiet park does when it cannot wait (hibernation, shutdown). */
  #closeHardened(closing: Closing): void {
    // Copied already: SQLite's close finds nothing to copy and would not sync the database file.
    if (closing.copied) this.#fileSync.sync();
    syncAtClose(closing.db);
    this.#closed(closing.db);
  }
}
