/**
 * Precedence of ack / retry / ackAll / retryAll within one batch: the first decision for a message
 * wins, a conflicting later call is ignored with the runtime's warning.
 */
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from "vitest";
import { ConsumerBatch } from "../../src/queues/batch.ts";

const metrics = { backlogCount: 3, backlogBytes: 3 };
const make = () =>
  new ConsumerBatch(
    "jobs",
    ["a", "b", "c"].map((body, i) => ({ id: `m${i}`, timestamp: new Date(0), body, attempts: 1 })),
    metrics,
  );
const ACK = { kind: "ack" };
const retry = (delaySeconds?: number) => ({ kind: "retry", delaySeconds });

let warn: MockInstance<typeof console.warn>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => {});
});
afterEach(() => {
  vi.restoreAllMocks();
});
const warnings = () => warn.mock.calls.map((call) => String(call[0]).replace('[hearth] queue "jobs": ', ""));

describe("ConsumerBatch", () => {
  it("acks undecided messages when the handler succeeded and retries them when it failed", () => {
    expect(make().finish(true)).toEqual([ACK, ACK, ACK]);
    expect(make().finish(false)).toEqual([retry(), retry(), retry()]);
  });

  it("keeps per-message decisions whatever the handler's outcome", () => {
    const batch = make();
    batch.messages[0]!.ack();
    batch.messages[1]!.retry({ delaySeconds: 9 });
    expect(batch.finish(false)).toEqual([ACK, retry(9), retry()]);
  });

  it("lets a message's own earlier call beat ackAll and retryAll", () => {
    const acked = make();
    acked.messages[0]!.retry();
    acked.ackAll();
    expect(acked.finish(false)).toEqual([retry(), ACK, ACK]);
    const retried = make();
    retried.messages[0]!.ack();
    retried.retryAll({ delaySeconds: 4 });
    expect(retried.finish(true)).toEqual([ACK, retry(4), retry(4)]);
    expect(warnings()).toEqual([]);
  });

  it("ignores a message's call that conflicts with an earlier ackAll / retryAll, with a warning", () => {
    const batch = make();
    batch.ackAll();
    batch.messages[0]!.retry();
    batch.messages[1]!.ack(); // agrees: silent
    expect(batch.finish(false)).toEqual([ACK, ACK, ACK]);
    const other = make();
    other.retryAll();
    other.messages[2]!.ack();
    expect(other.finish(true)).toEqual([retry(), retry(), retry()]);
    expect(warnings()).toEqual([
      "Received a call to retry() on message m0 after ackAll() was already called. Calling retry() on a message after calling ackAll() has no effect.",
      "Received a call to ack() on message m2 after retryAll() was already called. Calling ack() on a message after calling retryAll() has no effect.",
    ]);
  });

  it("keeps the first of ack() and retry() on a message", () => {
    const batch = make();
    batch.messages[0]!.ack();
    batch.messages[0]!.retry();
    batch.messages[1]!.retry({ delaySeconds: 3 });
    batch.messages[1]!.ack();
    expect(batch.finish(true)).toEqual([ACK, retry(3), ACK]);
    expect(warnings()).toEqual([
      "Received a call to retry() on message m0 after ack() was already called. Calling retry() on a message after calling ack() has no effect.",
      "Received a call to ack() on message m1 after retry() was already called. Calling ack() on a message after calling retry() has no effect.",
    ]);
  });

  it("keeps the first of ackAll() and retryAll()", () => {
    const batch = make();
    batch.ackAll();
    batch.retryAll();
    const other = make();
    other.retryAll({ delaySeconds: 2 });
    other.ackAll();
    expect(batch.finish(false)).toEqual([ACK, ACK, ACK]);
    expect(other.finish(true)).toEqual([retry(2), retry(2), retry(2)]);
    expect(warnings()).toEqual([
      "Received a call to retryAll() after ackAll() was already called. Calling retryAll() after calling ackAll() has no effect.",
      "Received a call to ackAll() after retryAll() was already called. Calling ackAll() after calling retryAll() has no effect.",
    ]);
  });

  it("lets a later retry() change only the delay", () => {
    const batch = make();
    batch.retryAll({ delaySeconds: 5 });
    batch.messages[0]!.retry({ delaySeconds: 1 });
    batch.messages[1]!.retry();
    batch.messages[2]!.retry({ delaySeconds: 2 });
    batch.messages[2]!.retry({ delaySeconds: 8 });
    expect(batch.finish(true)).toEqual([retry(1), retry(5), retry(8)]);
    expect(warnings()).toEqual([]);
  });

  it("gives a message retried without a delay the delay of a later retryAll()", () => {
    const batch = make();
    batch.messages[0]!.retry();
    batch.messages[1]!.retry({ delaySeconds: 3 });
    batch.retryAll({ delaySeconds: 600 });
    expect(batch.finish(true)).toEqual([retry(600), retry(3), retry(600)]);
    const failed = make();
    failed.messages[0]!.retry();
    failed.retryAll({ delaySeconds: 60 });
    expect(failed.finish(false)).toEqual([retry(60), retry(60), retry(60)]);
    const noDelay = make();
    noDelay.messages[0]!.retry();
    noDelay.retryAll();
    expect(noDelay.finish(true)).toEqual([retry(), retry(), retry()]);
    expect(warnings()).toEqual([]);
  });

  it("lets a later retryAll() change only the delay", () => {
    const kept = make();
    kept.retryAll({ delaySeconds: 600 });
    kept.retryAll();
    expect(kept.finish(true)).toEqual([retry(600), retry(600), retry(600)]);
    const changed = make();
    changed.retryAll({ delaySeconds: 600 });
    changed.retryAll({ delaySeconds: 0 });
    expect(changed.finish(true)).toEqual([retry(0), retry(0), retry(0)]);
    expect(warnings()).toEqual([]);
  });

  it("ignores calls once the delivery ended", () => {
    const batch = make();
    expect(batch.finish(true)).toEqual([ACK, ACK, ACK]);
    batch.messages[0]!.retry();
    batch.retryAll();
    // Even with a delay it would refuse while the delivery runs: ignored too, not thrown.
    expect(() => batch.messages[1]!.retry({ delaySeconds: -1 })).not.toThrow();
    expect(() => batch.retryAll({ delaySeconds: -1 })).not.toThrow();
    expect(warnings()).toEqual([
      "Received a call to retry() on message m0 after the delivery of the batch ended; it has no effect.",
      "Received a call to retryAll() after the delivery of the batch ended; it has no effect.",
      "Received a call to retry() on message m1 after the delivery of the batch ended; it has no effect.",
      "Received a call to retryAll() after the delivery of the batch ended; it has no effect.",
    ]);
  });

  it("exposes the queue, the metrics and frozen messages", () => {
    const batch = make();
    expect(batch.queue).toBe("jobs");
    expect(batch.metadata).toEqual({ metrics });
    expect(batch.messages.map((m) => [m.id, m.body, m.attempts])).toEqual([
      ["m0", "a", 1],
      ["m1", "b", 1],
      ["m2", "c", 1],
    ]);
    expect(Object.isFrozen(batch.messages[0])).toBe(true);
  });

  it("gives an ordinary array of the messages at every read, which the handler may sort, reverse or splice", () => {
    const batch = make();
    const sorted = batch.messages.sort((a, b) => String(b.body).localeCompare(String(a.body)));
    expect(sorted.map((m) => m.body)).toEqual(["c", "b", "a"]);
    expect(batch.messages.reverse().map((m) => m.body)).toEqual(["c", "b", "a"]);
    expect(batch.messages.splice(0, 2).map((m) => m.body)).toEqual(["a", "b"]);
    // The batch is untouched, and the messages are the same objects, still deciding their own fate.
    expect(batch.messages.map((m) => m.body)).toEqual(["a", "b", "c"]);
    expect(batch.messages).not.toBe(batch.messages);
    expect(sorted[0]).toBe(batch.messages[2]);
    sorted[0]!.retry({ delaySeconds: 4 });
    expect(batch.finish(true)).toEqual([ACK, ACK, retry(4)]);
  });

  it("does not let the messages property be replaced", () => {
    const batch = make();
    expect(() => {
      (batch as { messages: unknown }).messages = [];
    }).toThrow(TypeError);
    expect(batch.messages).toHaveLength(3);
    expect(JSON.parse(JSON.stringify(batch)).messages.map((m: { body: string }) => m.body)).toEqual(["a", "b", "c"]);
  });
});
