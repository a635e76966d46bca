/**
 * The queue contracts (producer and consumer) on the cluster's Postgres store, and what is particular
 * to it: the messages are rows of `<schema>.queue_messages`, a second store on the same tables (a
 * restart) goes on where the first stopped, and the backlogs /metrics reads are the table's.
 */
import type { Pool } from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { migrateQueues, openPostgresQueueStore, queueCountsTableName, queueTableName, type PostgresQueueStore } from "../../../src/cluster/bindings/index.ts";
import { createClusterPool } from "../../../src/cluster/pg/pool.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { consumerContract } from "../../queues/consumer-contract.ts";
import { QueueHarness, START, consumer } from "../../queues/helpers.ts";
import { producerContract } from "../../queues/producer-contract.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";

describe.skipIf(postgresUnavailable() !== undefined)("queues on the cluster's Postgres", () => {
  const pg = pgFixture("queue_contract");

  // One pool and one schema for the file, the table emptied before each test: connecting and migrating
  // for every test would cost most of the run.
  let pool: Pool;
  let schema: string;
  beforeAll(async () => {
    pool = createClusterPool({ connectionString: pg.url, max: 8 });
    schema = await pg.schema(pool);
    await migrateQueues(pool, { schema });
  });
  afterAll(() => pool.end());

  async function harness(): Promise<QueueHarness<PostgresQueueStore> & { schema: string }> {
    await pool.query(`DELETE FROM ${queueTableName(schema)}; DELETE FROM ${queueCountsTableName(schema)}`);
    const fx = new QueueHarness((clock) => openPostgresQueueStore(pool, { clock, schema }));
    pg.track({ close: () => fx.dispose() });
    return Object.assign(fx, { schema });
  }

  describe("producer contract", () => producerContract(harness));
  describe("consumer contract", () => consumerContract(harness));

  describe("the store", () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it("keeps the messages in the cluster's table, not in a local file", async () => {
      const fx = await harness();
      await fx.producer().send({ task: 1 });
      const { rows } = await pool.query(`SELECT queue, content_type, size, sent_at, attempts, lease FROM ${queueTableName(fx.schema)}`);
      expect(rows).toEqual([{ queue: "jobs", content_type: "json", size: 10, sent_at: String(START), attempts: 0, lease: null }]);
    });

    it("goes on after a restart: a new store on the same tables delivers what the first kept", async () => {
      await harness(); // an empty table
      const clock = new VirtualClock({ start: START });
      pg.track({ close: () => clock.dispose() });
      const first = openPostgresQueueStore(pool, { clock, schema });
      await first.enqueue([{ queue: "jobs", id: "a".repeat(32), contentType: "text", body: new TextEncoder().encode("kept"), sentAt: START, visibleAt: START }]);
      await first.close();
      const fx = new QueueHarness((c) => openPostgresQueueStore(pool, { clock: c, schema }), () => {}, clock);
      pg.track({ close: () => fx.dispose() });
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual(["kept"]);
    });

    it("reports every queue's backlog at once, from the table (what /metrics reads)", async () => {
      const fx = await harness();
      await fx.producer("a").sendBatch([{ body: 1 }, { body: 22 }]);
      await fx.producer("b").send("x");
      expect(fx.store.backlogs()).toEqual([]); // the first call starts the first look
      await waitFor("the backlogs", () => fx.store.backlogs().length === 2);
      expect([...fx.store.backlogs()].sort((x, y) => x.queue.localeCompare(y.queue))).toEqual([
        { queue: "a", messages: 2, bytes: 3 },
        { queue: "b", messages: 1, bytes: 3 },
      ]);
    });

    it("fails a send clearly when Postgres cannot be reached, storing nothing, and the consumer waits", async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const unreachable = createClusterPool({ connectionString: "postgres://hearth@127.0.0.1:1/none", connectionTimeoutMillis: 500 });
      pg.track({ close: () => unreachable.end() });
      const fx = new QueueHarness((clock) => openPostgresQueueStore(unreachable, { clock, schema }));
      pg.track({ close: () => fx.dispose() });
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await expect(fx.producer().send("lost")).rejects.toThrow(/^Queue send failed: the message could not be stored: .*ECONNREFUSED/);
      await waitFor("the consumer's failed look", () => errors.mock.calls.some((call) => call[0] === '[hearth] queue "jobs": could not read the queue:'));
      expect(fx.deliveries).toEqual([]);
    });

    it("refuses a lease or poll that is not a positive number of ms", () => {
      expect(() => openPostgresQueueStore(pool, { leaseMs: 0 })).toThrow("PostgresQueueStore: leaseMs must be a positive number of ms, got 0");
      expect(() => openPostgresQueueStore(pool, { pollMs: Number.NaN })).toThrow("PostgresQueueStore: pollMs must be a positive number of ms, got NaN");
    });
  });
});
