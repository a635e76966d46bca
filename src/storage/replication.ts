import type { DatabaseSync } from "node:sqlite";

/**
 * Where an agent database's transactions go before their output may leave: in a cluster, a log in
 * Postgres (src/cluster/). Without one, the local COMMIT is the end of the story (one node).
 *
 * The output gate waits for {@link ReplicaLink.committed}: replies, WebSocket frames and an event's
 * settle are released in commit order once the commit they follow is replicated, and dropped (the
 * writers' events failing) if replication fails.
 */
export interface DatabaseReplication {
  /** A connection opened (first open, wake, reopen after parking): before any statement runs on it. */
  attach(db: DatabaseSync): ReplicaLink;
}

/** One open connection's link to the replica log. */
export interface ReplicaLink {
  /** Inside the open transaction, just before its COMMIT (may write, e.g. the log position). */
  beforeCommit(): void;
  /**
   * Right after the local COMMIT: settles when that transaction is durable in the log (undefined:
   * nothing to wait for). A rejection fails every event that wrote in it.
   */
  committed(): Promise<void> | undefined;
  /** The connection is about to close (after its last commit). */
  detach(): void;
}
