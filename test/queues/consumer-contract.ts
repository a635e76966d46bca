/**
 * What every queue store must do for consumers: batching by size and by timeout, implicit and explicit
 * acks and retries, retry delays, max_retries and the dead letter queue, concurrency, queues without a
 * consumer and retention. Time is a VirtualClock. Run with the SQLite store (consumer.test.ts) and the
 * cluster's Postgres store (test/cluster/bindings/queue-postgres.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { MessageBatch } from "../../src/queues/types.ts";
import { START, consumer, type QueueHarness } from "./helpers.ts";

/** Registers the consumer contract; `make` opens a fresh, empty store on a VirtualClock at START. */
export function consumerContract(make: () => QueueHarness | Promise<QueueHarness>): void {
  let fx: QueueHarness;
  beforeEach(async () => {
    fx = await make();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await fx.dispose();
  });

  const sendAll = async (bodies: unknown[], queue = "jobs") => {
    for (const body of bodies) await fx.producer(queue).send(body);
  };
  // One turn, one commit: a consumer with max_batch_timeout 0 sees them as one batch, whatever the store.
  const sendTogether = async (bodies: unknown[], queue = "jobs") => {
    await Promise.all(bodies.map((body) => fx.producer(queue).send(body)));
  };
  const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

  describe("batching", () => {
    it("delivers a batch as soon as max_batch_size messages are ready", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 60 })]);
      await sendAll(range(7));
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages.map((m) => m.body))).toEqual([
        [0, 1, 2],
        [3, 4, 5],
      ]);
      expect(fx.deliveries.every((d) => d.at === START)).toBe(true);
    });

    it("delivers a partial batch max_batch_timeout after its first message was ready", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 5 })]);
      await sendAll(["a"]);
      await fx.clock.advance(2000);
      await sendAll(["b"]);
      await fx.clock.advanceTo(START + 4999);
      await fx.settle();
      expect(fx.deliveries).toEqual([]);
      await fx.clock.advanceTo(START + 5000);
      await fx.settle();
      expect(fx.deliveries).toEqual([expect.objectContaining({ at: START + 5000, messages: [expect.objectContaining({ body: "a" }), expect.objectContaining({ body: "b" })] })]);
    });

    it("delivers a partial batch as soon as a delayed message becomes ready and fills it", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 60 })]);
      await sendAll(["a"]);
      await fx.producer().send("b", { delaySeconds: 5 });
      await fx.clock.advance(5000);
      await fx.settle();
      expect(fx.deliveries.map((d) => ({ at: d.at, bodies: d.messages.map((m) => m.body) }))).toEqual([{ at: START + 5000, bodies: ["a", "b"] }]);
    });

    it("delivers a partial batch as soon as a retried message becomes ready and fills it", async () => {
      fx.handle = (batch) => {
        for (const message of batch.messages) if (message.body === "x" && message.attempts === 1) message.retry({ delaySeconds: 10 });
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 2, maxBatchTimeout: 30 })]);
      await sendTogether(["x", "y"]);
      await fx.settle();
      await fx.clock.advance(1000);
      await sendAll(["z"]);
      await fx.clock.advanceTo(START + 10_000);
      await fx.settle();
      expect(fx.deliveries.map((d) => ({ at: d.at, bodies: d.messages.map((m) => m.body) }))).toEqual([
        { at: START, bodies: ["x", "y"] },
        { at: START + 10_000, bodies: ["z", "x"] },
      ]);
    });

    it("with max_batch_timeout 0, delivers whatever is ready at once", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 100, maxBatchTimeout: 0 })]);
      await sendAll(["only"]);
      await fx.settle();
      expect(fx.bodies()).toEqual(["only"]);
    });

    it("hands the batch its queue and metrics, and messages in send order", async () => {
      let seen: MessageBatch | undefined;
      fx.handle = (batch) => {
        seen = batch;
      };
      await sendAll(["x", "yy"]);
      fx.consumers([consumer("jobs", { maxBatchSize: 2 })]);
      await fx.settle();
      expect(seen!.queue).toBe("jobs");
      expect(seen!.metadata).toEqual({ metrics: { backlogCount: 2, backlogBytes: 7, oldestMessageTimestamp: new Date(START) } });
      expect(seen!.messages.map((m) => m.body)).toEqual(["x", "yy"]);
      // An ordinary array (the handler may sort it) of messages that cannot be changed.
      expect(Object.isFrozen(seen!.messages)).toBe(false);
      expect(seen!.messages.every((m) => Object.isFrozen(m))).toBe(true);
      expect((await fx.producer().metrics()).backlogCount).toBe(0);
    });

    it("delivers messages sent before the consumer started", async () => {
      await sendAll(range(25));
      fx.consumers([consumer("jobs", { maxBatchSize: 10, maxBatchTimeout: 1 })]);
      await fx.settle();
      expect(fx.bodies()).toEqual(range(20));
      await fx.clock.advance(1000);
      await fx.settle();
      expect(fx.bodies()).toEqual(range(25));
    });

    it("keeps the messages of a queue without a consumer", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await sendAll(["kept"], "orphan");
      await fx.clock.advance("1 day");
      await fx.settle();
      expect(fx.deliveries).toEqual([]);
      expect((await fx.producer("orphan").metrics()).backlogCount).toBe(1);
    });

    it("runs at most max_concurrency batches of a queue at a time (default 1)", async () => {
      let running = 0;
      let most = 0;
      const gates: (() => void)[] = [];
      let hold = true;
      fx.handle = async () => {
        most = Math.max(most, ++running);
        if (hold) await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 1 }), consumer("wide", { maxBatchSize: 1, maxConcurrency: 3 })]);
      await sendAll(range(4));
      await vi.waitFor(() => expect(gates).toHaveLength(1), { timeout: 10_000 });
      await sendAll(range(4), "wide");
      await vi.waitFor(() => expect(gates).toHaveLength(4), { timeout: 10_000 });
      expect(most).toBe(4); // 1 of "jobs" + 3 of "wide"
      hold = false;
      gates.forEach((open) => open());
      await fx.settle();
      expect(fx.bodies("jobs")).toEqual(range(4));
      expect(fx.bodies("wide")).toEqual(range(4));
    });
  });

  describe("acknowledgement", () => {
    it("acks every message when the handler resolves", async () => {
      fx.consumers([consumer("jobs", { maxBatchSize: 3 })]);
      await sendAll(range(3));
      await fx.settle();
      expect((await fx.producer().metrics()).backlogCount).toBe(0);
    });

    it("retries the whole batch when the handler rejects, except messages acked on their own", async () => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      fx.handle = (batch) => {
        if (batch.messages[0]!.attempts > 1) return;
        batch.messages[1]!.ack();
        throw new Error("boom");
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0 })]);
      await sendTogether(["a", "b", "c"]);
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages.map((m) => `${String(m.body)}${m.attempts}`))).toEqual([["a1", "b1", "c1"], ["a2", "c2"]]);
      expect(console.error).toHaveBeenCalledWith('[hearth] queue "jobs": the consumer failed on a batch of 3 (2 retried, 1 acked):', expect.any(Error));
    });

    it("retries messages retried on their own, acking the rest when the handler resolves", async () => {
      fx.handle = (batch) => {
        if (batch.messages[0]!.attempts === 1) batch.messages.find((m) => m.body === "b")!.retry();
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0 })]);
      await sendTogether(["a", "b", "c"]);
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages.map((m) => m.body))).toEqual([["a", "b", "c"], ["b"]]);
      expect(fx.deliveries[1]!.messages[0]!.attempts).toBe(2);
    });

    it("retryAll retries the batch, except messages acked before", async () => {
      fx.handle = (batch) => {
        if (batch.messages[0]!.attempts > 1) return;
        batch.messages[0]!.ack();
        batch.retryAll();
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0 })]);
      await sendTogether(["a", "b", "c"]);
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages.map((m) => m.body))).toEqual([["a", "b", "c"], ["b", "c"]]);
    });

    it("ackAll acks the batch even when the handler then rejects, except messages retried before", async () => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      fx.handle = (batch) => {
        if (batch.messages[0]!.attempts > 1) return;
        batch.messages[2]!.retry();
        batch.ackAll();
        throw new Error("after ackAll");
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 3, maxBatchTimeout: 0 })]);
      await sendTogether(["a", "b", "c"]);
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages.map((m) => m.body))).toEqual([["a", "b", "c"], ["c"]]);
    });
  });

  describe("retry delays", () => {
    it("uses the delay of retry(), else retryAll()'s, else retry_delay, else 0", async () => {
      fx.handle = (batch) => {
        for (const message of batch.messages) {
          if (message.attempts > 1) continue;
          if (message.body === "own") message.retry({ delaySeconds: 7 });
          if (message.body === "all") batch.retryAll({ delaySeconds: 30 });
        }
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 1, retryDelay: 12 })]);
      await sendAll(["own"]);
      await fx.settle();
      await fx.clock.advance("1 minute");
      await fx.settle();
      await sendAll(["all"]);
      await fx.settle();
      await fx.clock.advance("1 minute");
      await fx.settle();
      const at = (body: string) => fx.deliveries.filter((d) => d.messages[0]!.body === body).map((d) => d.at);
      expect(at("own")).toEqual([START, START + 7000]);
      expect(at("all")).toEqual([START + 60_000, START + 90_000]);
    });

    it("uses retry_delay for a failed handler, and 0 without one", async () => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      fx.handle = (batch) => {
        if (batch.messages[0]!.attempts === 1) throw new Error("first time");
      };
      fx.consumers([consumer("slow", { maxBatchSize: 1, retryDelay: 12 }), consumer("fast", { maxBatchSize: 1 })]);
      await sendAll(["s"], "slow");
      await sendAll(["f"], "fast");
      await fx.settle();
      await fx.clock.advance("1 minute");
      await fx.settle();
      expect(fx.deliveries.filter((d) => d.queue === "slow").map((d) => d.at)).toEqual([START, START + 12_000]);
      expect(fx.deliveries.filter((d) => d.queue === "fast").map((d) => d.at)).toEqual([START, START]);
    });

    it("refuses a bad delay in retry() and retryAll()", async () => {
      const errors: unknown[] = [];
      fx.handle = (batch) => {
        for (const call of [() => batch.messages[0]!.retry({ delaySeconds: 43_201 }), () => batch.retryAll({ delaySeconds: -1 })]) {
          try {
            call();
          } catch (error) {
            errors.push(error);
          }
        }
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 1 })]);
      await sendAll(["x"]);
      await fx.settle();
      expect(errors.map((e) => (e as Error).message)).toEqual([
        "message.retry(): delaySeconds 43201 is invalid: delaySeconds must be an integer from 0 to 43200 (12 hours)",
        "batch.retryAll(): delaySeconds -1 is invalid: delaySeconds must be an integer from 0 to 43200 (12 hours)",
      ]);
      expect(fx.deliveries).toHaveLength(1); // the refused calls decided nothing: acked
    });
  });

  describe("max_retries and the dead letter queue", () => {
    it("moves a message to the dead letter queue after max_retries retries, keeping its id and timestamp", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      fx.handle = (batch) => {
        if (batch.queue === "jobs") batch.retryAll();
      };
      fx.consumers([consumer("jobs", { maxBatchSize: 1, maxRetries: 2, deadLetterQueue: "dlq" }), consumer("dlq", { maxBatchSize: 1 })]);
      await sendAll(["poison"]);
      await fx.settle();
      const jobs = fx.deliveries.filter((d) => d.queue === "jobs").map((d) => d.messages[0]!);
      expect(jobs.map((m) => m.attempts)).toEqual([1, 2, 3]);
      const [dead] = fx.deliveries.filter((d) => d.queue === "dlq").map((d) => d.messages[0]!);
      expect(dead).toEqual({ id: jobs[0]!.id, body: "poison", attempts: 1, timestamp: new Date(START) });
      expect(warn).toHaveBeenCalledWith(`[hearth] queue "jobs": message ${dead!.id} moved to dead letter queue "dlq" after 3 failed attempt(s)`);
    });

    it("keeps dead letters in a dead letter queue without a consumer", async () => {
      vi.spyOn(console, "warn").mockImplementation(() => {});
      fx.handle = (batch) => batch.retryAll();
      fx.consumers([consumer("jobs", { maxBatchSize: 2, maxRetries: 0, deadLetterQueue: "dlq" })]);
      await sendAll(["a", "bb"]);
      await fx.settle();
      expect(fx.deliveries).toHaveLength(1);
      expect(await fx.producer("dlq").metrics()).toMatchObject({ backlogCount: 2, backlogBytes: 7 });
      expect((await fx.producer("jobs").metrics()).backlogCount).toBe(0);
    });

    it("deletes the message, with a warning, when there is no dead letter queue (default max_retries 3)", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      const error = vi.spyOn(console, "error").mockImplementation(() => {});
      fx.handle = () => {
        throw new Error("always");
      };
      fx.consumers([{ queue: "jobs", maxBatchSize: 1 } as never]);
      await sendAll(["doomed"]);
      await fx.settle();
      expect(fx.deliveries.map((d) => d.messages[0]!.attempts)).toEqual([1, 2, 3, 4]);
      expect(error).toHaveBeenCalledTimes(4);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^\[hearth\] queue "jobs": message [0-9a-f]{32} dropped after 4 failed attempt\(s\) \(no dead_letter_queue configured\)$/));
      expect((await fx.producer().metrics()).backlogCount).toBe(0);
    });
  });

  describe("retention", () => {
    it("deletes messages 14 days after they were sent, by default", async () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      await sendAll(["old"], "orphan");
      await fx.clock.advance("13 days");
      await sendAll(["young"], "orphan");
      await fx.clock.advance("1 day 1 hour");
      expect(await fx.producer("orphan").metrics()).toMatchObject({ backlogCount: 1, oldestMessageTimestamp: new Date(START + 13 * 86_400_000) });
      expect(warn).toHaveBeenCalledWith("[hearth] queues: deleted 1 message(s) older than the 14-day retention");
    });
  });
}
