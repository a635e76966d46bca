/**
 * What every queue store must do for the producer binding: send / sendBatch / metrics, content types,
 * delays, and every limit and error text. Run with the SQLite store (producer.test.ts) and the
 * cluster's Postgres store (test/cluster/bindings/queue-postgres.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QUEUE_LIMITS } from "../../src/queues/limits.ts";
import { createQueueProducers } from "../../src/queues/producer.ts";
import { START, consumer, type QueueHarness } from "./helpers.ts";

/** Registers the producer contract; `make` opens a fresh, empty store on a VirtualClock at START. */
export function producerContract(make: () => QueueHarness | Promise<QueueHarness>): void {
  let fx: QueueHarness;
  beforeEach(async () => {
    fx = await make();
  });
  afterEach(async () => {
    await fx.dispose();
  });

  describe("send", () => {
    it("stores the message before resolving, and returns the queue's metrics", async () => {
      const jobs = fx.producer("jobs");
      const response = await jobs.send({ task: "resize" });
      expect(response).toEqual({
        metadata: { metrics: { backlogCount: 1, backlogBytes: '{"task":"resize"}'.length, oldestMessageTimestamp: new Date(START) } },
      });
    });

    it("keeps queues apart and reports an empty queue without a timestamp", async () => {
      await fx.producer("a").send(1);
      await fx.producer("a").send(22);
      expect(await fx.producer("a").metrics()).toEqual({ backlogCount: 2, backlogBytes: 3, oldestMessageTimestamp: new Date(START) });
      expect(await fx.producer("b").metrics()).toEqual({ backlogCount: 0, backlogBytes: 0 });
    });

    it("groups the sends of one turn in one transaction and resolves them all", async () => {
      const jobs = fx.producer();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => jobs.send(i)));
      expect(results.at(-1)!.metadata.metrics.backlogCount).toBe(50);
      fx.consumers([consumer("jobs", { maxBatchSize: 100, maxBatchTimeout: 0 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it("round-trips every content type", async () => {
      const jobs = fx.producer();
      const bytes = new Uint8Array([1, 2, 255]);
      const when = new Date(START + 5);
      await jobs.send({ nested: [1, "two", null] });
      await jobs.send("hello ☃", { contentType: "text" });
      await jobs.send(bytes, { contentType: "bytes" });
      await jobs.send(bytes.buffer, { contentType: "bytes" });
      await jobs.send({ when, map: new Map([["k", 1n]]), view: new Uint8Array([7, 8, 9]) }, { contentType: "v8" });
      await jobs.send("json string", { contentType: "JSON" as "json" }); // the case does not matter, as in workerd
      fx.consumers([consumer("jobs", { maxBatchSize: 6 })]);
      await fx.settle();
      const [json, text, view, buffer, v8, string] = fx.bodies();
      expect(json).toEqual({ nested: [1, "two", null] });
      expect(text).toBe("hello ☃");
      expect(view).toBeInstanceOf(ArrayBuffer);
      expect([...new Uint8Array(view as ArrayBuffer)]).toEqual([1, 2, 255]);
      expect([...new Uint8Array(buffer as ArrayBuffer)]).toEqual([1, 2, 255]);
      expect(v8).toEqual({ when, map: new Map([["k", 1n]]), view: new Uint8Array([7, 8, 9]) });
      // A structured clone's typed array owns its bytes: its buffer is not a view into the stored message.
      expect((v8 as { view: Uint8Array }).view.buffer.byteLength).toBe(3);
      expect(string).toBe("json string");
    });

    it("gives each message an id and its send time", async () => {
      const jobs = fx.producer();
      await jobs.send("a");
      await fx.clock.advance(1000);
      await jobs.send("b");
      fx.consumers([consumer("jobs", { maxBatchSize: 2 })]);
      await fx.settle();
      const [a, b] = fx.deliveries[0]!.messages;
      expect(a!.id).toMatch(/^[0-9a-f]{32}$/);
      expect(b!.id).not.toBe(a!.id);
      expect(a!.timestamp).toEqual(new Date(START));
      expect(b!.timestamp).toEqual(new Date(START + 1000));
      expect(a!.attempts).toBe(1);
    });

    it("refuses bodies that do not fit their content type, with the runtime's texts", async () => {
      const jobs = fx.producer();
      await expect(jobs.send(undefined)).rejects.toThrow(new TypeError("Message body cannot be undefined"));
      await expect(jobs.send(42, { contentType: "text" })).rejects.toThrow(
        new TypeError('Content Type "text" requires a value of type string, but received: number'),
      );
      await expect(jobs.send("x", { contentType: "bytes" })).rejects.toThrow(
        new TypeError('Content Type "bytes" requires a value of type ArrayBuffer or ArrayBufferView, but received: string'),
      );
      await expect(jobs.send(null, { contentType: "bytes" })).rejects.toThrow("but received: null");
      await expect(jobs.send(10n)).rejects.toThrow(/^Content Type "json" requires a JSON-serialisable value: .*BigInt/);
      await expect(jobs.send(() => 1)).rejects.toThrow('Content Type "json" requires a JSON-serialisable value, but received: function');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(jobs.send(cyclic)).rejects.toThrow(/^Content Type "json" requires a JSON-serialisable value: .*circular/i);
      await expect(jobs.send({ f: () => 1 }, { contentType: "v8" })).rejects.toThrow(/^Content Type "v8" requires a structured-cloneable value: /);
      await expect(jobs.send("x", { contentType: "xml" as "text" })).rejects.toThrow(new TypeError("Unsupported queue message content type: xml"));
      expect((await jobs.metrics()).backlogCount).toBe(0);
    });

    it("refuses a message over 128,000 bytes and keeps what was stored", async () => {
      const jobs = fx.producer();
      await jobs.send("kept", { contentType: "text" });
      await jobs.send("x".repeat(QUEUE_LIMITS.maxMessageBytes), { contentType: "text" });
      await expect(jobs.send("x".repeat(128_001), { contentType: "text" })).rejects.toThrow(
        "Queue send failed: message length of 128001 bytes exceeds limit of 128000",
      );
      // Measured serialised: a JSON string has its quotes.
      await expect(jobs.send("x".repeat(127_999))).rejects.toThrow("message length of 128001 bytes");
      expect(await jobs.metrics()).toMatchObject({ backlogCount: 2, backlogBytes: 4 + 128_000 });
    });

    it("checks delaySeconds: an integer from 0 to 43200", async () => {
      const jobs = fx.producer();
      const text = (value: string) =>
        `Queue send failed: message delay ${value} is invalid: delaySeconds must be an integer from 0 to 43200 (12 hours)`;
      await expect(jobs.send(1, { delaySeconds: 43_201 })).rejects.toThrow(text("43201"));
      await expect(jobs.send(1, { delaySeconds: -1 })).rejects.toThrow(text("-1"));
      await expect(jobs.send(1, { delaySeconds: 1.5 })).rejects.toThrow(text("1.5"));
      await expect(jobs.send(1, { delaySeconds: "5" as unknown as number })).rejects.toThrow(text('"5"'));
      await jobs.send(1, { delaySeconds: 43_200 });
      await jobs.send(2, { delaySeconds: 0 });
      expect((await jobs.metrics()).backlogCount).toBe(2);
    });

    it("refuses a bad delivery_delay when the binding is made", () => {
      expect(() => fx.producer("jobs", 50_000)).toThrow(
        'Queue "jobs": delivery_delay 50000 is invalid: delaySeconds must be an integer from 0 to 43200 (12 hours)',
      );
    });
  });

  describe("sendBatch", () => {
    it("stores every message, resolving with the metrics", async () => {
      const jobs = fx.producer();
      const response = await jobs.sendBatch([{ body: 1 }, { body: "two", contentType: "text" }, { body: { three: 3 } }]);
      expect(response.metadata.metrics).toMatchObject({ backlogCount: 3, backlogBytes: 1 + 3 + 11 });
      fx.consumers([consumer("jobs", { maxBatchSize: 3 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual([1, "two", { three: 3 }]);
    });

    it("accepts any iterable", async () => {
      function* messages() {
        yield { body: "a" };
        yield { body: "b" };
      }
      await fx.producer().sendBatch(messages());
      expect((await fx.producer().metrics()).backlogCount).toBe(2);
    });

    it("enforces 100 messages and 256,000 bytes, storing nothing of a refused batch", async () => {
      const jobs = fx.producer();
      await expect(jobs.sendBatch([])).rejects.toThrow(new TypeError("sendBatch() requires at least one message"));
      await expect(jobs.sendBatch(Array.from({ length: 101 }, (_, i) => ({ body: i })))).rejects.toThrow(
        "Queue sendBatch failed: batch message count of 101 exceeds limit of 100",
      );
      await jobs.sendBatch(Array.from({ length: 100 }, (_, i) => ({ body: i })));
      const big = "x".repeat(100_000);
      await expect(jobs.sendBatch([1, 2, 3].map(() => ({ body: big, contentType: "text" as const })))).rejects.toThrow(
        "Queue sendBatch failed: batch size of 300000 bytes exceeds limit of 256000",
      );
      await expect(jobs.sendBatch([{ body: "x".repeat(128_001), contentType: "text" }])).rejects.toThrow(
        "Queue sendBatch failed: message in batch has length 128001 bytes which exceeds single message size limit of 128000",
      );
      await expect(jobs.sendBatch([{ body: 1 }, { body: undefined }])).rejects.toThrow("Message body cannot be undefined");
      await expect(jobs.sendBatch([{ body: 1, delaySeconds: 99_999 }])).rejects.toThrow(
        "Queue sendBatch failed: message delay 99999 is invalid: delaySeconds must be an integer from 0 to 43200 (12 hours)",
      );
      await expect(jobs.sendBatch([{ body: 1 }], { delaySeconds: -5 })).rejects.toThrow("Queue sendBatch failed: message delay -5 is invalid");
      await expect(jobs.sendBatch(5 as unknown as [])).rejects.toThrow(new TypeError("sendBatch() requires an iterable of messages"));
      await expect(jobs.sendBatch([5] as unknown as [])).rejects.toThrow(
        new TypeError("sendBatch(): each message must be an object { body, contentType?, delaySeconds? }"),
      );
      expect((await jobs.metrics()).backlogCount).toBe(100);
    });

    it("reads an iterable only up to the first message over a limit, and sends nothing of it", async () => {
      const jobs = fx.producer();
      let read = 0;
      let closed = 0;
      // Long enough to be over the limits, finite so that a full read ends.
      function* many(count: number, body: () => unknown) {
        try {
          while (read < count) {
            read += 1;
            yield { body: body(), contentType: "text" as const };
          }
        } finally {
          closed += 1;
        }
      }
      await expect(jobs.sendBatch(many(10_000, () => String(read)))).rejects.toThrow(
        "Queue sendBatch failed: batch message count of 101 exceeds limit of 100",
      );
      expect({ read, closed }).toEqual({ read: 101, closed: 1 });
      read = 0;
      const big = "x".repeat(100_000);
      await expect(jobs.sendBatch(many(10, () => big))).rejects.toThrow(
        "Queue sendBatch failed: batch size of 300000 bytes exceeds limit of 256000",
      );
      expect({ read, closed }).toEqual({ read: 3, closed: 2 });
      expect((await jobs.metrics()).backlogCount).toBe(0);
    });
  });

  describe("delays", () => {
    it("holds messages back: per message, else per batch, else the binding's delivery_delay", async () => {
      const jobs = fx.producer("jobs", 30);
      await jobs.send("binding default"); // 30 s
      await jobs.send("own", { delaySeconds: 10 });
      await jobs.send("zero overrides the default", { delaySeconds: 0 });
      await jobs.sendBatch([{ body: "batch item", delaySeconds: 20 }, { body: "batch default" }], { delaySeconds: 40 });
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual(["zero overrides the default"]);
      for (const [seconds, body] of [
        [10, "own"],
        [20, "batch item"],
        [30, "binding default"],
        [40, "batch default"],
      ] as const) {
        await fx.clock.advanceTo(START + seconds * 1000 - 1);
        await fx.settle();
        expect(fx.bodies()).not.toContain(body);
        await fx.clock.advanceTo(START + seconds * 1000);
        await fx.settle();
        expect(fx.deliveries.at(-1)).toMatchObject({ at: START + seconds * 1000, messages: [{ body }] });
      }
    });
  });

  describe("createQueueProducers", () => {
    it("makes one binding per producer config", async () => {
      const bindings = createQueueProducers(fx.store, [
        { binding: "JOBS", queue: "jobs" },
        { binding: "LATER", queue: "jobs", deliveryDelay: 60 },
      ]);
      await bindings.JOBS!.send("now");
      await bindings.LATER!.send("later");
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual(["now"]);
      await fx.clock.advance("1 minute");
      await fx.settle();
      expect(fx.bodies()).toEqual(["now", "later"]);
    });
  });

  describe("closing the store", () => {
    it("commits sends still pending when it closes, and refuses sends after", async () => {
      const jobs = fx.producer();
      const pending = jobs.send("in flight");
      const closed = fx.store.close();
      await expect(pending).resolves.toMatchObject({ metadata: { metrics: { backlogCount: 1 } } });
      await closed;
      await expect(jobs.send("too late")).rejects.toThrow("Queue send failed: the queue store is closed");
    });
  });
}
