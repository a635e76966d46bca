/**
 * Durability across kill -9: a message whose send resolved is delivered after a crash, a batch in
 * flight when the process died is delivered again (at least once), and a message that kills the
 * process at every delivery ends in the dead letter queue instead of looping forever.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { QueueConsumers } from "../../src/queues/consumers.ts";
import { QueueProducer } from "../../src/queues/producer.ts";
import { openQueueStore } from "../../src/queues/store.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { killChildren, startChild, type Child } from "../support/child.ts";

const CHILD = fileURLToPath(new URL("./fixtures/queue-child.ts", import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  killChildren();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-queues-crash-"));
  dirs.push(dir);
  return join(dir, "queues.sqlite");
}

/** The first line matching `pattern`, including lines that came with READY (nextLine only looks at later ones). */
async function line(child: Child, pattern: RegExp): Promise<string | null> {
  // Generous: every send waits for its commit, and a busy machine's disk makes that slow.
  return child.lines.find((l) => pattern.test(l)) ?? (await child.nextLine(pattern, 90_000));
}

/** Opens the file in this process and delivers everything in it; returns bodies and attempts. */
async function drain(path: string): Promise<{ body: unknown; attempts: number }[]> {
  const clock = new VirtualClock();
  const store = openQueueStore({ path, clock });
  const got: { body: unknown; attempts: number }[] = [];
  const consumers = new QueueConsumers({
    store,
    consumers: [{ queue: "jobs", maxBatchSize: 100, maxBatchTimeout: 0, maxRetries: 3 }],
    deliver: async (batch) => {
      for (const message of batch.messages) got.push({ body: message.body, attempts: message.attempts });
    },
  });
  consumers.start();
  while ((await new QueueProducer({ store, queue: "jobs" }).metrics()).backlogCount > 0) await consumers.idle();
  await consumers.close();
  store.close();
  clock.dispose();
  return got;
}

describe("queues across kill -9", () => {
  it("delivers every message whose send resolved before the process was killed", async () => {
    const path = tempFile();
    const child = await startChild(CHILD, ["send", path]);
    // Killed right after a resolved send was reported, while the next ones are being sent.
    const started = performance.now();
    // 50 acknowledged sends are enough to kill it mid-stream; on a machine busy with other processes a
    // send waiting for its fsync took ~0.5 s, and 300 of them did not fit in 90 s.
    const seen = await line(child, /^SENT 50$/);
    // Say how far it got, and what it said, if even 50 do not come.
    const sent = child.lines.filter((l) => l.startsWith("SENT ")).length;
    expect(seen, `${sent} sends resolved in ${Math.round(performance.now() - started)} ms; last line ${JSON.stringify(child.lines.at(-1))}; stderr: ${child.stderr()}`).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;
    const acknowledged = child.lines.filter((line) => line.startsWith("SENT ")).map((line) => `m${line.slice(5)}`);
    expect(acknowledged.length).toBeGreaterThan(50);
    const delivered = new Set((await drain(path)).map((message) => message.body));
    expect(acknowledged.filter((body) => !delivered.has(body))).toEqual([]);
  }, 180_000);

  it("delivers again, with attempts counted, the batch in flight when the process died", async () => {
    const path = tempFile();
    const clock = new VirtualClock();
    const store = openQueueStore({ path, clock });
    await new QueueProducer({ store, queue: "jobs" }).sendBatch(["a", "b", "c", "d", "e", "f", "g"].map((body) => ({ body })));
    store.close();
    clock.dispose();

    const child = await startChild(CHILD, ["consume", path]);
    expect(await line(child, /^GOT e 1$/)).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;
    expect(child.lines.filter((line) => line.startsWith("GOT "))).toEqual(["GOT a 1", "GOT b 1", "GOT c 1", "GOT d 1", "GOT e 1"]);

    const got = await drain(path);
    expect(got.map((m) => `${String(m.body)}${m.attempts}`).sort()).toEqual(["a2", "b2", "c2", "d2", "e2", "f1", "g1"]);
  });

  it("dead-letters, without delivering it again, a message whose max_retries + 1 deliveries all crashed the process", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const path = tempFile();
    const clock = new VirtualClock();
    const store = openQueueStore({ path, clock });
    await new QueueProducer({ store, queue: "jobs" }).send("poison");
    store.close();
    clock.dispose();

    // max_retries 1: two deliveries, each killing the process (kill -9 while the handler runs).
    for (const attempt of [1, 2]) {
      const child = await startChild(CHILD, ["consume", path, "1", "dlq"]);
      expect(await line(child, new RegExp(`^GOT poison ${attempt}$`)), child.stderr()).not.toBeNull();
      child.proc.kill("SIGKILL");
      await child.exited;
    }

    // The next process: "poison" goes to the dead letter queue; "fine", leased with it, is delivered.
    const after = new VirtualClock();
    const reopened = openQueueStore({ path, clock: after });
    await new QueueProducer({ store: reopened, queue: "jobs" }).send("fine");
    const got: string[] = [];
    const consumers = new QueueConsumers({
      store: reopened,
      consumers: [
        { queue: "jobs", maxBatchSize: 5, maxBatchTimeout: 0, maxRetries: 1, deadLetterQueue: "dlq" },
        { queue: "dlq", maxBatchSize: 5, maxBatchTimeout: 0, maxRetries: 3 },
      ],
      deliver: async (batch) => {
        for (const message of batch.messages) got.push(`${batch.queue}:${String(message.body)}${message.attempts}`);
      },
    });
    consumers.start();
    try {
      await consumers.idle();
      expect(got.sort()).toEqual(["dlq:poison1", "jobs:fine1"]);
      expect((await new QueueProducer({ store: reopened, queue: "jobs" }).metrics()).backlogCount).toBe(0);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(
          /^\[hearth\] queue "jobs": message [0-9a-f]{32} moved to dead letter queue "dlq" without being delivered again: it has had its 2 deliveries \(max_retries 1 \+ 1\), the last of them ending without an outcome/,
        ),
      );
    } finally {
      await consumers.close();
      reopened.close();
      after.dispose();
    }
  });
});
