/**
 * The cluster's source of truth for one agent: an append-only log of SQLite changesets in Postgres,
 * fenced by the agent's lease epoch (docs/decisions/0019-cluster-on-postgres.md). These types are
 * what the capture side (replica/) and the Postgres side (pg/) agree on.
 */

/** What a log entry holds. */
export type LogEntryKind =
  /** A SQLite changeset (node:sqlite session) of one or more local commits. */
  | "changeset"
  /** A whole database image (`DatabaseSync.serialize()`): after a schema change, or to compact the log. */
  | "snapshot"
  /** Written by a new owner at head + 1 before it serves: no change, it only claims the sequence number. */
  | "epoch_start";

export interface LogEntry {
  /** The agent's log key (its place identity, e.g. `counter/a`). */
  actorId: string;
  /** Strictly increasing per actor (gaps allowed). */
  seq: number;
  /** The lease epoch the writer holds; an append under an older epoch is refused. */
  epoch: number;
  /** The actor whose lease fences this entry, when not `actorId` itself (a facet's root: src/cluster/facet-keys.ts). */
  leaseId?: string;
  kind: LogEntryKind;
  payload: Uint8Array;
}

/** Appends entries to the log; one node's committer batches them across agents. */
export interface LogAppender {
  /**
   * Resolves once the entry is durable in Postgres. Rejects with {@link FencedError} when the actor's
   * lease has moved to a newer epoch (the entry was not written), or with another error when Postgres
   * cannot be reached in time (the entry's fate was resolved first: never written twice).
   */
  append(entry: LogEntry): Promise<void>;
}

/** An agent's log as a new owner reads it to rebuild its local file. */
export interface ActorHistory {
  /** The latest snapshot, if any. */
  snapshot?: { seq: number; image: Uint8Array };
  /** Changesets after the snapshot, in seq order (epoch_start markers left out). */
  changesets: Array<{ seq: number; payload: Uint8Array }>;
  /** The highest seq of any entry, markers included (0 for an empty log). */
  head: number;
  /** A root's facets and sub-agents (at any depth), by log key: restored with it. */
  facets?: Map<string, ActorHistory>;
}

/** The actor's lease moved on: this node no longer owns it, and what it wrote after that is void. */
export class FencedError extends Error {
  readonly actorId: string;
  constructor(actorId: string, epoch: number) {
    super(`${actorId}: this node's lease (epoch ${epoch}) was taken over by another node; the write was refused`);
    this.name = "FencedError";
    this.actorId = actorId;
  }
}
