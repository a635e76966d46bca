/**
 * The producer binding on the SQLite store: the shared contract, and what is particular to the file
 * (committed before resolving, one process per file, strict durability).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openQueueStore } from "../../src/queues/store.ts";
import { producerContract } from "./producer-contract.ts";
import { QueueFixture, consumer } from "./helpers.ts";

describe("producers on the SQLite store", () => {
  producerContract(() => new QueueFixture());
});

let fx: QueueFixture;
beforeEach(() => {
  fx = new QueueFixture();
});
afterEach(async () => {
  await fx.dispose();
});

describe("the options argument", () => {
  it("takes null as no options, as workerd does", async () => {
    const jobs = fx.producer("jobs", 30);
    await jobs.send("one", null);
    await jobs.sendBatch([{ body: "two" }], null);
    expect((await jobs.metrics()).backlogCount).toBe(2);
    fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 0 })]);
    await fx.clock.advance("30 seconds"); // delivery_delay still applies
    await fx.settle();
    expect(fx.deliveries.map((d) => d.messages.map((m) => m.body))).toEqual([["one", "two"]]);
  });

  it("refuses options that are not an object, naming the argument", async () => {
    const jobs = fx.producer();
    await expect(jobs.send("x", 5 as never)).rejects.toThrow(
      new TypeError("send(): the options argument must be an object { contentType?, delaySeconds? }, undefined or null (got number 5)"),
    );
    await expect(jobs.sendBatch([{ body: "x" }], "fast" as never)).rejects.toThrow(
      new TypeError('sendBatch(): the options argument must be an object { delaySeconds? }, undefined or null (got string "fast")'),
    );
    expect((await jobs.metrics()).backlogCount).toBe(0);
  });
});

describe("the store", () => {
  it("has committed a send once it resolved: a second opening of the file sees it", async () => {
    await fx.producer().send({ task: "resize" });
    fx.store.close();
    const again = openQueueStore({ path: fx.path, clock: fx.clock });
    expect(again.metrics("jobs").backlogCount).toBe(1);
    again.close();
    fx.store = openQueueStore({ path: fx.path, clock: fx.clock });
  });

  it("commits sends still pending when it closes, to the file", async () => {
    const pending = fx.producer().send("in flight");
    fx.store.close();
    await pending;
    fx.store = openQueueStore({ path: fx.path, clock: fx.clock });
    expect(fx.store.metrics("jobs").backlogCount).toBe(1);
  });

  it("refuses a second opening of the same file, and keeps the first one working", async () => {
    expect(() => openQueueStore({ path: fx.path, clock: fx.clock })).toThrow(`${fx.path} is locked by another process`);
    await fx.producer().send("still fine");
    expect(fx.store.metrics("jobs").backlogCount).toBe(1);
  });

  it("works with durability strict", async () => {
    fx.store.close();
    fx.store = openQueueStore({ path: fx.path, clock: fx.clock, durability: "strict" });
    await fx.producer().send("fsynced");
    expect(fx.store.metrics("jobs").backlogCount).toBe(1);
  });
});

