/**
 * The platform bindings, workflows and triggers of a project shared by the threads of one process
 * (`hearth start --threads N`): the first thread holds their files and runs what happens once per
 * process; every other thread reaches them over its link to the first. See docs/decisions/0023.
 * @module
 */
import type { D1Database } from "../../d1/database.ts";
import type { RateLimitConfig } from "../../config/types.ts";
import type { Host } from "../../platform/host.ts";
import type { WorkflowPlacement } from "../../workflow/hosted-workflows.ts";
import type { KvNamespace } from "../../kv/namespace.ts";
import type { QueueBackend } from "../../queues/backend.ts";
import { threadD1Databases } from "./d1.ts";
import type { HeldFiles, ServiceShard } from "./held.ts";
import { threadKvNamespaces } from "./kv.ts";
import { threadQueueStore } from "./queues.ts";
import { threadRateLimits, type RateLimitBindings } from "./rate-limits.ts";
import { threadWorkflows } from "./workflows.ts";

export type { RateLimitBinding, RateLimitBindings } from "./rate-limits.ts";
export type { HeldFiles, ServiceShard } from "./held.ts";

/** The factories of one shard's shared bindings. */
export interface ThreadBindings {
  kvNamespace(id: string): KvNamespace;
  d1Database(databaseName: string): D1Database;
  queueStore(): QueueBackend;
  rateLimits(limits: readonly RateLimitConfig[]): RateLimitBindings;
  /** Where the host's workflows run (undefined on the first thread, which runs the engine). */
  workflows(): WorkflowPlacement | undefined;
  /** Queue consumers and cron triggers run once per process, on the first thread: true elsewhere. */
  eventsElsewhere: boolean;
}

/**
 * Every shared binding's factory for one shard, in the shape a runtime takes them. On the first
 * thread they open the files and serve them; elsewhere they ask the first thread.
 * @example
 * const shared = threadBindings(shard, { dataDir, durability: "relaxed", clock: systemClock }, () => host);
 * const cache = shared.kvNamespace("4f1c…");
 */
export function threadBindings(shard: ServiceShard, files: HeldFiles, host: () => Host | undefined): ThreadBindings {
  return {
    kvNamespace: threadKvNamespaces(shard, files),
    d1Database: threadD1Databases(shard, files),
    queueStore: threadQueueStore(shard, files),
    rateLimits: threadRateLimits(shard, files),
    workflows: () => threadWorkflows(shard, host),
    eventsElsewhere: !shard.holdsServices,
  };
}
