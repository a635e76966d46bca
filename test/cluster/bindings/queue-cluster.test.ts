/**
 * Queues across two nodes: two stores on two pools (as two Hearth processes would have) sharing one
 * schema's queue table. Each node has its own VirtualClock, so a node can be "paused" (its clock and
 * its lease renewals stand still) while the other's time moves past the lease.
 */
import type pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { migrateQueues, openPostgresQueueStore, queueChannel, queueCountsTableName, queueTableName, type PostgresQueueStore } from "../../../src/cluster/bindings/index.ts";
import type { QueueConsumerConfig } from "../../../src/config/types.ts";
import type { LeasedMessage } from "../../../src/queues/backend.ts";
import { QueueConsumers } from "../../../src/queues/consumers.ts";
import { QueueProducer } from "../../../src/queues/producer.ts";
import type { MessageBatch } from "../../../src/queues/types.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { START, consumer } from "../../queues/helpers.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";

const LEASE_MS = 3_000;
/** Longer than any test: only notifications (or a reconnect) wake a consumer, unless a test says otherwise. */
const NO_POLL_MS = 600_000;

interface Node {
  name: string;
  pool: pg.Pool;
  clock: VirtualClock;
  store: PostgresQueueStore;
  producer(queue?: string): QueueProducer;
  /** Starts consumers that hand each batch to `deliver` (tagged with this node's name). */
  consume(configs: QueueConsumerConfig[], deliver: (node: string, batch: MessageBatch) => Promise<void> | void): QueueConsumers;
}

describe.skipIf(postgresUnavailable() !== undefined)("queues shared by the nodes of a cluster", () => {
  const pg = pgFixture("queue_cluster");

  async function cluster(options: { pollMs?: number } = {}): Promise<[Node, Node, string]> {
    const setup = pg.pool();
    const schema = await pg.schema(setup);
    await migrateQueues(setup, { schema });
    const node = (name: string): Node => {
      const pool = pg.pool({ applicationName: `hearth-${name}` });
      const clock = new VirtualClock({ start: START });
      const store = openPostgresQueueStore(pool, { clock, schema, leaseMs: LEASE_MS, pollMs: options.pollMs ?? NO_POLL_MS });
      let consumers: QueueConsumers | undefined;
      pg.track({
        close: async () => {
          await consumers?.close();
          await store.close();
          clock.dispose();
        },
      });
      return {
        name,
        pool,
        clock,
        store,
        producer: (queue = "jobs") => new QueueProducer({ store, queue }),
        consume(configs, deliver) {
          consumers = new QueueConsumers({ store, consumers: configs, deliver: async (batch) => deliver(name, batch) });
          consumers.start();
          return consumers;
        },
      };
    };
    return [node("a"), node("b"), schema];
  }

  /** Rows of the queue table: seq order, with the lease holder. */
  async function rows(pool: pg.Pool, schema: string): Promise<{ queue: string; attempts: number; lease: string | null }[]> {
    const result = await pool.query(`SELECT queue, attempts, lease FROM ${queueTableName(schema)} ORDER BY seq`);
    return result.rows;
  }

  it("delivers a message sent on one node to the consumer on the other, woken by a notification", async () => {
    const [a, b] = await cluster();
    const got: string[] = [];
    b.consume([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })], (node, batch) => {
      got.push(`${node}:${String(batch.messages[0]!.body)}`);
    });
    await a.producer().send("from a");
    await waitFor("the delivery on b", () => got.length === 1);
    expect(got).toEqual(["b:from a"]);
    await waitFor("the ack", async () => (await a.producer().metrics()).backlogCount === 0);
  });

  it("shares a queue's messages between the nodes' consumers, never one message to both at once", async () => {
    const [a, b] = await cluster();
    const inProgress = new Set<string>();
    const overlaps: string[] = [];
    const deliveries = new Map<string, number>();
    const batchesBy = { a: 0, b: 0 };
    const handle = async (node: string, batch: MessageBatch) => {
      batchesBy[node as "a" | "b"]++;
      for (const message of batch.messages) {
        if (inProgress.has(message.id)) overlaps.push(message.id);
        inProgress.add(message.id);
        deliveries.set(String(message.body), (deliveries.get(String(message.body)) ?? 0) + 1);
      }
      // Each node holds its first batch until the other has one too: both work on the queue at once.
      await waitFor("a batch on each node", () => batchesBy.a > 0 && batchesBy.b > 0);
      for (const message of batch.messages) inProgress.delete(message.id);
    };
    const settings = consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 0, maxConcurrency: 2 });
    a.consume([settings], handle);
    b.consume([settings], handle);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      const from = i % 2 === 0 ? a : b;
      sends.push(from.producer().sendBatch(Array.from({ length: 20 }, (_, k) => ({ body: `m${i * 20 + k}` }))));
    }
    await Promise.all(sends);
    await waitFor("every message", () => deliveries.size === 200);
    await waitFor("an empty queue", async () => (await a.producer().metrics()).backlogCount === 0);
    expect(overlaps).toEqual([]);
    expect([...deliveries.values()].every((count) => count === 1)).toBe(true);
    expect(batchesBy.a).toBeGreaterThan(0);
    expect(batchesBy.b).toBeGreaterThan(0);
  });

  it("delivers again, on the other node, the batch of a node that stopped without settling once its lease lapsed", async () => {
    const [a, b, schema] = await cluster();
    await a.producer().sendBatch([{ body: "x" }, { body: "y" }, { body: "z" }]);
    // Node a takes the batch and dies: no settle, no renewal.
    const taken = await a.store.lease("jobs", a.clock.now(), 10);
    expect(taken.map((m) => m.attempts)).toEqual([1, 1, 1]);
    await a.store.close();
    const got: { node: string; body: unknown; attempts: number }[] = [];
    b.consume([consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 0 })], (node, batch) => {
      for (const message of batch.messages) got.push({ node, body: message.body, attempts: message.attempts });
    });
    await waitFor("b to see the lease's deadline", async () => (await b.store.ready("jobs", b.clock.now(), 10)).next === START + LEASE_MS);
    await b.clock.advance(LEASE_MS - 1);
    await b.clock.settle();
    expect(got).toEqual([]); // the lease still holds
    await b.clock.advance(1);
    await waitFor("the redelivery", () => got.length === 3);
    expect(got).toEqual(["x", "y", "z"].map((body) => ({ node: "b", body, attempts: 2 })));
    await waitFor("the ack", async () => (await rows(b.pool, schema)).length === 0);
  });

  it("keeps a batch in flight on its node while the node renews the lease, however slow the handler", async () => {
    const [a, b, schema] = await cluster();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const got: string[] = [];
    a.consume([consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 0 })], async (node, batch) => {
      got.push(`${node}:${batch.messages.length}`);
      await released;
    });
    await a.producer().sendBatch([{ body: 1 }, { body: 2 }]);
    await waitFor("the batch on a", () => got.length === 1);
    b.consume([consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 0 })], (node, batch) => {
      got.push(`${node}:${batch.messages.length}`);
    });
    // Both clocks move three leases on, a third of a lease at a time: a renews before each deadline.
    for (let step = 0; step < 9; step++) {
      await a.clock.advance(LEASE_MS / 3);
      await b.clock.advance(LEASE_MS / 3);
    }
    await b.clock.settle();
    expect(got).toEqual(["a:2"]);
    release();
    await waitFor("the ack", async () => (await rows(a.pool, schema)).length === 0);
    expect(got).toEqual(["a:2"]);
  });

  it("dead-letters, without delivering it again, a message whose max_retries + 1 deliveries all ended with their node", async () => {
    const [a, b] = await cluster();
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await a.producer().send("poison");
    // max_retries 1: two deliveries, each by a node that died with it (its lease lapsed unrenewed).
    expect((await a.store.lease("jobs", START, 10)).map((m) => m.attempts)).toEqual([1]);
    expect((await a.store.lease("jobs", START + LEASE_MS, 10)).map((m) => m.attempts)).toEqual([2]);
    await a.store.close();
    await b.clock.advance(2 * LEASE_MS);
    await b.producer().send("fine");
    const got: string[] = [];
    b.consume(
      [consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: "dlq" }), consumer("dlq", { maxBatchSize: 10, maxBatchTimeout: 0 })],
      (_node, batch) => {
        for (const message of batch.messages) got.push(`${batch.queue}:${String(message.body)}${message.attempts}`);
      },
    );
    await waitFor("both deliveries", () => got.length === 2);
    expect(got.sort()).toEqual(["dlq:poison1", "jobs:fine1"]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/moved to dead letter queue "dlq" without being delivered again: it has had its 2 deliveries \(max_retries 1 \+ 1\)/));
    await waitFor("an empty queue", async () => (await b.producer().metrics()).backlogCount === 0);
  });

  it("changes nothing when a node settles a batch whose lease it lost", async () => {
    const [a, b, schema] = await cluster();
    await a.producer().sendBatch([{ body: "acked late" }, { body: "retried late" }, { body: "dead late" }]);
    const stale = await a.store.lease("jobs", a.clock.now(), 10);
    // Node a is paused past its lease; node b takes the messages.
    await b.clock.advance(LEASE_MS);
    const fresh = await b.store.lease("jobs", b.clock.now(), 10);
    expect(fresh.map((m) => m.attempts)).toEqual([2, 2, 2]);
    const [ack, retry, dead] = stale as [LeasedMessage, LeasedMessage, LeasedMessage];
    await a.store.settle("jobs", { acked: [ack], retried: [{ message: retry, visibleAt: a.clock.now() }], deadLettered: [{ message: dead, queue: "dlq" }], dropped: [] });
    const held = (await rows(a.pool, schema)).map((row) => ({ ...row, lease: row.lease === fresh[0]!.lease }));
    expect(held).toEqual([1, 2, 3].map(() => ({ queue: "jobs", attempts: 2, lease: true })));
    // The holder's settle applies.
    await b.store.settle("jobs", { acked: fresh, retried: [], deadLettered: [], dropped: [] });
    expect(await rows(a.pool, schema)).toEqual([]);
  });

  it("delivers a delayed message sent on one node at its visible time on the other", async () => {
    const [a, b] = await cluster();
    const got: number[] = [];
    const nextLooks: number[] = [];
    const ready = b.store.ready.bind(b.store);
    b.store.ready = async (...args) => {
      const found = await ready(...args);
      if (found.next !== undefined) nextLooks.push(found.next);
      return found;
    };
    b.consume([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })], () => {
      got.push(b.clock.now());
    });
    await a.producer().send("later", { delaySeconds: 60 });
    // b learns of it by the notification, and waits for its time.
    await waitFor("b to see the message's time", () => nextLooks.includes(START + 60_000));
    await b.clock.advance(59_999);
    await b.clock.settle();
    expect(got).toEqual([]);
    await b.clock.advance(1);
    await waitFor("the delivery", () => got.length === 1);
    expect(got).toEqual([START + 60_000]);
  });

  it("finds messages whose notification was missed by its poll", async () => {
    const [a, b, schema] = await cluster({ pollMs: 50 });
    const got: unknown[] = [];
    b.consume([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })], (_node, batch) => {
      got.push(batch.messages[0]!.body);
    });
    // Written without NOTIFY, as if the notification had been lost.
    await a.pool.query(
      `INSERT INTO ${queueTableName(schema)} (queue, id, content_type, body, size, sent_at, available_at) VALUES ('jobs', $1, 'text', $2, 6, $3, $3)`,
      ["c".repeat(32), Buffer.from("silent"), START],
    );
    await waitFor("the delivery by the poll", () => got.length === 1);
    expect(got).toEqual(["silent"]);
  });

  it("listens again after losing its LISTEN connection, and looks at every queue then", async () => {
    const [a, b, schema] = await cluster();
    const got: unknown[] = [];
    b.consume([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })], (_node, batch) => {
      got.push(batch.messages[0]!.body);
    });
    const listening = `SELECT pid FROM pg_stat_activity WHERE application_name = 'hearth-b' AND query LIKE 'LISTEN%'`;
    await waitFor("b listening", async () => (await a.pool.query(listening)).rowCount === 1);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await a.pool.query(`SELECT pg_terminate_backend(pid) FROM (${listening}) AS l`);
    await a.pool.query(
      `INSERT INTO ${queueTableName(schema)} (queue, id, content_type, body, size, sent_at, available_at) VALUES ('jobs', $1, 'text', $2, 5, $3, $3)`,
      ["d".repeat(32), Buffer.from("while"), START],
    );
    await waitFor("the delivery after the reconnect", () => got.length === 1);
    await a.producer().send("after");
    await waitFor("a notified delivery", () => got.length === 2);
    expect(got).toEqual(["while", "after"]);
    errors.mockRestore();
  });

  it("notifies the other nodes of sent, retried and dead-lettered messages, by queue", async () => {
    const [a, b, schema] = await cluster();
    const listener = await b.pool.connect();
    pg.track({ close: () => listener.release() });
    const heard: string[] = [];
    listener.on("notification", (message) => heard.push(message.payload ?? ""));
    await listener.query(`LISTEN "${queueChannel(schema)}"`);
    await a.producer().sendBatch([{ body: 1 }, { body: 2 }]);
    await waitFor("the send's notification", () => heard.length === 1);
    const [retry, dead] = (await a.store.lease("jobs", a.clock.now(), 10)) as [LeasedMessage, LeasedMessage];
    await a.store.settle("jobs", { acked: [], retried: [{ message: retry, visibleAt: a.clock.now() + 1000 }], deadLettered: [{ message: dead, queue: "dlq" }], dropped: [] });
    await waitFor("the settle's notifications", () => heard.length === 3);
    expect(heard.slice(1).sort()).toEqual(["dlq", "jobs"]);
    expect(heard[0]).toBe("jobs");
  });

  it("counts a queue's backlog across nodes (sent on one, settled on the other), and folds the counters without changing it", async () => {
    const [a, b, schema] = await cluster();
    await a.producer().sendBatch([{ body: "ack" }, { body: "dead" }, { body: "kept" }]);
    const [ack, dead] = (await b.store.lease("jobs", b.clock.now(), 2)) as [LeasedMessage, LeasedMessage];
    await b.store.settle("jobs", { acked: [ack], retried: [], deadLettered: [{ message: dead, queue: "dlq" }], dropped: [] });
    const expected = [
      { backlogCount: 1, backlogBytes: 6, oldestMessageTimestamp: new Date(START) },
      { backlogCount: 1, backlogBytes: 6, oldestMessageTimestamp: new Date(START) },
    ];
    expect([await a.store.metrics("jobs"), await a.store.metrics("dlq")]).toEqual(expected);
    const counters = async () => (await a.pool.query(`SELECT queue, writer, messages::int, bytes::int FROM ${queueCountsTableName(schema)} ORDER BY queue, writer`)).rows;
    expect((await counters()).length).toBe(3); // jobs: a's row and b's; dlq: b's
    await a.store.compactCounts();
    expect(await counters()).toEqual([
      { queue: "dlq", writer: "", messages: 1, bytes: 6 },
      { queue: "jobs", writer: "", messages: 1, bytes: 6 },
    ]);
    expect([await b.store.metrics("jobs"), await b.store.metrics("dlq")]).toEqual(expected);
    await b.producer().send("more");
    expect(await a.store.metrics("jobs")).toMatchObject({ backlogCount: 2, backlogBytes: 12 });
  });
});
