import type { ActorHistory } from "./log.ts";
import { isConnectionError, PostgresUnreachableError } from "./pg/errors.ts";

/** Where an actor's events go: this node, or the node that holds its lease. */
export type Route = { here: true } | { here: false; nodeId: string; address: string };

/**
 * A route found that this node cannot serve the actor now — it is not a live member (its membership
 * lapsed or was lost during each claim), or the actor is held by a node not reachable yet — and another
 * node may: the one asking looks again, as after a transient error ({@link isTransientRouteError}). A
 * {@link RouteFailedError} (the local file could not be rebuilt) is the request's answer.
 */
export class NotServedHereError extends Error {
  override readonly name = "NotServedHereError";
}

/**
 * A route failed in a way that would fail the same way again: the local file of the actor could not be
 * rebuilt from its log. Asking again would only claim it once more (a new epoch) and fail alike, so the
 * node a request was sent to answers it as the request's failure (src/cluster/internal-routes.ts), where
 * a transient error (a lost connection, a statement or lock timeout) is answered "moved" and retried.
 */
export class RouteFailedError extends Error {
  override readonly name = "RouteFailedError";
}

/**
 * Whether a route's error may well not happen again: the node asking retries it ("moved") rather than
 * fail the request. True for a Postgres connection lost (or its statement unanswered in time), a
 * statement cancelled by its timeout, a lock not granted in time, a serialization failure or deadlock.
 */
export function isTransientRouteError(error: unknown): boolean {
  if (error instanceof RouteFailedError) return false;
  if (error instanceof NotServedHereError || error instanceof PostgresUnreachableError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && TRANSIENT_STATES.has(code)) return true;
  return isConnectionError(error);
}

/** SQLSTATEs of a statement that may well succeed when run again. */
const TRANSIENT_STATES = new Set([
  "57014", // query_canceled: statement_timeout (or a cancel)
  "55P03", // lock_not_available: lock_timeout, NOWAIT
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

/** What ownership needs from Postgres (src/cluster/pg/): leases and the log. */
export interface OwnershipStore {
  lookup(actorId: string): Promise<{ owner: string | undefined; address: string | undefined; alive: boolean }>;
  claim(actorId: string): Promise<{ claimed: true; epoch: number; head: number } | { claimed: false; owner: string; address: string | undefined }>;
  history(actorId: string): Promise<ActorHistory>;
  /** Whether this node may serve at all (its membership is valid by its own clock). */
  readonly valid: boolean;
  readonly nodeId: string;
}

/** An actor this node holds: the epoch its appends carry, and its epoch_start marker (its first entry comes after). */
export interface OwnedActor {
  readonly epoch: number;
  readonly startSeq: number;
}

/** A held actor and the last period of use that reached it (see {@link Ownership.endUsePeriod}). */
interface HeldActor extends OwnedActor {
  seen: number;
}

export interface OwnershipOptions {
  store: OwnershipStore;
  /** Makes the local file of `actorId` reflect `history`. */
  restore(actorId: string, history: ActorHistory): void;
  /**
   * Serves the local file of `actorId`, just claimed with its marker at `markerSeq`, as it is when it
   * already reflects the log before that marker: true when it does (the history is not read).
   */
  resumeAsIs?(actorId: string, markerSeq: number): boolean;
  /**
   * How long an owner elsewhere, once looked up, is trusted without looking again; about the lease
   * TTL, so an owner that died without closing its connections is not sent to for long after peers
   * may take its agents over. Default 3,000 ms.
   */
  rememberOwnersForMs?: number;
}

/**
 * Which actors this node holds, and getting hold of one: look up its lease; if nobody live holds it,
 * claim it (epoch + 1, marker at head + 1), rebuild the local file from the log (unless it already
 * reflects the log: {@link OwnershipOptions.resumeAsIs}), and only then serve.
 * Concurrent routes of one actor share one lookup/claim.
 * @example
 * const route = await ownership.route("counter/a");
 * if (route.here) host.request("Counter", "a", request); else forward(route.address, request);
 */
export class Ownership {
  readonly #store: OwnershipStore;
  readonly #restore: OwnershipOptions["restore"];
  readonly #resumeAsIs: NonNullable<OwnershipOptions["resumeAsIs"]>;
  readonly #owned = new Map<string, HeldActor>();
  readonly #inFlight = new Map<string, Promise<Route>>();
  /** Actors being handed to another node: their routes wait until the lease has moved. */
  readonly #leaving = new Map<string, Promise<void>>();
  /**
   * Owners elsewhere, as last looked up (monotonic ms): used until forwarding to one fails or is
   * answered "moved", or the look is older than {@link OwnershipOptions.rememberOwnersForMs}.
   */
  readonly #remote = new Map<string, { route: Route & { here: false }; at: number }>();
  readonly #rememberForMs: number;
  /** Counts {@link dropAll}s: a claim made before the last one belongs to a membership that is gone. */
  #generation = 0;
  /** Counts {@link endUsePeriod}'s looks: a held actor reached (owns, route) since the last look has `seen` equal to it. */
  #period = 0;

  constructor(options: OwnershipOptions) {
    this.#store = options.store;
    this.#restore = options.restore;
    this.#resumeAsIs = options.resumeAsIs ?? (() => false);
    this.#rememberForMs = options.rememberOwnersForMs ?? 3_000;
    if (!(this.#rememberForMs >= 0)) throw new RangeError(`rememberOwnersForMs must be a number of milliseconds ≥ 0, got ${this.#rememberForMs}`);
  }

  /**
   * This node holds `actorId` now (and may serve it). Synchronous: the placement's fast path. Every
   * event that wakes an agent or is routed to it asks this, so it also counts as the actor's use.
   */
  owns(actorId: string): boolean {
    if (!this.#store.valid) return false;
    const held = this.#owned.get(actorId);
    if (held === undefined) return false;
    held.seen = this.#period;
    return true;
  }

  /** Whether this node holds `actorId` now and may serve it, without counting that as a use (a status check). */
  holds(actorId: string): boolean {
    return this.#store.valid && this.#owned.has(actorId);
  }

  /** The lease this node holds for `actorId`, if any. */
  held(actorId: string): OwnedActor | undefined {
    return this.#owned.get(actorId);
  }

  /**
   * Ends a period of use and returns the held actors nothing reached in it — no {@link owns} or
   * {@link route} since the last call — that are not `inUse` now; those `inUse` count as reached in the
   * new period. So an actor is listed from one to two periods after its last use.
   */
  endUsePeriod(inUse: (actorId: string) => boolean): string[] {
    const ended = this.#period++;
    const idle: string[] = [];
    for (const [actorId, held] of this.#owned) {
      if (inUse(actorId)) held.seen = this.#period;
      else if (held.seen < ended) idle.push(actorId);
    }
    return idle;
  }

  /**
   * Gives `actorId` up if nothing reached it since {@link endUsePeriod} listed it: it is no longer held here,
   * and its routes wait until `leaving` settles (its lease is given back). Returns the lease it was held
   * under, or undefined when it was reached meanwhile (or is no longer held) and stays.
   */
  leaveIfIdle(actorId: string, leaving: Promise<void>): OwnedActor | undefined {
    const held = this.#owned.get(actorId);
    if (held === undefined || held.seen >= this.#period) return undefined;
    this.handOver(actorId, leaving);
    return held;
  }

  /**
   * Holds `actorId` again under the lease it was given up with ({@link leaveIfIdle}) when giving the
   * lease back failed: Postgres may still name this node, and nobody else could claim it meanwhile.
   * (Had the release gone through after all, the next append is fenced and the actor claimed anew.)
   */
  holdAgain(actorId: string, lease: OwnedActor): void {
    this.#owned.set(actorId, { epoch: lease.epoch, startSeq: lease.startSeq, seen: this.#period });
  }

  get count(): number {
    return this.#owned.size;
  }

  /** Entries kept per actor: held here, and owners elsewhere still trusted (stale ones are dropped first). */
  get sizes(): { owned: number; remembered: number } {
    this.#forgetStale();
    return { owned: this.#owned.size, remembered: this.#remote.size };
  }

  /**
   * The node that holds `actorId` now, by a fresh look at its lease (undefined when no live node
   * does). Read-only: it never claims, and leaves what is remembered as it is — for a check of
   * whether an owner still holds an actor, which must not take the actor here.
   */
  async holder(actorId: string): Promise<string | undefined> {
    if (this.holds(actorId)) return this.#store.nodeId;
    const lease = await this.#store.lookup(actorId);
    return lease.alive && lease.owner !== undefined ? lease.owner : undefined;
  }

  /**
   * Where `actorId`'s events go, claiming it when nobody live holds it. An owner elsewhere found by a
   * recent look is answered without asking Postgres again (see {@link forget} for a fresh look).
   */
  route(actorId: string): Promise<Route> {
    if (this.owns(actorId)) return Promise.resolve({ here: true });
    const leaving = this.#leaving.get(actorId);
    if (leaving !== undefined) return leaving.then(() => this.route(actorId));
    const known = this.#remote.get(actorId);
    if (known !== undefined && this.#store.valid && performance.now() - known.at < this.#rememberForMs) return Promise.resolve(known.route);
    let pending = this.#inFlight.get(actorId);
    if (pending === undefined) {
      pending = this.#resolve(actorId).finally(() => this.#inFlight.delete(actorId));
      this.#inFlight.set(actorId, pending);
    }
    return pending;
  }

  /** Forwarding to the owner last looked up failed or was answered "moved": look it up again next time. */
  forget(actorId: string): void {
    this.#remote.delete(actorId);
  }

  /** The lease moved on (an append was fenced) or is given up: events go elsewhere from now on. */
  drop(actorId: string): void {
    this.#owned.delete(actorId);
  }

  /**
   * Hands `actorId` over: this node stops serving it at once, and its routes wait until `moving`
   * settles (the lease is with its next holder), so nothing here claims it back meanwhile.
   */
  handOver(actorId: string, moving: Promise<void>): void {
    this.#owned.delete(actorId);
    this.#remote.delete(actorId);
    const settled = moving.then(
      () => undefined,
      () => undefined,
    );
    this.#leaving.set(actorId, settled);
    void settled.then(() => {
      if (this.#leaving.get(actorId) === settled) this.#leaving.delete(actorId);
    });
  }

  /** This node's membership was lost: it holds nothing any more (a new incarnation claims again). */
  dropAll(): string[] {
    this.#generation++;
    const ids = [...this.#owned.keys()];
    this.#owned.clear();
    return ids;
  }

  #remember(actorId: string, route: Route & { here: false }): Route {
    this.#remote.delete(actorId);
    this.#remote.set(actorId, { route, at: performance.now() });
    if (this.#remote.size > MAX_REMEMBERED_OWNERS) this.#remote.delete(this.#remote.keys().next().value!);
    this.#forgetStale();
    return route;
  }

  /**
   * Drops the owners looked up longer ago than they are trusted (never used again): the map is in the
   * order of the looks, so only its stale head is walked.
   */
  #forgetStale(): void {
    const before = performance.now() - this.#rememberForMs;
    for (const [actorId, known] of this.#remote) {
      if (known.at >= before) return;
      this.#remote.delete(actorId);
    }
  }

  /**
   * Every statement is bounded (src/cluster/pg/pool.ts), so this settles and the next route starts
   * afresh: a lost connection (one gone silent, reset) is tried once more on another, then fails (a
   * node that sent the request here retries it later: {@link isTransientRouteError}).
   */
  async #resolve(actorId: string): Promise<Route> {
    let retried = false;
    let voided = 0;
    for (;;) {
      let route: Route | undefined;
      try {
        route = await this.#resolveOnce(actorId);
      } catch (error) {
        if (retried || !isConnectionError(error)) throw error;
        retried = true;
        continue;
      }
      if (route !== undefined) return route;
      if (++voided >= MAX_VOIDED_CLAIMS) throw new NotServedHereError(`${actorId}: this node (${this.#store.nodeId}) lost its membership during each of ${voided} claims; it does not serve it`);
    }
  }

  /**
   * One lookup, claim and rebuild. Undefined when the claim was made void on the way: this node lost
   * its membership ({@link dropAll}) while the history was read, so the lease it took belongs to an
   * incarnation that no longer counts and another node may hold the agent by now.
   */
  async #resolveOnce(actorId: string): Promise<Route | undefined> {
    // A heartbeat late under load makes a node invalid by its own clock until the next renewal lands:
    // wait a little for it rather than fail the request at once (nothing is served meanwhile).
    for (const deadline = performance.now() + VALIDITY_WAIT_MS; !this.#store.valid && performance.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!this.#store.valid) throw new NotServedHereError(`this node (${this.#store.nodeId}) is not a live member of the cluster: it cannot serve ${actorId}`);
    // Held here all along: the route was asked while this node's validity lapsed for a moment (a late
    // heartbeat). Its lease is still this node's (a membership lost drops every agent): serve it, never
    // claim it again — a new epoch would rebuild the file from the log over the open database.
    if (this.#owned.has(actorId)) return { here: true };
    const lease = await this.#store.lookup(actorId);
    if (this.#owned.has(actorId)) return this.#heldHere(actorId);
    if (lease.alive && lease.owner !== undefined && lease.owner !== this.#store.nodeId) return this.#remember(actorId, remote(actorId, lease.owner, lease.address));
    const generation = this.#generation;
    const claim = await this.#store.claim(actorId);
    if (!claim.claimed) return this.#remember(actorId, remote(actorId, claim.owner, claim.address));
    this.#remote.delete(actorId);
    // Lost meanwhile: the claim (or the history read after it) is of a lease this node no longer holds
    // (it joins again as a new incarnation).
    if (generation !== this.#generation) return undefined;
    if (!this.#resumeAsIs(actorId, claim.head)) {
      const history = await this.#store.history(actorId);
      if (generation !== this.#generation) return undefined;
      try {
        this.#restore(actorId, history);
      } catch (error) {
        throw new RouteFailedError(`${actorId}: its local file could not be rebuilt from the log: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    this.#owned.set(actorId, { epoch: claim.epoch, startSeq: claim.head, seen: this.#period });
    return { here: true };
  }

  /** `actorId` became held here while its route was awaited: here, when this node may serve now. */
  #heldHere(actorId: string): Route {
    if (!this.#store.valid) throw new NotServedHereError(`this node (${this.#store.nodeId}) is not a live member of the cluster: it cannot serve ${actorId}`);
    return { here: true };
  }
}

/** How long a route waits for this node's membership to be valid again before failing. */
const VALIDITY_WAIT_MS = 2_000;

/** Claims of one route made void by lost memberships before the route gives up. */
const MAX_VOIDED_CLAIMS = 3;

/** Remote owners remembered at most (the oldest looked-up are forgotten first). */
const MAX_REMEMBERED_OWNERS = 100_000;

function remote(actorId: string, nodeId: string, address: string | undefined): Route & { here: false } {
  if (address === undefined) throw new NotServedHereError(`${actorId} is held by node ${nodeId}, whose address is unknown`);
  return { here: false, nodeId, address };
}
