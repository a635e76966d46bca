/**
 * The producer binding on the SQLite store: the shared contract, and what is particular to the file
 * (committed before resolving, one process per file, strict durability).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openQueueStore } from "../../src/queues/store.ts";
import { producerContract } from "./producer-contract.ts";
import { QueueFixture } from "./helpers.ts";

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

