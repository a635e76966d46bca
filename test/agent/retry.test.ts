import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { QueueItem } from "../../src/schedule/types.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

class Flaky extends Agent {
  calls = 0;
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS runs (what TEXT)`;
  }
  /** Fails `failures` times, then answers with the attempt number. */
  async flaky(failures: number, options?: { maxAttempts?: number; stopOn?: string }) {
    let seen = 0;
    return this.retry(
      async (attempt) => {
        seen++;
        if (attempt <= failures) throw new Error(attempt === 1 && options?.stopOn ? options.stopOn : `fail ${attempt}`);
        return { attempt, seen };
      },
      {
        ...(options?.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
        shouldRetry: (error) => !(options?.stopOn && (error as Error).message === options.stopOn),
      },
    ).catch((error: Error) => ({ error: error.message, seen }));
  }
  async badRetry(options: object) {
    return this.retry(async () => 1, options).catch((error: Error) => `${error.name}: ${error.message}`);
  }
  async addQueued(payload: { kind: string }) {
    const id = await this.queue("work", payload, { retry: { maxAttempts: 2, maxDelayMs: 500 } });
    // Synchronous reads, as documented: no await needed.
    const item = this.getQueue(id);
    const kinds = this.getQueues("kind", payload.kind).map((q) => q.id);
    return { id, retry: item?.retry, found: kinds.includes(id), isPromise: (this.getQueue(id) as unknown) instanceof Promise };
  }
  work(payload: { kind: string }, item: QueueItem) {
    this.sql`INSERT INTO runs VALUES (${payload.kind + ":" + item.id})`;
  }
  async scheduleWith(retry: object) {
    return this.schedule(60, "work", { kind: "x" }, { retry }).then(
      (s) => s.retry,
      (error: Error) => `${error.name}: ${error.message}`,
    );
  }
  failing() {
    this.sql`INSERT INTO runs VALUES ('attempt')`;
    throw new Error("nope");
  }
  async queueFailing() {
    await this.queue("failing", {});
  }
  attempts() {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM runs WHERE what = 'attempt'`[0]!.n;
  }
}

/** A class whose default retry policy is one attempt, no retry. */
class Strict extends Flaky {
  static options = { retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20 } };
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("this.retry()", () => {
  it("retries with backoff on the agent's clock until success, and stops when shouldRetry says so", async () => {
    t = await createTestEnv({ agents: { Flaky } });
    const agent = t.get<Flaky>("Flaky", "a");
    const pending = agent.flaky(2);
    await t.clock.advance("10 seconds");
    expect(await pending).toEqual({ attempt: 3, seen: 3 });

    const exhausted = agent.flaky(10, { maxAttempts: 4 });
    await t.clock.advance("1 minute");
    expect(await exhausted).toEqual({ error: "fail 4", seen: 4 });

    expect(await agent.flaky(5, { stopOn: "fatal" })).toEqual({ error: "fatal", seen: 1 });
  });

  it("uses the class's static options.retry as defaults", async () => {
    t = await createTestEnv({ agents: { Strict } });
    expect(await t.get<Strict>("Strict", "s").flaky(1)).toEqual({ error: "fail 1", seen: 1 });
  });

  it("validates its options against the defaults, with the Agents SDK's messages", async () => {
    t = await createTestEnv({ agents: { Flaky } });
    const agent = t.get<Flaky>("Flaky", "v");
    expect(await agent.badRetry({ baseDelayMs: 5000 })).toBe("RangeError: retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)");
    expect(await agent.badRetry({ maxAttempts: 0 })).toBe("RangeError: retry.maxAttempts must be >= 1, got 0");
    expect(await agent.badRetry({ maxAttempts: 1.5 })).toBe("RangeError: retry.maxAttempts must be an integer, got 1.5");
    expect(await agent.badRetry({ shouldRetry: true })).toMatch(/shouldRetry must be a function/);
  });
});

describe("queue and schedule retry options", () => {
  it("getQueue and getQueues are synchronous and give the retry policy back as it was given (Cloudflare stores it so)", async () => {
    t = await createTestEnv({ agents: { Flaky } });
    const result = await t.get<Flaky>("Flaky", "q").addQueued({ kind: "k" });
    expect(result.isPromise).toBe(false);
    expect(result.found).toBe(true);
    expect(result.retry).toEqual({ maxAttempts: 2, maxDelayMs: 500 });
  });

  it("refuses a base delay above the default cap when scheduling", async () => {
    t = await createTestEnv({ agents: { Flaky, Strict } });
    expect(await t.get<Flaky>("Flaky", "s").scheduleWith({ baseDelayMs: 5000 })).toBe(
      "RangeError: retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)",
    );
    // Against the class's own defaults: Strict's cap is 20 ms.
    expect(await t.get<Strict>("Strict", "s").scheduleWith({ baseDelayMs: 50 })).toBe("RangeError: retry.baseDelayMs must be <= retry.maxDelayMs (50 > 20)");
    expect(await t.get<Flaky>("Flaky", "s").scheduleWith({ baseDelayMs: 5000, maxDelayMs: 6000 })).toEqual({ baseDelayMs: 5000, maxDelayMs: 6000 });
  });

  it("queued work without its own policy follows the class's defaults", async () => {
    t = await createTestEnv({ agents: { Flaky, Strict } });
    const strict = t.get<Strict>("Strict", "d");
    const flaky = t.get<Flaky>("Flaky", "d");
    await strict.queueFailing();
    await flaky.queueFailing();
    await t.clock.advance("1 minute");
    expect(await strict.attempts()).toBe(0); // rolled back with the failing callback
    const failures = (agent: { getTaskFailures(): Promise<Array<{ attempts: number }>> }) => agent.getTaskFailures();
    expect((await failures(strict)).map((f) => f.attempts)).toEqual([1]);
    expect((await failures(flaky)).map((f) => f.attempts)).toEqual([3]);
  });
});
