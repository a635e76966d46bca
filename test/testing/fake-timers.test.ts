/**
 * An application's tests often use vitest's fake timers. They replace the global timer functions, so
 * Hearth's own work must not wait on them: a turn's commit (and the reply waiting for it) scheduled
 * on a fake `setImmediate` would wait until the test advanced the fake clock, or for ever once it
 * switched back to real timers.
 */
import { setTimeout as realSetTimeout } from "node:timers"; // Node's own: vitest's fake timers do not replace it
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { freshNamespace } from "../kv/setup.ts";

class Notes extends Agent {
  add(text: string): number {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT NOT NULL)`;
    this.sql`INSERT INTO notes (text) VALUES (${text})`;
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM notes`[0]!.n;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await t?.close();
  t = undefined;
});

describe("an agent under the application's fake timers", () => {
  it("hibernates on its own when its host was made under them, once they are gone", async () => {
    vi.useFakeTimers();
    t = await createTestEnv({ agents: { Notes }, time: "system", host: { hibernateAfterMs: 50 } });
    expect(await t.get<Notes>("Notes", "c").add("made under fake timers")).toBe(1);
    vi.useRealTimers();
    // The host's sweep is Node's own interval: a fake one would never have fired again.
    await vi.waitFor(() => expect(t!.host.stats.liveAgents).toBe(0), { timeout: 5_000, interval: 20 });
  });

  it("commits its writes and answers without the fake clock moving", async () => {
    t = await createTestEnv({ agents: { Notes }, time: "system" });
    expect(await t.get<Notes>("Notes", "a").add("before")).toBe(1);
    vi.useFakeTimers();
    // Answered once its write is committed, at the end of the turn: on a fake setImmediate it never was.
    const answer = t.get<Notes>("Notes", "a").add("under fake timers");
    const settled = await Promise.race([answer, new Promise<string>((resolve) => realSetTimeout(() => resolve("no answer"), 10_000).unref())]);
    expect(settled).toBe(2);
    // Calls made under the fake timers, then answered once they are gone: nothing was left waiting on a fake turn.
    const more = Promise.all([t.get<Notes>("Notes", "a").add("x"), t.get<Notes>("Notes", "b").add("y")]);
    vi.useRealTimers();
    expect(await more).toEqual([3, 1]);
    // Still committed after a restart: the write was durable, not only answered.
    await t.restart();
    expect(await t.get<Notes>("Notes", "a").add("after")).toBe(4);
  });
});

describe("a KV namespace under the application's fake timers", () => {
  it("writes and answers without the fake clock moving, and goes on once they are gone", async () => {
    const { kv } = freshNamespace();
    vi.useFakeTimers();
    // A turn's writes are one transaction, committed at the end of the turn: on a fake setImmediate, never.
    const put = kv.put("k", "under fake timers");
    const settled = await Promise.race([put.then(() => "written"), new Promise<string>((resolve) => realSetTimeout(() => resolve("not written"), 10_000).unref())]);
    vi.useRealTimers();
    expect(settled).toBe("written");
    await kv.put("k2", "after");
    expect([await kv.get("k"), await kv.get("k2")]).toEqual(["under fake timers", "after"]);
  });
});
