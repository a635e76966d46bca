import type pg from "pg";
import { DEFAULT_SCHEMA } from "../pg/schema.ts";
import { systemClock, type Clock } from "../../time/clock.ts";
import { PostgresQueueStore } from "./queue-store.ts";

/** Options of {@link openPostgresQueueStore}. */
export interface PostgresQueueOptions {
  /** Time source of send timestamps, delays, leases and retention; default the system clock. */
  clock?: Clock;
  /** The cluster's Postgres schema; default "hearth". */
  schema?: string;
  /** How long a node holds a batch without renewing it before others may deliver it again (ms); default 30,000. */
  leaseMs?: number;
  /** How often every queue is looked at in case a notification was missed (ms); default 3,000. */
  pollMs?: number;
}

/**
 * The queues of a cluster, kept in its Postgres (table `<schema>.queue_messages`, created on first use
 * if missing): pass it wherever `openQueueStore` would go (QueueProducer, createQueueProducers,
 * QueueConsumers). A message sent on any node is delivered once to one of the nodes consuming its
 * queue (at least once if a node dies mid-batch). Once consumers start, holds one pool connection for LISTEN; `close()`
 * commits pending sends and gives it back, and must be awaited before the pool ends.
 *
 * @example
 * const pool = createClusterPool({ connectionString: "postgres://hearth@db/hearth" });
 * const store = openPostgresQueueStore(pool, { schema: "hearth" });
 * const bindings = createQueueProducers(store, config.queueProducers);
 * const consumers = new QueueConsumers({ store, consumers: config.queueConsumers, deliver });
 * consumers.start();
 * // shutdown
 * await consumers.close();
 * await store.close();
 * await pool.end();
 */
export function openPostgresQueueStore(pool: pg.Pool, options: PostgresQueueOptions = {}): PostgresQueueStore {
  return new PostgresQueueStore({
    pool,
    schema: options.schema ?? DEFAULT_SCHEMA,
    clock: options.clock ?? systemClock,
    leaseMs: options.leaseMs,
    pollMs: options.pollMs,
  });
}
