import { existsSync } from "node:fs";
import { placeFromIndex, type CellPlace } from "../host/place.ts";
import type { ActorReplications } from "./actor-replications.ts";
import type { ClusterTime } from "./due/cluster-time.ts";
import type { FacetReplicas } from "./facet-replicas.ts";
import type { ActorHistory } from "./log.ts";
import { refuseUnloggedData, restoreAgentFile } from "./replica/restore.ts";
import type { OwnedService } from "./services.ts";

/** What the claimed files need of their node (src/cluster/node.ts). */
export interface ClaimedFilesParts {
  readonly dataDir: string;
  readonly replications: ActorReplications;
  readonly facets: FacetReplicas;
  readonly time: ClusterTime;
  /** The service an actor id names (`~kind/name`), undefined for an agent. */
  serviceOf(actorId: string): OwnedService | undefined;
}

/** An agent given back cleanly: the log's head then, and what its compaction counted. */
interface GivenBack {
  readonly head: number;
  readonly changesetBytesSinceSnapshot: number;
}

/**
 * Agents given back cleanly that a node remembers at most (the oldest are forgotten first: their next
 * claim here rebuilds them, as every claim did before). ~100 bytes each.
 */
const MAX_GIVEN_BACK = 50_000;

/**
 * The local files of the actors a node claims. Each claim rebuilds the file from the log, never
 * trusting it as it is: a file left by an earlier owner may hold commits the log refused (a node
 * killed before it could mark them), at seqs the new owner's entries reuse. One exception: an agent
 * this node gave back cleanly — every commit of it in the log, none refused, no facet or sub-agent —
 * and claims again with nothing appended to its log since (no other node claimed it in between):
 * its file is the log's state, and serves as it is, without reading the history or rebuilding.
 * @example
 * const files = new ClaimedFiles({ dataDir, replications, facets, time, serviceOf });
 * files.gaveBack("counter/a", head); // after the lease was released at that head
 * if (!files.resumeAsIs("counter/a", claim.head)) files.restore("counter/a", await history("counter/a"));
 */
export class ClaimedFiles {
  readonly #parts: ClaimedFilesParts;
  readonly #givenBack = new Map<string, GivenBack>();

  constructor(parts: ClaimedFilesParts) {
    this.#parts = parts;
  }

  /**
   * Makes the local file of `actorId` reflect `history`: always rebuilt. A file of an agent the log
   * has never seen is refused.
   */
  restore(actorId: string, history: ActorHistory): void {
    this.#givenBack.delete(actorId);
    const service = this.#parts.serviceOf(actorId);
    const place = service ? undefined : this.#placeOf(actorId);
    const file = place?.file ?? service!.file(actorId.slice(actorId.indexOf("/") + 1));
    refuseUnloggedData(actorId, file, history, service?.metaTable);
    restoreAgentFile(file, history, service ? { empty: true } : {});
    if (place) this.#parts.facets.restoreTree(place, actorId, history);
    // Its schedules fire here from now on: the host's due index learns its tree's wakes from the files.
    if (place) this.#parts.time.adopted(actorId);
    this.#parts.replications.restored(actorId, history);
  }

  /**
   * `actorId`'s lease was given back with the log's head at `head`: remembered when its file then
   * held exactly the log (nothing on its way, nothing refused, no facet tree). Call before its
   * replication and facets are forgotten.
   */
  gaveBack(actorId: string, head: number): void {
    this.#givenBack.delete(actorId);
    const clean = this.#parts.replications.cleanLeave(actorId);
    if (clean === undefined || this.#parts.facets.holdsTree(actorId) || this.#parts.serviceOf(actorId) !== undefined) return;
    this.#givenBack.set(actorId, { head, changesetBytesSinceSnapshot: clean.changesetBytesSinceSnapshot });
    if (this.#givenBack.size > MAX_GIVEN_BACK) this.#givenBack.delete(this.#givenBack.keys().next().value!);
  }

  /**
   * Serves `actorId`'s file as it is, claimed with its marker at `markerSeq`, when this node gave it
   * back cleanly at the log's head right before (nothing appended since) and the file is still there.
   * True when it does (the history need not be read); false: rebuild it with {@link restore}.
   */
  resumeAsIs(actorId: string, markerSeq: number): boolean {
    const given = this.#givenBack.get(actorId);
    if (given === undefined) return false;
    this.#givenBack.delete(actorId);
    if (markerSeq !== given.head + 1) return false;
    if (!existsSync(this.#placeOf(actorId).file)) return false;
    this.#parts.time.adopted(actorId);
    this.#parts.replications.resumed(actorId, given.changesetBytesSinceSnapshot);
    return true;
  }

  /** Forgets every agent given back (the node's membership was lost: its files are rebuilt at their next claim). */
  clear(): void {
    this.#givenBack.clear();
  }

  /** Agents given back cleanly and remembered (for status pages and tests). */
  get size(): number {
    return this.#givenBack.size;
  }

  /** Where agent `slug/name` lives in this node's data directory. */
  #placeOf(actorId: string): CellPlace {
    const slash = actorId.indexOf("/");
    return placeFromIndex(this.#parts.dataDir, actorId.slice(0, slash), actorId.slice(slash + 1));
  }
}
