/**
 * The group commit of the cluster's queue sends: one statement for the sends of a turn, the next
 * statement only after the previous one, statements cut at 16 MiB of bodies (never inside a call), and
 * a failed statement failing exactly its own sends. The commit is a plain function here: what is
 * checked is which sends share a statement.
 */
import { describe, expect, it } from "vitest";
import { MAX_SEND_STATEMENT_BYTES, SendBatcher } from "../../../src/cluster/bindings/queue-sends.ts";
import type { NewMessage } from "../../../src/queues/backend.ts";
import type { QueueMetrics } from "../../../src/queues/types.ts";

const message = (queue: string, bytes: number): NewMessage => ({
  queue,
  id: "0".repeat(32),
  contentType: "bytes",
  body: new Uint8Array(bytes),
  sentAt: 0,
  visibleAt: 0,
});

function recording(fail?: (statement: number) => boolean) {
  const statements: NewMessage[][] = [];
  let running = 0;
  let overlapped = false;
  const batcher = new SendBatcher(async (rows) => {
    overlapped ||= running > 0;
    running++;
    statements.push(rows);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    if (fail?.(statements.length)) throw new Error("connection reset");
    const metrics = new Map<string, QueueMetrics>();
    for (const row of rows) metrics.set(row.queue, { backlogCount: rows.filter((r) => r.queue === row.queue).length, backlogBytes: 0 });
    return metrics;
  });
  return { batcher, statements, overlapped: () => overlapped };
}

describe("SendBatcher", () => {
  it("commits the sends of a turn in one statement, those made meanwhile in the next, one at a time", async () => {
    const { batcher, statements, overlapped } = recording();
    const first = [batcher.add([message("a", 1)]), batcher.add([message("b", 1), message("b", 1)])];
    await new Promise((resolve) => setImmediate(resolve));
    const second = [batcher.add([message("a", 1)]), batcher.add([message("a", 1)])];
    const results = await Promise.all([...first, ...second]);
    expect(statements.map((rows) => rows.map((row) => row.queue).join(""))).toEqual(["abb", "aa"]);
    expect(results.map((metrics) => metrics.backlogCount)).toEqual([1, 2, 2, 2]);
    expect(overlapped()).toBe(false);
  });

  it("starts another statement past 16 MiB of bodies, never splitting a call's messages", async () => {
    const { batcher, statements } = recording();
    const call = () => batcher.add([message("a", 100_000), message("a", 100_000)]);
    const calls = Array.from({ length: Math.ceil(MAX_SEND_STATEMENT_BYTES / 200_000) + 1 }, call);
    await Promise.all(calls);
    const sizes = statements.map((rows) => rows.reduce((sum, row) => sum + row.body.byteLength, 0));
    expect(sizes.every((size) => size <= MAX_SEND_STATEMENT_BYTES)).toBe(true);
    expect(statements.map((rows) => rows.length % 2)).toEqual(statements.map(() => 0));
    expect(statements.length).toBe(2);
  });

  it("fails the sends of a failed statement with the reason, and goes on with the next ones", async () => {
    const { batcher } = recording((statement) => statement === 1);
    const failed = batcher.add([message("a", 1)]);
    await expect(failed).rejects.toThrow("Queue send failed: the message could not be stored: connection reset");
    await expect(batcher.add([message("a", 1)])).resolves.toEqual({ backlogCount: 1, backlogBytes: 0 });
  });

  it("drain() sends what is pending at once and waits for it", async () => {
    const { batcher, statements } = recording();
    const sent = batcher.add([message("a", 1)]);
    await batcher.drain();
    expect(statements).toHaveLength(1);
    await expect(sent).resolves.toMatchObject({ backlogCount: 1 });
  });
});
