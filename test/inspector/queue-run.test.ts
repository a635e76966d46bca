/**
 * "Run now" of a queued item (`POST …/queue/:id/run`): the item goes first in line, due now, its
 * breaker cleared, and the agent's own dispatcher runs it as its next attempt. Real agents on a real
 * host, the inspector on loopback; virtual time never moves here, so a run that happens did not wait
 * out its backoff.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AgentStub } from "../../src/host/namespace.ts";
import { Agent } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { raw, type RawInit, type RawResponse } from "./fixture.ts";

/** A promise and its resolve, for the test to hold a callback and to learn it started. */
interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** Tries of each key, across attempts (a failed attempt's SQL is undone; this is not). */
const tries = new Map<string, number>();
/** Per key: told when its callback starts, and holding it until the test releases it. */
const gates = new Map<string, { started: Deferred; release: Deferred }>();

function gate(key: string): { started: Deferred; release: Deferred } {
  let found = gates.get(key);
  if (!found) gates.set(key, (found = { started: deferred(), release: deferred() }));
  return found;
}

function tried(key: string): number {
  const count = (tries.get(key) ?? 0) + 1;
  tries.set(key, count);
  return count;
}

type Job = { key: string };
type Retry = { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };

/** An hour's backoff: a failed item waits in the queue (and blocks the items behind it) unless run now. */
const HOUR_BACKOFF: Retry = { maxAttempts: 3, baseDelayMs: 3_600_000, maxDelayMs: 3_600_000 };

class Jobs extends Agent {
  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS done (key TEXT NOT NULL)`;
  }

  enqueue(callback: "failsOnce" | "succeeds" | "waits" | "hangsOnce", key: string, retry?: Retry): Promise<string> {
    return this.queue(callback, { key }, retry ? { retry } : {});
  }

  /** Its first try fails; the next one succeeds. */
  failsOnce(job: Job): void {
    if (tried(job.key) === 1) throw new Error(`try 1 of ${job.key} failed`);
    this.sql`INSERT INTO done (key) VALUES (${job.key})`;
  }

  succeeds(job: Job): void {
    tried(job.key);
    this.sql`INSERT INTO done (key) VALUES (${job.key})`;
  }

  /** Runs until the test releases it. */
  async waits(job: Job): Promise<void> {
    tried(job.key);
    gate(job.key).started.resolve();
    await gate(job.key).release.promise;
    this.sql`INSERT INTO done (key) VALUES (${job.key})`;
  }

  /** Its first try never ends on its own (reported as hung); the next one succeeds. */
  async hangsOnce(job: Job): Promise<void> {
    if (tried(job.key) === 1) await gate(job.key).release.promise;
    else this.sql`INSERT INTO done (key) VALUES (${job.key})`;
  }

  done(): string[] {
    return this.sql<{ key: string }>`SELECT key FROM done ORDER BY rowid`.map((row) => row.key);
  }

  override onError(): void {} // failures and hangs are expected here
}

interface Setup {
  t: TestEnv;
  inspector: InspectorHandle;
  jobs: AgentStub<Jobs>;
  api(path: string, init?: RawInit & { as?: "viewer" | "admin" | null }): Promise<RawResponse>;
  /** `POST …/queue/:id/run` with the admin token. */
  runNow(id: string): Promise<RawResponse>;
  /** The queue as the inspector lists it. */
  listed(): Promise<Array<Record<string, unknown>>>;
}

let setup: Setup | undefined;
afterEach(async () => {
  for (const { release } of gates.values()) release.resolve();
  await setup?.inspector.close();
  await setup?.t.close({ drainMs: 0 });
  setup = undefined;
  tries.clear();
  gates.clear();
});

async function start(host: { hungTaskAfterMs?: number; crashLoopLimit?: number } = {}): Promise<Setup> {
  const t = await createTestEnv({ agents: { Jobs }, host });
  const inspector = await startInspector({ host: t.host, env: {} });
  const jobs = t.get<Jobs>("Jobs", "j");
  const api: Setup["api"] = (path, init = {}) => {
    const as = init.as === undefined ? "viewer" : init.as;
    const token = as === "admin" ? inspector.adminToken : as === "viewer" ? inspector.token : undefined;
    return raw(new URL(path, inspector.url).toString(), { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers } });
  };
  setup = {
    t,
    inspector,
    jobs,
    api,
    runNow: (id) => api(`/api/agents/Jobs/j/queue/${encodeURIComponent(id)}/run`, { method: "POST", as: "admin" }),
    listed: async () => (await api("/api/agents/Jobs/j/queue")).json().items,
  };
  return setup;
}

describe("running a queued item now", () => {
  it("runs an item waiting out a long backoff at once, as its next attempt, and audits it", async () => {
    const { t, jobs, runNow, listed, api } = await start();
    const id = await jobs.enqueue("failsOnce", "k", HOUR_BACKOFF);
    await t.clock.settle();
    // The first try failed: the item waits an hour, and the list says why.
    expect(tries.get("k")).toBe(1);
    const before = t.clock.now().getTime();
    expect(await listed()).toEqual([{ id, callback: "failsOnce", payload: { key: "k" }, createdAt: expect.any(Number), dueAt: expect.any(Number), attempts: 1, lastError: "try 1 of k failed" }]);
    // When its next attempt is due: about an hour on, not now.
    const dueAt = (await listed())[0]!.dueAt as number;
    expect(dueAt).toBeGreaterThan(before + 1_800_000);
    expect(dueAt).toBeLessThanOrEqual(before + 3_600_000);

    const ran = await runNow(id);
    expect(ran.status).toBe(202);
    expect(ran.json()).toEqual({ queued: "now" });
    await t.clock.settle(); // runs what is due now; time does not move
    expect(t.clock.now().getTime()).toBe(before);
    expect(tries.get("k")).toBe(2);
    expect(await jobs.done()).toEqual(["k"]);
    expect(await listed()).toEqual([]);

    const [row] = (await api("/api/audit")).json().items;
    expect(row).toMatchObject({ role: "admin", action: "queue.run", target: `Jobs/j#${id}`, ok: true });
  });

  it("runs an item stuck behind a blocked head before that head, which stays blocked", async () => {
    const { t, jobs, runNow, listed } = await start();
    const head = await jobs.enqueue("failsOnce", "head", HOUR_BACKOFF);
    const middle = await jobs.enqueue("succeeds", "middle");
    const last = await jobs.enqueue("succeeds", "last");
    await t.clock.settle();
    expect([...tries.keys()]).toEqual(["head"]); // strict FIFO: the others wait behind the head's backoff

    expect((await runNow(last)).status).toBe(202);
    await t.clock.settle();
    expect(await jobs.done()).toEqual(["last"]);
    expect((await listed()).map((item) => [item.id, item.attempts])).toEqual([[head, 1], [middle, 0]]);

    // The head run now succeeds; the item behind it, due all along, follows.
    expect((await runNow(head)).status).toBe(202);
    await t.clock.settle();
    expect(await jobs.done()).toEqual(["last", "head", "middle"]);
    expect(await listed()).toEqual([]);
  });

  it("runs an item the crash-loop breaker stopped again, and it leaves the queue once it succeeds", async () => {
    // One unfinished run trips the breaker; the hang timeout (real time) leaves the later, quick run room.
    const { t, jobs, runNow, listed } = await start({ hungTaskAfterMs: 250, crashLoopLimit: 1 });
    const id = await jobs.enqueue("hangsOnce", "h", { maxAttempts: 5, baseDelayMs: 0 });
    await t.clock.settle(); // the first try is reported hung; the breaker then stops the item
    const [stopped] = await listed();
    expect(stopped).toMatchObject({ id, attempts: 1, tripped: { crashes: 1, at: expect.any(Number) }, lastError: expect.stringMatching(/crash-loop breaker/) });
    await t.clock.settle();
    expect(tries.get("h")).toBe(1); // stopped: nothing runs it

    expect((await runNow(id)).status).toBe(202);
    await t.clock.settle();
    expect(tries.get("h")).toBe(2);
    expect(await jobs.done()).toEqual(["h"]);
    expect(await listed()).toEqual([]);
  });

  it("answers 409 while a run of the item is under way, and 404 for an item that is not queued", async () => {
    const { t, jobs, runNow, listed, api } = await start();
    const id = await jobs.enqueue("waits", "w");
    await gate("w").started.promise; // the dispatcher runs it on its own: it is due now
    const busy = await runNow(id);
    expect(busy.status).toBe(409);
    expect(busy.json().error).toEqual({ code: "queue_item_running", message: `Jobs/j is running queued item "${id}" now: try again once this run has ended` });

    gate("w").release.resolve();
    await t.clock.settle();
    expect(tries.get("w")).toBe(1); // the refused call changed nothing: one run, which succeeded
    expect(await listed()).toEqual([]);
    const gone = await runNow(id);
    expect(gone.status).toBe(404);
    expect(gone.json().error).toEqual({ code: "not_found", message: `Jobs/j has no queued item "${id}"` });
    expect((await runNow("nope")).json().error).toEqual({ code: "not_found", message: 'Jobs/j has no queued item "nope"' });

    const audit = (await api("/api/audit")).json().items as Array<{ action: string; ok: boolean; target: string }>;
    expect(audit.map(({ action, ok, target }) => [action, ok, target])).toEqual([
      ["queue.run", false, "Jobs/j#nope"],
      ["queue.run", false, `Jobs/j#${id}`],
      ["queue.run", false, `Jobs/j#${id}`],
    ]);
  });

  it("needs the admin token: without it the item is not run", async () => {
    const { t, jobs, api, runNow, listed } = await start();
    const id = await jobs.enqueue("failsOnce", "k", HOUR_BACKOFF);
    await t.clock.settle();
    const path = `/api/agents/Jobs/j/queue/${id}/run`;
    const none = await api(path, { method: "POST", as: null });
    expect(none.status).toBe(401);
    const viewer = await api(path, { method: "POST" });
    expect(viewer.status).toBe(403);
    expect(viewer.json().error).toEqual({ code: "admin_required", message: `POST ${path} changes data: it needs the admin token` });
    await t.clock.settle();
    expect(tries.get("k")).toBe(1);
    expect((await listed()).map((item) => item.attempts)).toEqual([1]);
    expect((await runNow(id)).status).toBe(202);
  });
});
