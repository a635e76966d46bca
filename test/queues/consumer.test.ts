/**
 * Consumers on the SQLite store: the shared contract, what /metrics reads, a restart from the file,
 * and the consumer settings' limits.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { QueueConsumers } from "../../src/queues/consumers.ts";
import type { Message, MessageBatch } from "../../src/queues/types.ts";
import { consumerContract } from "./consumer-contract.ts";
import { QueueFixture, START, consumer, waitFor } from "./helpers.ts";

describe("consumers on the SQLite store", () => {
  consumerContract(() => new QueueFixture());
});

let fx: QueueFixture;
beforeEach(() => {
  fx = new QueueFixture();
});
afterEach(async () => {
  vi.restoreAllMocks();
  await fx.dispose();
});

const sendAll = async (bodies: unknown[], queue = "jobs") => {
  for (const body of bodies) await fx.producer(queue).send(body);
};

describe("backlogs", () => {
  it("reports every queue's backlog at once (what /metrics reads)", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    fx.handle = (batch) => batch.retryAll();
    fx.consumers([consumer("jobs", { maxBatchSize: 2, maxRetries: 0, deadLetterQueue: "dlq" })]);
    await sendAll(["a", "bb"]);
    await fx.settle();
    expect(fx.store.backlogs().filter((b) => b.messages > 0)).toEqual([{ queue: "dlq", messages: 2, bytes: 7 }]);
  });
});

describe("retry delays", () => {
  it("redelivers a message retried without a delay after the delay of a later retryAll(), not at once", async () => {
    fx.handle = (batch) => {
      if (batch.messages[0]!.attempts > 1) return;
      batch.messages[0]!.retry();
      batch.retryAll({ delaySeconds: 600 });
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 0, retryDelay: 0 })]);
    await fx.producer().sendBatch([{ body: "own-retry" }, { body: "only-retryAll" }]);
    await fx.settle();
    await fx.clock.advance("20 minutes");
    await fx.settle();
    const at = (body: string) => fx.deliveries.filter((d) => d.messages.some((m) => m.body === body)).map((d) => d.at - START);
    expect(at("own-retry")).toEqual([0, 600_000]);
    expect(at("only-retryAll")).toEqual([0, 600_000]);
  });
});

describe("the wall-clock limit of a consumer invocation", () => {
  it("fails a batch whose handler never settles, retries or dead-letters it, and ignores the invocation's later calls", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const hung: MessageBatch[] = [];
    const release = Promise.withResolvers<void>();
    fx.handle = (batch) => {
      if (batch.queue === "dlq") return;
      // The second delivery acks through the first, timed-out, invocation: too late, ignored.
      hung[0]?.messages[0]!.ack();
      hung.push(batch);
      return release.promise;
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: "dlq" }), consumer("dlq", { maxBatchSize: 1, maxBatchTimeout: 0 })], {
      wallClockLimitMs: 50,
    });
    await fx.producer().send("stuck");
    await waitFor("the dead letter", () => fx.bodies("dlq").length === 1);
    expect(fx.deliveries.map((d) => `${d.queue}:${String(d.messages[0]!.body)}${d.messages[0]!.attempts}`)).toEqual(["jobs:stuck1", "jobs:stuck2", "dlq:stuck1"]);
    const limit = (outcome: string) =>
      `[hearth] queue "jobs": the consumer did not finish within 50 ms (the wall-clock limit of a consumer invocation, QUEUE_LIMITS.consumerWallClockMs): its batch of 1 counts as failed (${outcome}); its later ack(), retry(), ackAll() and retryAll() calls are ignored`;
    expect(error.mock.calls).toEqual([[limit("1 retried")], [limit("1 dead-lettered")]]);
    expect(warn).toHaveBeenCalledWith(`[hearth] queue "jobs": Received a call to ack() on message ${hung[0]!.messages[0]!.id} after the delivery of the batch ended; it has no effect.`);
    // The handlers end at last: that decides nothing more.
    release.resolve();
    hung[1]!.retryAll();
    await fx.settle();
    expect(fx.deliveries).toHaveLength(3);
    expect([(await fx.metrics("jobs")).backlogCount, (await fx.metrics("dlq")).backlogCount]).toEqual([0, 0]);
  });

  it("refuses a limit that is not a positive number of ms", () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new QueueConsumers({ store: fx.store, consumers: [consumer("jobs")], deliver: async () => {}, wallClockLimitMs: bad })).toThrow(
        `QueueConsumers: wallClockLimitMs must be a positive number of ms, got ${bad}`,
      );
    }
  });
});

describe("the log line of a failed batch", () => {
  /** x is retried once on its own; then x (attempt 2), y and z (attempt 1) come as one batch whose handler acks z and throws. */
  async function failMixedBatch(deadLetterQueue: string | undefined): Promise<unknown[][]> {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    let calls = 0;
    fx.handle = (batch) => {
      calls++;
      if (calls === 1) return batch.messages[0]!.retry({ delaySeconds: 10 });
      if (calls > 2) return; // y, retried: acked
      batch.messages.find((m) => m.body === "z")!.ack();
      throw new Error("boom");
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue })]);
    await fx.producer().send("x");
    await fx.settle();
    await fx.producer().sendBatch([{ body: "y" }, { body: "z" }], { delaySeconds: 10 });
    await fx.clock.advance("10 seconds");
    await fx.settle();
    expect(fx.deliveries.map((d) => d.messages.map((m) => `${String(m.body)}${m.attempts}`))).toEqual([["x1"], ["x2", "y1", "z1"], ["y2"]]);
    return error.mock.calls;
  }

  it("says how many messages were retried, dead-lettered and acked", async () => {
    expect(await failMixedBatch("dlq")).toEqual([['[hearth] queue "jobs": the consumer failed on a batch of 3 (1 retried, 1 dead-lettered, 1 acked):', new Error("boom")]]);
  });

  it("says how many were dropped when there is no dead letter queue", async () => {
    expect(await failMixedBatch(undefined)).toEqual([['[hearth] queue "jobs": the consumer failed on a batch of 3 (1 retried, 1 dropped, 1 acked):', new Error("boom")]]);
  });
});

describe("batch.messages in the handler", () => {
  it("can be sorted, reversed and spliced without failing the batch", async () => {
    const seen: unknown[][] = [];
    fx.handle = (batch) => {
      // workers-types declares a readonly array; at run time it is an ordinary one, as in workerd.
      const messages = () => batch.messages as Message[];
      const byBody = messages().sort((a, b) => String(b.body).localeCompare(String(a.body)));
      seen.push(byBody.map((m) => m.body));
      seen.push(messages().reverse().map((m) => m.body));
      messages().splice(0, 1);
      if (byBody[0]!.attempts === 1) byBody[0]!.retry(); // "c": delivered once more
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0 })]);
    await Promise.all(["a", "b", "c"].map((body) => fx.producer().send(body)));
    await fx.settle();
    expect(seen.slice(0, 2)).toEqual([
      ["c", "b", "a"],
      ["c", "b", "a"],
    ]);
    expect(fx.deliveries.map((d) => d.messages.map((m) => [m.body, m.attempts]))).toEqual([
      [["a", 1], ["b", 1], ["c", 1]],
      [["c", 2]],
    ]);
  });
});

describe("an outcome the store could not record", () => {
  /** Makes the store's next `times` settles throw, as a full disk does; returns how many were refused. */
  const failSettles = (times: number) => {
    const settle = fx.store.settle.bind(fx.store);
    let left = times;
    vi.spyOn(fx.store, "settle").mockImplementation((queue, settlement) => {
      if (left > 0) {
        left--;
        throw new Error("SQLITE_FULL: database or disk is full");
      }
      return settle(queue, settlement);
    });
    return () => times - left;
  };
  const attempts = () => fx.deliveries.map((d) => d.messages.map((m) => `${m.body}#${m.attempts}`).join(","));

  it("is written again, so a retried message is delivered again without a restart", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const refused = failSettles(1);
    fx.handle = (batch) => {
      if (batch.messages[0]!.attempts === 1) throw new Error("transient");
    };
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0, maxRetries: 3 })]);
    await fx.producer().send("a");
    await fx.settle();
    expect(refused()).toBe(1);
    await fx.clock.advance("1 hour");
    await fx.settle();
    expect(attempts()).toEqual(["a#1", "a#2"]);
    expect((await fx.metrics()).backlogCount).toBe(0);
    expect(error.mock.calls.map((call) => String(call[0]))).toContainEqual(
      '[hearth] queue "jobs": could not record the outcome of a batch (1 retried); it is written again with backoff:',
    );
    expect(warn.mock.calls.map((call) => String(call[0]))).toContainEqual(
      '[hearth] queue "jobs": recorded the outcome of a batch that could not be recorded before (1 retried)',
    );
  });

  it("keeps being written again while the store fails, and an ack is not delivered again", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const refused = failSettles(5);
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })]);
    await fx.producer().send("a");
    await fx.settle();
    await fx.clock.advance("1 hour");
    await fx.settle();
    expect(refused()).toBe(5);
    await fx.producer().send("b");
    await fx.settle();
    expect(attempts()).toEqual(["a#1", "b#1"]);
    expect((await fx.metrics()).backlogCount).toBe(0);
  });

  it("is tried once more on stop(), and otherwise delivered again after the restart", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(console, "warn").mockImplementation(() => {});
    failSettles(2);
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })]);
    await fx.producer().send("a");
    await fx.settle();
    await fx.reopen();
    fx.consumers([consumer("jobs", { maxBatchSize: 1, maxBatchTimeout: 0 })]);
    await fx.settle();
    expect(attempts()).toEqual(["a#1", "a#2"]);
    expect((await fx.metrics()).backlogCount).toBe(0);
  });
});

describe("stop and restart", () => {
  it("stops delivering on stop() and goes on from the store after a restart", async () => {
    const consumers = fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 5 })]);
    await consumers.stop();
    await sendAll(["a", "b", "c"]);
    await fx.clock.advance("1 minute");
    expect(fx.deliveries).toEqual([]);
    await fx.reopen();
    fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 5 })]);
    await fx.settle();
    expect(fx.bodies()).toEqual(["a", "b", "c"]);
  });

  it("lists the queues it consumes", () => {
    expect(fx.consumers([consumer("a"), consumer("b")]).queues).toEqual(["a", "b"]);
  });
});

describe("consumer settings", () => {
  const make = (settings: Parameters<typeof consumer>[1], queue = "jobs") => () =>
    new QueueConsumers({ store: fx.store, consumers: [consumer(queue, settings)], deliver: async () => {} });

  it("refuses values outside Cloudflare's limits, naming the queue and the setting", () => {
    expect(make({ maxBatchSize: 101 })).toThrow('Queue consumer "jobs": max_batch_size must be an integer from 1 to 100, got 101');
    expect(make({ maxBatchSize: 0 })).toThrow("max_batch_size must be an integer from 1 to 100, got 0");
    expect(make({ maxBatchTimeout: 61 })).toThrow('Queue consumer "jobs": max_batch_timeout must be a number of seconds from 0 to 60, got 61');
    expect(make({ maxRetries: 101 })).toThrow('Queue consumer "jobs": max_retries must be an integer from 0 to 100, got 101');
    expect(make({ retryDelay: 43_201 })).toThrow('Queue consumer "jobs": retry_delay must be an integer from 0 to 43200, got 43201');
    expect(make({ maxConcurrency: 251 })).toThrow('Queue consumer "jobs": max_concurrency must be an integer from 1 to 250, got 251');
    expect(make({ deadLetterQueue: "jobs" })).toThrow('Queue consumer "jobs": dead_letter_queue cannot be the queue itself');
    expect(make({ deadLetterQueue: "" })).toThrow('Queue consumer "jobs": dead_letter_queue must be a non-empty string');
    const cycle = (consumers: Parameters<typeof consumer>[]) => () =>
      new QueueConsumers({ store: fx.store, consumers: consumers.map((args) => consumer(...args)), deliver: async () => {} });
    expect(cycle([["jobs", { deadLetterQueue: "dlq" }], ["dlq", { deadLetterQueue: "jobs" }]])).toThrow(
      'Queue consumer "jobs": dead_letter_queue makes a cycle of dead letter queues: "jobs" → "dlq" → "jobs"',
    );
    expect(cycle([["a", { deadLetterQueue: "b" }], ["b", { deadLetterQueue: "c" }], ["c", { deadLetterQueue: "a" }]])).toThrow(
      '"a" → "b" → "c" → "a"',
    );
    expect(cycle([["a", { deadLetterQueue: "b" }], ["b", { deadLetterQueue: "c" }], ["c"]])).not.toThrow();
    expect(make({}, "")).toThrow("Queue consumer: queue must be a non-empty string");
    expect(
      () => new QueueConsumers({ store: fx.store, consumers: [consumer("jobs"), consumer("jobs")], deliver: async () => {} }),
    ).toThrow('Queue consumer "jobs": the queue has two consumers; a queue has at most one');
  });
});
