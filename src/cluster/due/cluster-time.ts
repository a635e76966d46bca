import type pg from "pg";
import { placeFromIndex } from "../../host/place.ts";
import type { PlacementTime } from "../../host/placement.ts";
import { wakesInTree } from "./file-wake.ts";
import { DueScanner, type DueScannerOptions } from "./scanner.ts";
import { DueWriter, type DueWriterOptions } from "./writer.ts";

export interface ClusterTimeOptions {
  pool: pg.Pool;
  schema?: string;
  nodeId: string;
  /** The node's data directory (where a taken-over agent's rebuilt file is read). */
  dataDir: string;
  /** The lease epoch this node holds for an actor now, undefined when it does not hold it. */
  epochOf(actorId: string): number | undefined;
  /** Whether this node may take actors over now (membership valid, not draining or closing). */
  active(): boolean;
  /** Gets hold of the actor (lookup, claim, rebuild of its file); true when this node holds it afterwards. */
  claim(actorId: string): Promise<boolean>;
  /** Starts the root agent stored as `slug`/`name` on this node's host. */
  start(slug: string, name: string): Promise<void>;
  /** Settings of the writer (batching and retries). */
  writer?: Pick<DueWriterOptions, "settleTimeoutMs" | "attemptTimeoutMs" | "report">;
  /** Settings of the scanner (interval, lookahead, grace, batch, parallel, retry). */
  scanner?: Pick<DueScannerOptions, "intervalMs" | "lookaheadMs" | "graceMs" | "batch" | "parallel" | "retryAfterMs" | "report">;
}

/**
 * Durable time for one cluster node: keeps `actor_due` current for the agents it holds (from its
 * host's due index, through the placement's {@link PlacementTime} hook), and takes over the agents of
 * dead nodes when they come due, so their alarms, schedules and fiber retries fire without a request.
 * An agent taken over gets an entry in this host's due index read from its rebuilt file; from then on
 * the host fires its exact times as on one node.
 *
 * @example
 * const time = new ClusterTime({ pool, nodeId, dataDir, epochOf, active, claim, start });
 * const placement = { owns, remote, time }; // the host calls time.attach(…) and time.nextWakeChanged(…)
 * time.start();
 */
export class ClusterTime implements PlacementTime {
  readonly writer: DueWriter;
  readonly scanner: DueScanner;
  readonly #options: ClusterTimeOptions;
  #wakes: { lower(slug: string, name: string, at: number): void } | undefined;

  constructor(options: ClusterTimeOptions) {
    this.#options = options;
    this.writer = new DueWriter({ pool: options.pool, ...(options.schema !== undefined ? { schema: options.schema } : {}), epochOf: options.epochOf, ...options.writer });
    this.scanner = new DueScanner({
      pool: options.pool,
      ...(options.schema !== undefined ? { schema: options.schema } : {}),
      nodeId: options.nodeId,
      active: options.active,
      take: (actorId) => this.take(actorId),
      ...options.scanner,
    });
  }

  // PlacementTime

  nextWakeChanged(slug: string, name: string, at: number | null): void {
    this.writer.set(`${slug}/${name}`, at);
  }

  attach(wakes: { lower(slug: string, name: string, at: number): void }): void {
    this.#wakes = wakes;
  }

  /** Whether the host has attached its due index (a host that has not cannot run taken-over agents' schedules). */
  get attached(): boolean {
    return this.#wakes !== undefined;
  }

  /** Starts scanning for dead nodes' due agents. */
  start(): void {
    this.scanner.start();
  }

  /**
   * This node has just rebuilt the files of `actorId` (`slug/name`) and its facets after claiming it:
   * their next wakes are read from the files and given to the host's due index (and the earliest to
   * `actor_due` under the new epoch). Call it for every claim, by a request as well as by the scanner.
   */
  adopted(actorId: string): void {
    const { slug, name } = split(actorId);
    let earliest: number | null = null;
    for (const { indexName, at } of wakesInTree(placeFromIndex(this.#options.dataDir, slug, name), Date.now())) {
      this.#wakes?.lower(slug, indexName, at);
      earliest = earliest === null ? at : Math.min(earliest, at);
    }
    this.writer.set(actorId, earliest);
  }

  /** Claims a dead node's due agent, points this host's due index at it and starts it (what the scanner does). */
  async take(actorId: string): Promise<void> {
    if (!(await this.#options.claim(actorId))) return;
    this.adopted(actorId);
    const { slug, name } = split(actorId);
    await this.#options.start(slug, name);
  }

  /** Resolves once the next wake set for `actorId` so far is in Postgres (see {@link DueWriter.settled}). */
  settled(actorId: string): Promise<void> {
    return this.writer.settled(actorId);
  }

  /** Stops scanning, waits for takes under way and sends the pending rows once. */
  async close(): Promise<void> {
    await this.scanner.stop();
    await this.writer.close();
  }
}

function split(actorId: string): { slug: string; name: string } {
  const slash = actorId.indexOf("/");
  if (slash <= 0) throw new Error(`actor id ${JSON.stringify(actorId)} is not of the form slug/name`);
  return { slug: actorId.slice(0, slash), name: actorId.slice(slash + 1) };
}
