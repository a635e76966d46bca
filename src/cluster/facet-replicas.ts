import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type pg from "pg";
import type { FacetTreeReplication } from "../host/host-options.ts";
import { childrenDir, type CellPlace } from "../host/place.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import { settledWithin } from "./actor-replications.ts";
import { facetLogKey, placeOfFacetKey, treeRange } from "./facet-keys.ts";
import { FencedError, type ActorHistory, type LogEntry } from "./log.ts";
import type { OwnedActor } from "./ownership.ts";
import { removeFacetTree } from "./pg/facet-log.ts";
import { MAX_ACTOR_ID_LENGTH } from "./pg/leases.ts";
import { LOG_SEQ_KEY, replicate, type ActorReplication } from "./replica/capture.ts";
import { historyPosition, restoreAgentFile } from "./replica/restore.ts";

export interface FacetReplicasOptions {
  dataDir: string;
  pool: pg.Pool;
  schema: string;
  /** Appends to the log (the node's group committer); resolves once the entry is durable. */
  append(entry: LogEntry): Promise<void>;
  /** The lease this node holds for a root agent, if it holds it. */
  held(rootId: string): OwnedActor | undefined;
  /**
   * A write of the root's tree made under lease `epoch` failed (fenced, or its outcome unknown): the
   * tree's copy here is given up — only while that lease is still the one held (a late failure of an
   * earlier lease's write leaves a copy claimed since alone).
   */
  lost(rootId: string, error: unknown, epoch: number): void;
}

interface FacetReplica {
  readonly rootId: string;
  readonly replication: ActorReplication;
}

/**
 * The facets and sub-agents of the root agents this node holds, in the cluster's log: each facet
 * database has a log of its own (keyed by its path, src/cluster/facet-keys.ts) fenced by its root's
 * lease, so whoever holds the root writes its whole tree. A claimed root's facets are rebuilt with it
 * ({@link restoreTree}); a deleted facet tree is removed from the log, and a cloned one written to it
 * as snapshots, before the parent's output leaves ({@link FacetTreeReplication}).
 * @example
 * const facets = new FacetReplicas({ dataDir, pool, schema, append, held, lost });
 * const host = new Host({ replication: (id) => (isFacetIdentity(id) ? facets.replicationFor(id) : …), facetTrees: facets });
 */
export class FacetReplicas implements FacetTreeReplication {
  readonly #options: FacetReplicasOptions;
  readonly #replicas = new Map<string, FacetReplica>();
  /** Each rebuilt or copied facet's log head: its next entry comes after (a key not here starts at 0). */
  readonly #heads = new Map<string, number>();
  /** Changeset bytes in each facet's log after its snapshot (counted towards compaction). */
  readonly #shipped = new Map<string, number>();
  /** Per root, tree changes under way: its facets' appends go after them. */
  readonly #barriers = new Map<string, Promise<void>>();
  /** Per root, the facet keys the three maps above may hold for it: a root is forgotten without walking them. */
  readonly #treeKeys = new Map<string, Set<string>>();

  constructor(options: FacetReplicasOptions) {
    this.#options = options;
  }

  /** Commits wait for the log in some facet: a draining node waits until this is false. */
  get pending(): boolean {
    return [...this.#replicas.values()].some(({ replication }) => replication.pending && replication.broken === undefined);
  }

  /** The roots some of whose facets have commits, or a tree change, still on their way to the log. */
  pendingRoots(): Set<string> {
    const roots = new Set(this.#barriers.keys());
    for (const { rootId, replication } of this.#replicas.values()) if (replication.pending && replication.broken === undefined) roots.add(rootId);
    return roots;
  }

  /** The replication of the facet database with this place identity (`slug/root\0child…`). */
  replicationFor(identity: string): DatabaseReplication {
    const { key, rootId } = facetLogKey(identity);
    const held = this.#options.held(rootId);
    if (held === undefined) throw new Error(`${identity.replaceAll("\0", "/")}: its root agent ${rootId} is not held by this cluster node`);
    if (key.length > MAX_ACTOR_ID_LENGTH) {
      throw new Error(`${identity.replaceAll("\0", "/")}: a facet's path in a cluster is at most ${MAX_ACTOR_ID_LENGTH} characters with its root's name (this one is ${key.length})`);
    }
    const known = this.#replicas.get(key);
    if (known !== undefined && known.replication.broken === undefined) return known.replication;
    const replication = replicate({
      actorId: key,
      epoch: held.epoch,
      startSeq: this.#heads.get(key) ?? 0,
      changesetBytesSinceSnapshot: this.#shipped.get(key) ?? 0,
      appender: { append: (entry) => this.#append(rootId, { ...entry, leaseId: rootId }) },
    });
    this.#replicas.set(key, { rootId, replication });
    this.#track(rootId, key);
    return replication;
  }

  /**
   * Makes the local facet files of a just-claimed root reflect the log: every facet file below it is
   * removed (never trusted: an earlier owner may have written what the log refused) and each facet in
   * `facets` rebuilt. Refuses facet files the log has never seen when the root has no log either.
   */
  restoreTree(root: CellPlace, rootId: string, rootHistory: ActorHistory): void {
    this.dropRoot(rootId);
    const facets = rootHistory.facets ?? new Map<string, ActorHistory>();
    const dir = childrenDir(root);
    if (historyPosition(rootHistory) === undefined && facets.size === 0 && holdsDatabases(dir)) {
      throw new Error(`${rootId}: its local facet files hold data the cluster's log has never seen (from before this node joined a cluster); importing them is not supported yet — move ${dir} away or run without --cluster`);
    }
    rmSync(dir, { recursive: true, force: true });
    for (const [key, history] of facets) {
      if (historyPosition(history) === undefined) continue;
      restoreAgentFile(placeOfFacetKey(this.#options.dataDir, key).file, history);
      this.#heads.set(key, history.head);
      this.#shipped.set(key, history.changesets.reduce((bytes, entry) => bytes + entry.payload.byteLength, 0));
      this.#track(rootId, key);
    }
  }

  removed(identity: string): Promise<void> {
    const { key, rootId } = facetLogKey(identity);
    return this.#change(rootId, async (epoch, old) => {
      await settled(old);
      await this.#removeFromLog(key, rootId, epoch);
    }, key);
  }

  copied(replaced: string, copies: ReadonlyArray<{ identity: string; file: string }>): Promise<void> {
    const { key, rootId } = facetLogKey(replaced);
    // Taken now, before anyone opens a copy: a copy's replication starts after the snapshot written here.
    const images = copies.map(({ identity, file }) => ({ key: facetLogKey(identity).key, image: imageOfCopy(file) }));
    const changed = this.#change(rootId, async (epoch, old) => {
      await settled(old);
      await this.#removeFromLog(key, rootId, epoch);
      for (const { key: copy, image } of images) {
        await this.#options.append({ actorId: copy, leaseId: rootId, seq: COPY_SEQ, epoch, kind: "snapshot", payload: image });
      }
    }, key);
    for (const { key: copy } of images) {
      this.#heads.set(copy, COPY_SEQ);
      this.#track(rootId, copy);
    }
    return changed;
  }

  /** Whether the root has facets or sub-agents here (rebuilt, opened or copied), or a tree change under way. */
  holdsTree(rootId: string): boolean {
    return (this.#treeKeys.get(rootId)?.size ?? 0) > 0 || this.#barriers.has(rootId);
  }

  /** Forgets the tree of a root this node no longer holds (or is about to rebuild). */
  dropRoot(rootId: string): void {
    for (const key of this.#treeKeys.get(rootId) ?? []) {
      this.#replicas.delete(key);
      this.#heads.delete(key);
      this.#shipped.delete(key);
    }
    this.#treeKeys.delete(rootId);
    this.#barriers.delete(rootId);
  }

  /** Entries kept: facet keys with a replication, a head or a count, and roots with any (for tests and status). */
  get sizes(): { facets: number; roots: number } {
    return { facets: new Set([...this.#replicas.keys(), ...this.#heads.keys(), ...this.#shipped.keys()]).size, roots: this.#treeKeys.size };
  }

  /** Forgets every tree (the node's membership was lost, or it hands everything over). */
  clear(): void {
    this.#replicas.clear();
    this.#heads.clear();
    this.#shipped.clear();
    this.#barriers.clear();
    this.#treeKeys.clear();
  }

  #track(rootId: string, key: string): void {
    let keys = this.#treeKeys.get(rootId);
    if (keys === undefined) this.#treeKeys.set(rootId, (keys = new Set()));
    keys.add(key);
  }

  #append(rootId: string, entry: LogEntry): Promise<void> {
    const barrier = this.#barriers.get(rootId);
    const appended = barrier === undefined ? this.#options.append(entry) : barrier.then(() => this.#options.append(entry));
    return appended.catch((error: unknown) => {
      this.#options.lost(rootId, error, entry.epoch);
      throw error;
    });
  }

  /**
   * Runs a change of the facet tree at `key` after the root's earlier ones; the replications of that
   * tree are forgotten at once (the next open starts a new one after the change).
   */
  #change(rootId: string, run: (epoch: number, old: ActorReplication[]) => Promise<void>, key: string): Promise<void> {
    const held = this.#options.held(rootId);
    if (held === undefined) return Promise.reject(new Error(`${rootId} is not held by this cluster node: its facets cannot change here`));
    const { from } = treeRange(key);
    const old: ActorReplication[] = [];
    for (const [facet, replica] of this.#replicas) {
      if (facet !== key && !facet.startsWith(from)) continue;
      old.push(replica.replication);
      this.#replicas.delete(facet);
      this.#shipped.delete(facet);
    }
    this.#heads.delete(key);
    for (const facet of this.#heads.keys()) if (facet.startsWith(from)) this.#heads.delete(facet);
    const tracked = this.#treeKeys.get(rootId);
    for (const facet of tracked ?? []) if (facet === key || facet.startsWith(from)) tracked!.delete(facet);
    const before = this.#barriers.get(rootId) ?? Promise.resolve();
    const done = before.catch(() => undefined).then(() => run(held.epoch, old));
    this.#barriers.set(rootId, done);
    void done.then(
      () => {
        if (this.#barriers.get(rootId) === done) this.#barriers.delete(rootId);
      },
      (error: unknown) => this.#options.lost(rootId, error, held.epoch),
    );
    return done;
  }

  async #removeFromLog(key: string, rootId: string, epoch: number): Promise<void> {
    if (!(await removeFacetTree(this.#options.pool, { key, rootId, epoch }, this.#options.schema))) throw new FencedError(rootId, epoch);
  }
}

/** The seq of a copied facet's snapshot: the first entry of its new log. */
const COPY_SEQ = 1;

/** Waits until none of `replications` has commits on their way to the log (written or failed). */
async function settled(replications: readonly ActorReplication[]): Promise<void> {
  await settledWithin(Number.POSITIVE_INFINITY, () => replications.some((replication) => replication.pending && replication.broken === undefined));
}

/** A copied facet file as a snapshot image, its log position set to the snapshot's. */
function imageOfCopy(file: string): Uint8Array {
  const db = new DatabaseSync(file);
  try {
    db.prepare("INSERT INTO _hearth_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(LOG_SEQ_KEY, String(COPY_SEQ));
    return db.serialize();
  } finally {
    db.close();
  }
}

function holdsDatabases(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { withFileTypes: true }).some((entry) => (entry.isDirectory() ? holdsDatabases(join(dir, entry.name)) : entry.name.endsWith(".sqlite")));
}
