import { join } from "node:path";
import type { LeasedMessage, QueueBackend, ReadyMessages } from "../../queues/backend.ts";
import { openQueueStore, type QueueStore } from "../../queues/store.ts";
import type { QueueMetrics } from "../../queues/types.ts";
import { heldObjects, remoteCaller, type HeldFiles, type ServiceShard } from "./held.ts";

/** The service kind of the queues' store (one per process: `queues.sqlite`). */
export const QUEUES_SERVICE = "~queues";

/**
 * The queues shared by the threads of one process: the first thread opens `queues.sqlite`, stores
 * every thread's sends and runs the consumers (they are the worker's, once per process, as on one
 * thread); on the other threads producers send through a store that asks the first.
 * @example
 * const store = threadQueueStore(shard, { dataDir, durability: "relaxed", clock: systemClock })();
 * await createQueueProducers(store, config.queueProducers).JOBS.send({ id: 7 });
 */
export function threadQueueStore(shard: ServiceShard, files: HeldFiles): () => QueueBackend {
  if (!shard.holdsServices) return () => remoteQueues(shard, files);
  return () => {
    const store = openQueueStore({ path: join(files.dataDir, "queues.sqlite"), clock: files.clock, durability: files.durability });
    shard.serve(QUEUES_SERVICE, heldObjects(new Map<string, QueueStore>([["", store]]), ["enqueue", "metrics"], "queue store"));
    return store;
  };
}

/** Sends and a queue's metrics go to the first thread; consuming (lease, settle) happens only there. */
function remoteQueues(shard: ServiceShard, files: HeldFiles): QueueBackend {
  const call = remoteCaller(shard, QUEUES_SERVICE, "");
  const consumedElsewhere = (): never => {
    throw new Error("Queue consumers run on the first thread");
  };
  return {
    clock: files.clock,
    enqueue: (rows) => call<QueueMetrics>("enqueue", rows),
    onEnqueue: () => () => undefined,
    // The first thread reports every queue's backlog in /metrics.
    backlogs: () => [],
    metrics: (queue) => call<QueueMetrics>("metrics", queue),
    ready: (): ReadyMessages => consumedElsewhere(),
    lease: (): LeasedMessage[] => consumedElsewhere(),
    settle: (): void => consumedElsewhere(),
    close: () => undefined,
  };
}
