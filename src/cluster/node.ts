import type pg from "pg";
import type { WorkerFetch } from "../gateway/serve.ts";
import type { Host } from "../platform/host.ts";
import type { FacetTreeReplication } from "../host/host-options.ts";
import type { HostPlacement, RemoteActors } from "../host/placement.ts";
import type { DatabaseReplication } from "../storage/replication.ts";
import { DrainGate } from "./drain-gate.ts";
import { gatherClusterMetrics } from "./metrics.ts";
import { forwardToOwners } from "./forward.ts";
import { withInternalRoutes } from "./internal-routes.ts";
import { clusterKey } from "./key.ts";
import { isFacetIdentity } from "./facet-keys.ts";
import { KeptServices } from "./kept-services.ts";
import { FacetReplicas } from "./facet-replicas.ts";
import { FencedError, type LogAppender, type LogEntry } from "./log.ts";
import { ClusterTime } from "./due/cluster-time.ts";
import { Ownership } from "./ownership.ts";
import { ActorReplications, settledWithin } from "./actor-replications.ts";
import { ClaimedFiles } from "./claimed-files.ts";
import { IdleRelease, idleReleasePeriod } from "./idle-release.ts";
import { giveBackIdle, handOverService, type LeavingParts } from "./leaving.ts";
import { NodePruner } from "./pg/prune.ts";
import { GroupCommitter } from "./pg/committer.ts";
import { readTreeHistory } from "./pg/facet-log.ts";
import { Leases } from "./pg/leases.ts";
import { Membership } from "./pg/membership.ts";
import { createClusterPool, redacted } from "./pg/pool.ts";
import { clusterTables, DEFAULT_SCHEMA, migrate } from "./pg/schema.ts";
import { SERVICE_KIND_PREFIX, serviceKindOf, type OwnedService } from "./services.ts";
import { timing, type ClusterOptions } from "./options.ts";

export type { ClusterOptions } from "./options.ts";

/**
 * One node of a Hearth cluster: its membership (a heartbeat row in Postgres), the agents it holds
 * (lease rows with epochs), the group committer that makes every commit durable in Postgres before
 * its output leaves, and forwarding to the nodes that hold the other agents
 * (docs/decisions/0019-cluster-on-postgres.md).
 * @example
 * const node = await ClusterNode.start({ connectionString, nodeId: "a", advertise: "http://10.0.0.5:8787" }, dataDir);
 * const host = new Host({ dataDir, agents, ...node.hostOptions(() => host) });
 * const server = await serve({ host, fetch: node.wrapFetch(worker.fetch) });
 */
export class ClusterNode {
  readonly nodeId: string;
  readonly #options: ClusterOptions;
  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #committer: GroupCommitter;
  readonly #ownership: Ownership;
  readonly #key: string;
  /** The held root actors' replications (entries only while held: src/cluster/actor-replications.ts). */
  readonly #replications = new ActorReplications();
  readonly #time: ClusterTime;
  /** The facets and sub-agents of the agents held here. */
  readonly #facets: FacetReplicas;
  #membership: Membership;
  #leases: Leases;
  #closed = false;
  #handingOver: Promise<void> | undefined;
  readonly #gate = new DrainGate();
  #host: (() => Host) | undefined;
  #localMetrics: (() => string) | undefined;
  readonly #services = new Map<string, OwnedService>();
  /** Services some live node must always hold, spread over the nodes (see {@link keepHeld}). */
  readonly #kept: KeptServices;
  /** Reaches the owner of any actor or service (this node's own side when it holds it). */
  readonly #forwarder: RemoteActors;
  /** Removes the rows of nodes gone for longer than the retention (src/cluster/pg/prune.ts). */
  readonly #pruner: NodePruner;
  /** Gives back the leases of agents nothing uses (src/cluster/idle-release.ts). */
  readonly #idleRelease: IdleRelease;
  /** What an actor leaving this node needs of it (src/cluster/leaving.ts). */
  readonly #leaving: LeavingParts;
  /** The claimed actors' local files: rebuilt from the log, or served as given back (src/cluster/claimed-files.ts). */
  readonly #files: ClaimedFiles;

  private constructor(options: ClusterOptions, dataDir: string, pool: pg.Pool, membership: Membership, key: string) {
    this.nodeId = options.nodeId;
    this.#options = options;
    this.#pool = pool;
    this.#schema = options.schema ?? DEFAULT_SCHEMA;
    this.#key = key;
    this.#membership = membership;
    this.#leases = new Leases({ pool, membership, schema: this.#schema });
    this.#committer = new GroupCommitter({ pool, schema: this.#schema });
    const valid = (): boolean => this.#membership.valid;
    this.#ownership = new Ownership({
      store: {
        get valid() {
          return valid();
        },
        nodeId: options.nodeId,
        lookup: (actorId) => this.#leases.lookup(actorId),
        claim: (actorId) => this.#leases.claim(actorId),
        // A service (`~kind/name`) has no facets: its range is empty.
        history: (actorId) => readTreeHistory(pool, actorId, this.#schema),
      },
      restore: (actorId, history) => this.#files.restore(actorId, history),
      resumeAsIs: (actorId, markerSeq) => this.#files.resumeAsIs(actorId, markerSeq),
      // Past the TTL a remembered owner may be dead and its agents taken over: look again.
      rememberOwnersForMs: membership.ttlMs,
    });
    this.#time = new ClusterTime({
      pool,
      schema: this.#schema,
      nodeId: options.nodeId,
      dataDir,
      epochOf: (actorId) => this.#ownership.held(actorId)?.epoch,
      active: () => this.#mayClaim(),
      claim: async (actorId) => {
        this.#ownership.forget(actorId); // a fresh look: the owner remembered may be the dead node taken over
        return (await this.#ownership.route(actorId)).here;
      },
      start: (slug, name) => {
        const host = this.#host?.();
        return host === undefined ? Promise.reject(new Error(`node ${this.nodeId} has no host yet`)) : host.start(host.classNameOf(slug), name);
      },
    });
    this.#facets = new FacetReplicas({
      dataDir,
      pool,
      schema: this.#schema,
      append: (entry) => this.#durable(entry, entry.leaseId ?? entry.actorId),
      held: (rootId) => this.#ownership.held(rootId),
      lost: (rootId, error, epoch) => this.#lost(rootId, error, epoch),
    });
    this.#files = new ClaimedFiles({ dataDir, replications: this.#replications, facets: this.#facets, time: this.#time, serviceOf: (actorId) => this.#serviceOf(actorId) });
    this.#leaving = {
      nodeId: options.nodeId, ownership: this.#ownership, replications: this.#replications, facets: this.#facets, time: this.#time, committer: this.#committer, files: this.#files,
      leases: () => this.#leases, evict: (actorId, reason) => this.#evict(actorId, reason),
      settle: (actorId) => this.#settleReplication(this.#membership.ttlMs, actorId),
    };
    // A dead node's agents are taken over by then.
    const takeoverMs = this.#membership.ttlMs + 2_000;
    this.#forwarder = forwardToOwners({
      route: (className, name) => this.#ownership.route(this.#actorIdOf(className, name)),
      forget: (className, name) => this.#ownership.forget(this.#actorIdOf(className, name)),
      holder: (className, name) => this.#ownership.holder(this.#actorIdOf(className, name)),
      holds: (className, name) => this.#ownership.holds(this.#actorIdOf(className, name)),
      local: this.#local,
      key: this.#key,
      retryForMs: this.#options.forwardRetryMs ?? takeoverMs,
      // A frozen owner (it accepts connections, answers nothing) has lost its lease by then.
      answerWithinMs: takeoverMs,
      // A relayed socket's owner is pinged twice a TTL: one gone silent is noticed about when its lease lapses.
      pingEveryMs: this.#membership.ttlMs / 2,
      stopping: async (nodeId) => {
        const { rows } = await this.#pool.query<{ state: string }>(`SELECT state FROM ${clusterTables(this.#schema).nodes} WHERE node_id = $1`, [nodeId]);
        return rows[0]?.state === "draining" || rows[0]?.state === "left";
      },
      // A lease row is made by the first claim and kept: an actor was created iff it has one.
      exists: async (className, name) => (await this.#leases.lookup(this.#actorIdOf(className, name))).epoch > 0,
    });
    this.#kept = new KeptServices(
      {
        nodeId: this.nodeId,
        active: () => this.#mayClaim(),
        incarnation: () => this.#membership.incarnation,
        keep: (kind) => this.#leases.keep(kind),
        look: (kind, actorIds) => this.#leases.keepers(kind, actorIds),
        owns: (actorId) => this.#ownership.owns(actorId),
        take: async (actorId) => {
          if (!this.#ownership.owns(actorId)) {
            this.#ownership.forget(actorId); // a fresh look: the owner remembered may be dead
            if (!(await this.#ownership.route(actorId)).here) return;
          }
          await this.#invokeService(serviceKindOf(actorId)!, actorId.slice(actorId.indexOf("/") + 1), "open", []);
        },
        movable: (actorId) => this.#serviceOf(actorId)?.movable?.(actorId.slice(actorId.indexOf("/") + 1)) ?? false,
        handOver: (actorId, to) => handOverService(this.#leaving, actorId, to),
      },
      options.keepEveryMs !== undefined ? { everyMs: options.keepEveryMs } : {},
    );
    (this.#pruner = new NodePruner({ pool, schema: this.#schema, retentionMs: options.nodeRetentionMs, everyMs: options.pruneEveryMs })).start();
    this.#idleRelease = new IdleRelease({
      everyMs: options.releaseIdleAfterMs,
      active: () => this.#mayClaim() && this.#host !== undefined,
      idle: (nextLook) => {
        const [resident, dueSoon, facetsPending] = [this.#host!().residentRoots(), this.#host!().rootsDueBy(nextLook), this.#facets.pendingRoots()];
        const kept = (actorId: string) => resident.has(actorId) || dueSoon.has(actorId) || facetsPending.has(actorId) || this.#replications.unsettled(actorId);
        return this.#ownership.endUsePeriod((actorId) => serviceKindOf(actorId) !== undefined || kept(actorId));
      },
      giveBack: (actorId) => giveBackIdle(this.#leaving, actorId),
    });
    this.#watchMembership();
  }

  /** This node may take actors over now: a valid member, neither draining nor closed. */
  #mayClaim(): boolean {
    return !this.#closed && !this.#gate.draining && this.#membership.valid;
  }

  /** Joins the cluster: creates its tables if missing, registers this node, starts the heartbeat. */
  static async start(options: ClusterOptions, dataDir: string): Promise<ClusterNode> {
    idleReleasePeriod(options.releaseIdleAfterMs); // refused before joining
    const pool = createClusterPool({ connectionString: options.connectionString, applicationName: `hearth-${options.nodeId}` });
    try {
      const schema = options.schema ?? DEFAULT_SCHEMA;
      await migrate(pool, { schema });
      const key = await clusterKey(pool, schema);
      const membership = await Membership.join({ pool, nodeId: options.nodeId, address: options.advertise, schema, ...timing(options) });
      return new ClusterNode(options, dataDir, pool, membership, key);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`Cannot join the cluster at ${redacted(options.connectionString)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Agents this node holds now. */
  get heldAgents(): number {
    return this.#ownership.count;
  }

  /**
   * Entries this node keeps per actor, each map's size: they count only actors held here (and owners
   * elsewhere looked up within a TTL, agents given back cleanly up to a bound).
   */
  get residentCounts(): { owned: number; replications: number; shippedSinceSnapshot: number; rememberedOwners: number; facets: number; facetRoots: number; givenBack: number } {
    const ownership = this.#ownership.sizes;
    const facets = this.#facets.sizes;
    return { owned: ownership.owned, ...this.#replications.sizes, rememberedOwners: ownership.remembered, facets: facets.facets, facetRoots: facets.roots, givenBack: this.#files.size };
  }

  /** Gives back now the leases of the agents nothing used since the last look (as every `releaseIdleAfterMs`); resolves to how many. */
  releaseIdleAgents(): Promise<number> {
    return this.#idleRelease.look();
  }

  /** Whether this node holds the agent stored as `slug`/`name` now (`list-agent`/`a`). */
  holds(slug: string, name: string): boolean {
    return this.#ownership.holds(`${slug}/${name}`);
  }

  /** The host options that make a host one node of this cluster. */
  hostOptions(host: () => Host): { placement: HostPlacement; replication: (identity: string) => DatabaseReplication; facetTrees: FacetTreeReplication } {
    this.#host = host;
    this.#time.start();
    this.#idleRelease.start();
    return {
      placement: { owns: (slug, name) => this.#ownership.owns(`${slug}/${name}`), remote: this.#forwarder, time: this.#time },
      replication: (identity) => (isFacetIdentity(identity) ? this.#facets.replicationFor(identity) : this.#replicationFor(identity)),
      facetTrees: this.#facets,
    };
  }

  /** The worker's fetch with the routes other nodes use to reach this node's agents. */
  wrapFetch(fetch: WorkerFetch): WorkerFetch {
    if (this.#host === undefined) throw new Error("ClusterNode.wrapFetch: call hostOptions() first, when making the host");
    return this.#gate.wrap(
      withInternalRoutes(fetch, { key: this.#key, local: this.#local, route: (className, name) => this.#ownership.route(this.#actorIdOf(className, name)), holds: (className, name) => this.#ownership.holds(this.#actorIdOf(className, name)), metrics: () => this.#localMetrics?.() }),
    );
  }

  /**
   * What `GET /metrics` answers on a node: the whole cluster's metrics (every live node's, gathered
   * under the cluster key, each sample labelled `node`), or with `?scope=node` this node's alone (for
   * scraping each node by itself). `local` is this node's own exposition, also served to the others.
   * @example
   * const server = await serve({ host, fetch: node.wrapFetch(fetch), metrics, exposeMetrics: node.metrics(() => metrics.expose()) });
   */
  metrics(local: () => string): (url: string) => Promise<string> {
    this.#localMetrics = local;
    return async (url) => {
      if (new URL(url, "http://node").searchParams.get("scope") === "node") return local();
      return gatherClusterMetrics({ pool: this.#pool, schema: this.#schema, nodeId: this.nodeId, key: this.#key, local });
    };
  }

  /**
   * Makes `kind` (e.g. `~d1`) something this cluster keeps on one node at a time, like an agent:
   * {@link callService} reaches the node that holds `<kind>/<name>`, claiming it where nobody live does.
   * @example
   * node.serve("~d1", d1Service);
   * await node.callService("~d1", "app", "query", [query, "all", true]);
   */
  serve(kind: string, service: OwnedService): void {
    if (!kind.startsWith(SERVICE_KIND_PREFIX) || kind.includes("/")) throw new Error(`A service kind starts with "${SERVICE_KIND_PREFIX}" and has no "/": ${kind}`);
    if (this.#services.has(kind)) throw new Error(`The service ${kind} is served already`);
    this.#services.set(kind, service);
  }

  /**
   * Keeps each of `kind`/`names` held by a live node even when nothing calls it (workflow instances
   * run on their own), spread over the nodes, only once `ready()` (src/cluster/kept-services.ts).
   */
  keepHeld(kind: string, names: readonly string[], ready?: () => boolean): void {
    this.#kept.add(kind, names.map((name) => `${kind}/${name}`), ready);
  }

  /** Runs `method` of `kind`/`name` on the node that holds it (here when this node does). */
  callService(kind: string, name: string, method: string, args: readonly unknown[]): Promise<unknown> {
    if (!this.#services.has(kind)) return Promise.reject(new Error(`No service ${kind} is served by this node`));
    if (this.#ownership.owns(`${kind}/${name}`)) return this.#invokeService(kind, name, method, args);
    return this.#forwarder.invoke(kind, name, method, [...args]);
  }

  #invokeService(kind: string, name: string, method: string, args: readonly unknown[]): Promise<unknown> {
    const service = this.#services.get(kind);
    if (service === undefined) return Promise.reject(new Error(`No service ${kind} is served by node ${this.nodeId}`));
    return service.invoke(name, method, args, () => this.#replicationFor(`${kind}/${name}`));
  }

  /** This node's own side, for the agents and services it holds. */
  readonly #local: RemoteActors = {
    request: (className, name, request) => (this.#services.has(className) ? Promise.reject(notAnAgent(className)) : this.#host!().request(className, name, request)),
    invoke: (className, name, method, args, caller) => (this.#services.has(className) ? this.#invokeService(className, name, method, args) : this.#host!().invoke(className, name, method, args, caller)),
    start: (className, name, props) => (this.#services.has(className) ? Promise.reject(notAnAgent(className)) : this.#host!().start(className, name, props)),
    acceptSocket: (className, name, ws, request) => {
      if (this.#services.has(className)) ws.close(1011, `${className} takes no sockets`);
      else this.#host!().acceptSocket(className, name, ws, request);
    },
  };

  /** An agent's log and lease key: its class's storage name and its name (`counter/a`); a service's: `<kind>/<name>`. */
  #actorIdOf(className: string, name: string): string {
    if (className.startsWith(SERVICE_KIND_PREFIX)) return `${className}/${name}`;
    return `${this.#host!().storageSlugOf(className)}/${name}`;
  }

  /** Durable time of this node: its actor_due writer and the scanner that takes over dead nodes' due agents. */
  get time(): ClusterTime {
    return this.#time;
  }

  /**
   * Hands every agent over while the server still listens, so nobody sees an error: new requests
   * are turned away (503 `retry-after: 0` to clients, "moved" to peers, each closing its
   * connection), the node is marked draining (it claims nothing more), requests under way finish,
   * the agents it holds are taken out of memory, their commits reach the log (replication pending
   * → 0), and every lease is given back, so peers claim at once. Call it before closing the server;
   * {@link close} does it too when it was not called.
   * @example
   * await node.drain();      // SIGTERM: hand over first
   * await server.close();
   * await host.close();
   * await node.close();      // leave the cluster
   */
  drain(): Promise<void> {
    this.#handingOver ??= this.#handOver(true);
    return this.#handingOver;
  }

  /** `evict`: take the agents out of the host's memory (not once the host is closed). */
  async #handOver(evict: boolean): Promise<void> {
    const limitMs = this.#options.forwardRetryMs ?? this.#membership.ttlMs + 2_000;
    this.#gate.drain();
    this.#kept.stop();
    await this.#idleRelease.stop();
    await this.#time.scanner.stop();
    await this.#membership.drain().catch(() => undefined);
    if (!(await this.#gate.idle(limitMs))) {
      console.error(`[hearth] cluster: node ${this.nodeId} hands its agents over with ${this.#gate.inFlight} request(s) still under way after ${limitMs} ms`);
    }
    const held = this.#ownership.dropAll();
    if (evict) for (const actorId of held) this.#evict(actorId, new Error(`cluster node ${this.nodeId} is shutting down; ${actorId} moves to another node`));
    await this.#settleReplication(this.#membership.ttlMs);
    await this.#committer.flush().catch(() => undefined);
    await this.#time.close();
    await this.#leases.releaseAll().catch(() => undefined);
    this.#replications.clear();
    this.#facets.clear();
  }

  /**
   * Leaves without waiting for a TTL: hands every agent over ({@link drain}, when not done yet),
   * marks the node as left and closes its connections. Call it after the host is closed.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#handingOver ??= this.#handOver(false);
    await this.#handingOver;
    this.#closed = true;
    await this.#pruner.stop();
    await this.#membership.leave().catch(() => undefined);
    await this.#committer.close().catch(() => undefined);
    await this.#membership.close().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  /** Waits (at most `limitMs`) until no agent's commits (or only `actorId`'s) are still on their way to the log. */
  async #settleReplication(limitMs: number, actorId?: string): Promise<void> {
    const waiting = () => (actorId === undefined ? this.#facets.pending : false) || this.#replications.unsettled(actorId);
    if (!(await settledWithin(limitMs, waiting))) {
      console.error(`[hearth] cluster: node ${this.nodeId} leaves with commits not yet in the log after ${limitMs} ms; their agents' next owner rebuilds from the log`);
    }
  }

  #replicationFor(identity: string): DatabaseReplication {
    const held = this.#ownership.held(identity);
    if (held === undefined) throw new Error(`${identity}: not held by cluster node ${this.nodeId}`);
    const appender: LogAppender = {
      append: (entry) =>
        this.#durable(entry, identity).catch((error: unknown) => {
          this.#lost(identity, error, entry.epoch);
          throw error;
        }),
    };
    return this.#replications.for(identity, held, appender, this.#serviceOf(identity)?.metaTable);
  }

  /**
   * Resolves once `entry` is in the log — and the next wake of `rootId`'s tree its commit lowered (a
   * new schedule) is in actor_due: the two statements run in parallel, the reply waits for both.
   */
  #durable(entry: LogEntry, rootId: string): Promise<void> {
    return Promise.all([this.#committer.append(entry), this.#time.settled(rootId)]).then(() => undefined);
  }

  /**
   * An append failed: fenced (another node took the agent over), or its outcome is unknown (Postgres
   * unreachable for the whole append timeout). Either way the local file may hold commits the log
   * does not: the copy here stops serving, and the next event claims the agent again (a new epoch),
   * rebuilding it from the log — here or on another node.
   *
   * Only when `epoch`, the lease the failed append was made under, is the one held now (or, with none
   * held, while the copy's replication is still here, as during a hand-over): an append of an earlier
   * lease may fail late — held up while this node lost its membership, joined again and claimed the
   * agent anew — and the copy claimed since, rebuilt from the log, is healthy.
   */
  #lost(actorId: string, error: unknown, epoch: number): void {
    const held = this.#ownership.held(actorId);
    if (held !== undefined ? held.epoch !== epoch : !this.#replications.has(actorId)) return;
    this.#ownership.drop(actorId);
    this.#replications.forget(actorId);
    this.#facets.dropRoot(actorId);
    const moved = error instanceof FencedError;
    this.#evict(actorId, new Error(moved ? `${actorId} moved to another cluster node` : `${actorId}: a commit could not be made durable; it is rebuilt from the cluster's log`));
    console.error(
      moved
        ? `[hearth] cluster: ${actorId} was taken over by another node; this node no longer serves it`
        : `[hearth] cluster: ${actorId}: a commit could not be made durable (${(error as Error)?.message ?? String(error)}); its copy here is dropped and rebuilt from the log on its next event`,
    );
  }

  #watchMembership(): void {
    this.#membership.onLost((reason) => {
      if (this.#closed || this.#gate.draining) return;
      const dropped = this.#ownership.dropAll();
      this.#replications.clear();
      this.#facets.clear();
      this.#files.clear();
      for (const actorId of dropped) this.#evict(actorId, new Error(`cluster node ${this.nodeId} lost its membership (${reason})`));
      console.error(`[hearth] cluster: node ${this.nodeId} lost its membership (${reason}); it gave up ${dropped.length} agent(s) and joins again`);
      void this.#rejoin();
    });
  }

  /** Takes the local copy of an agent this node no longer holds out of memory (its file stays, a cache). */
  #evict(actorId: string, reason: Error): void {
    const slash = actorId.indexOf("/");
    try {
      const service = this.#serviceOf(actorId);
      if (service) service.release(actorId.slice(slash + 1), reason);
      else this.#host?.().evict(actorId.slice(0, slash), actorId.slice(slash + 1), reason);
    } catch (error) {
      console.error(`[hearth] cluster: evicting ${actorId} failed:`, error);
    }
  }

  #serviceOf(actorId: string): OwnedService | undefined {
    const kind = serviceKindOf(actorId);
    return kind === undefined ? undefined : this.#services.get(kind);
  }

  async #rejoin(): Promise<void> {
    await this.#membership.close().catch(() => undefined);
    const joined = await Membership.joinAgain({ pool: this.#pool, nodeId: this.nodeId, address: this.#options.advertise, schema: this.#schema, ...timing(this.#options) }, () => this.#closed);
    if (joined === undefined) return;
    this.#membership = joined;
    this.#leases = new Leases({ pool: this.#pool, membership: joined, schema: this.#schema });
    this.#watchMembership();
  }

  /**
   * What the inspector's cluster view reads (src/cluster/inspector-view.ts): the cluster's tables, the
   * key between nodes, and the way to an actor's holder (claiming it when no live node holds it).
   */
  get inspectorAccess(): { pool: pg.Pool; schema: string; key: string; route(actorId: string): ReturnType<Ownership["route"]>; forget(actorId: string): void } {
    return { pool: this.#pool, schema: this.#schema, key: this.#key, route: (actorId) => this.#ownership.route(actorId), forget: (actorId) => this.#ownership.forget(actorId) };
  }
}

function notAnAgent(kind: string): Error {
  return new Error(`${kind} is a cluster service: it is called, not requested or started`);
}
