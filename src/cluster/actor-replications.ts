import type { ActorHistory, LogAppender } from "./log.ts";
import { replicate, type ActorReplication } from "./replica/capture.ts";

/** What a replication is made under: the lease held and where its entries go. */
export interface ReplicationLease {
  readonly epoch: number;
  readonly startSeq: number;
}

/**
 * The replications of the root actors a node holds, one per actor and lease, and what each restored
 * actor's compaction counts on from. Every entry is of an actor held here: {@link forget} (or
 * {@link clear}) runs whenever one leaves the node, so a node that held millions of agents over its
 * life keeps entries only for those it holds now.
 */
export class ActorReplications {
  readonly #replications = new Map<string, ActorReplication>();
  /**
   * Bytes of changesets in each restored actor's log after its snapshot, until its replication is
   * made (it counts on from there). Set at each claim's rebuild from the log, so it need not outlive
   * the node's lease: a node that gets the actor back reads its history again.
   */
  readonly #shippedSinceSnapshot = new Map<string, number>();

  /** The actor's replication, made under `lease` unless one is under way (and not broken). */
  for(actorId: string, lease: ReplicationLease, appender: LogAppender, metaTable: string | undefined): ActorReplication {
    let replication = this.#replications.get(actorId);
    if (replication === undefined || replication.broken !== undefined) {
      const shipped = this.#shippedSinceSnapshot.get(actorId) ?? 0;
      replication = replicate({ actorId, epoch: lease.epoch, startSeq: lease.startSeq, appender, changesetBytesSinceSnapshot: shipped, ...(metaTable ? { metaTable } : {}) });
      this.#replications.set(actorId, replication);
    }
    return replication;
  }

  /** The actor's local file was just rebuilt from `history`: a replication starts afresh after it. */
  restored(actorId: string, history: ActorHistory): void {
    this.#replications.delete(actorId);
    this.#shippedSinceSnapshot.set(actorId, history.changesets.reduce((bytes, entry) => bytes + entry.payload.byteLength, 0));
  }

  /**
   * What a replication of `actorId` made after a clean give-back starts from: the changeset bytes
   * after its snapshot, when every commit of it is in the log (none on its way, none refused).
   * Undefined otherwise: its file may hold what the log lacks, and must be rebuilt.
   */
  cleanLeave(actorId: string): { changesetBytesSinceSnapshot: number } | undefined {
    const replication = this.#replications.get(actorId);
    if (replication === undefined) return { changesetBytesSinceSnapshot: this.#shippedSinceSnapshot.get(actorId) ?? 0 };
    if (replication.pending || replication.broken !== undefined) return undefined;
    return { changesetBytesSinceSnapshot: replication.changesetBytesSinceSnapshot };
  }

  /** The actor's local file serves again as it was given back (the log did not move meanwhile). */
  resumed(actorId: string, changesetBytesSinceSnapshot: number): void {
    this.#replications.delete(actorId);
    this.#shippedSinceSnapshot.set(actorId, changesetBytesSinceSnapshot);
  }

  has(actorId: string): boolean {
    return this.#replications.has(actorId);
  }

  /** The actor left this node (handed over, fenced, given back): nothing of it is kept. */
  forget(actorId: string): void {
    this.#replications.delete(actorId);
    this.#shippedSinceSnapshot.delete(actorId);
  }

  /** Every actor left this node (its membership lost, or it hands everything over). */
  clear(): void {
    this.#replications.clear();
    this.#shippedSinceSnapshot.clear();
  }

  /** Commits of `actorId` (or, without it, of any actor) are still on their way to the log. */
  unsettled(actorId?: string): boolean {
    const waiting = (replication: ActorReplication | undefined): boolean => replication !== undefined && replication.pending && replication.broken === undefined;
    return actorId === undefined ? [...this.#replications.values()].some(waiting) : waiting(this.#replications.get(actorId));
  }

  /** Entries kept, per map: for status pages and tests. */
  get sizes(): { replications: number; shippedSinceSnapshot: number } {
    return { replications: this.#replications.size, shippedSinceSnapshot: this.#shippedSinceSnapshot.size };
  }
}

/** Waits until `waiting()` is false, looking every 10 ms; false when it still was after `limitMs`. */
export async function settledWithin(limitMs: number, waiting: () => boolean): Promise<boolean> {
  const deadline = performance.now() + limitMs;
  while (waiting()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
