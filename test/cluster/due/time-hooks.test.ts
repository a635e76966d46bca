import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { ClusterTime } from "../../../src/cluster/due/cluster-time.ts";
import { wakeInFile } from "../../../src/cluster/due/file-wake.ts";
import { writeDue } from "../../../src/cluster/pg/due.ts";
import { clusterTables } from "../../../src/cluster/pg/schema.ts";
import { placeFromIndex } from "../../../src/host/place.ts";
import { Timekeeper } from "../../../src/host/timekeeper.ts";
import type { TimedWork } from "../../../src/host/timed-work.ts";
import { Agent, Host, VirtualClock } from "../../../src/index.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture, waitFor } from "../pg/fixture.ts";
import { declareDead, dueRows, simNode } from "./support.ts";

const T = Date.UTC(2030, 0, 1);

class Ticker extends Agent {
  async arm(seconds: number): Promise<void> {
    await this.schedule(seconds, "tick");
  }
  tick(): void {}
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hearth-due-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An agent file with a schedule `seconds` ahead, written by a real single-node host; returns its slug and next wake. */
async function agentWithSchedule(dataDir: string, name: string, seconds: number): Promise<{ slug: string; at: number }> {
  const host = new Host({ dataDir, agents: { Ticker } });
  try {
    await host.invoke("Ticker", name, "arm", [seconds]);
    return { slug: host.storageSlugOf("Ticker"), at: host.nextWake("Ticker", name)!.getTime() };
  } finally {
    await host.close();
  }
}

/** Timed work under the workflows' prefix that does nothing: what matters here is whose entries are whose. */
const WORKFLOW_ENTRIES: TimedWork = {
  prefix: "workflow:",
  attach: () => {},
  wake: () => Promise.resolve(null),
  start: () => {},
  running: 0,
  idle: () => Promise.resolve(),
  close: () => {},
};

describe("the host's due index tells its placement of root agents' trees' next wakes", () => {
  function timekeeper(told: Array<[string, string, number | null]>): Timekeeper {
    const dir = tempDir();
    const keeper = new Timekeeper({
      dataDir: dir,
      stateDir: dir,
      durability: "relaxed",
      clock: new VirtualClock({ start: T }),
      hungTaskAfterMs: 60_000,
      concurrency: 4,
      maxLiveAgents: 16,
      // Workflow instances' entries, as a host with workflows has them (workflow/hosted-workflows.ts).
      timedWork: [WORKFLOW_ENTRIES],
      wakeSources: [],
      deliver: () => Promise.reject(new Error("no agents here")),
      timedWorkHost: { env: {}, agentStub: () => undefined, notifyAgent: () => Promise.resolve() },
      report: () => {},
      nextWakeChanged: (slug, name, at) => told.push([slug, name, at]),
    });
    return keeper;
  }

  test("every change of an entry, and only changes", () => {
    const told: Array<[string, string, number | null]> = [];
    const keeper = timekeeper(told);
    try {
      keeper.dispatcher.lower("ticker", "a", T + 5_000);
      keeper.dispatcher.lower("ticker", "a", T + 9_000); // later: the entry stays
      keeper.dispatcher.lower("ticker", "a", T + 1_000);
      keeper.dispatcher.reconcile("ticker", "a", T + 7_000); // hibernation sets the exact time
      keeper.dispatcher.reconcile("ticker", "a", T + 7_000);
      keeper.dispatcher.lowerMany([{ slug: "ticker", name: "b", at: T + 3_000 }]);
      keeper.dispatcher.forget("ticker", "b");
      keeper.dispatcher.lower("ticker", "c", T);
      keeper.dispatcher.forgetTree("ticker", "c");
      // A sub-agent's entry counts for its root's tree: told as the root's when it is the earliest.
      keeper.dispatcher.lower("ticker", "a\0child", T);
      keeper.dispatcher.lower("ticker", "a\0child\0grandchild", T + 100); // not the earliest
      keeper.dispatcher.forget("ticker", "a\0child");
      // A workflow instance's entry is no agent's.
      keeper.index.lower("workflow:flow", "run-1", T);
      expect(told).toEqual([
        ["ticker", "a", T + 5_000],
        ["ticker", "a", T + 1_000],
        ["ticker", "a", T + 7_000],
        ["ticker", "b", T + 3_000],
        ["ticker", "b", null],
        ["ticker", "c", T],
        ["ticker", "c", null],
        ["ticker", "a", T],
        ["ticker", "a", T + 100],
      ]);
    } finally {
      keeper.close();
    }
  });

  test("a listener that throws does not break the index", () => {
    const throwing = new Timekeeper({
      dataDir: tempDir(),
      stateDir: tempDir(),
      durability: "relaxed",
      clock: new VirtualClock({ start: T }),
      hungTaskAfterMs: 60_000,
      concurrency: 4,
      maxLiveAgents: 16,
      timedWork: [],
      wakeSources: [],
      deliver: () => Promise.reject(new Error("no agents here")),
      timedWorkHost: { env: {}, agentStub: () => undefined, notifyAgent: () => Promise.resolve() },
      report: () => {},
      nextWakeChanged: () => {
        throw new Error("listener broke");
      },
    });
    try {
      throwing.dispatcher.lower("ticker", "a", T);
      expect(throwing.index.get("ticker", "a")).toBe(T);
    } finally {
      throwing.close();
    }
  });
});

describe("an agent file's next wake", () => {
  test("is what the host's index held for it; null without schedules or file", async () => {
    const dir = tempDir();
    const { slug, at } = await agentWithSchedule(dir, "t1", 3_600);
    expect(wakeInFile(placeFromIndex(dir, slug, "t1").file, Date.now())).toBe(at);
    expect(wakeInFile(placeFromIndex(dir, slug, "missing").file, Date.now())).toBeNull();
    const host = new Host({ dataDir: dir, agents: { Ticker } });
    await host.start("Ticker", "idle");
    await host.close();
    expect(wakeInFile(placeFromIndex(dir, slug, "idle").file, Date.now())).toBeNull();
  });
});

describe.skipIf(postgresUnavailable() !== undefined)("cluster time on a node", () => {
  const pg = pgFixture("due_time");

  test("a dead node's due agent is claimed, put in this host's due index from its file, rewritten under the new epoch and started", async () => {
    const dataDir = tempDir();
    const { slug, at } = await agentWithSchedule(dataDir, "t1", 3_600);
    const actorId = `${slug}/t1`;
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const a = await simNode(pg, pool, schema, "a");
    const c = await simNode(pg, pool, schema, "c");
    await c.claim(actorId);
    // The dead owner's row is earlier than the file's schedule: early is allowed, the file is exact.
    await writeDue(pool, clusterTables(schema), [{ actorId, epoch: 1, at: Date.now() - 500 }]);
    await declareDead(pool, schema, c);
    const lowered: Array<[string, string, number]> = [];
    const started: string[] = [];
    const time = new ClusterTime({
      pool,
      schema,
      nodeId: "a",
      dataDir,
      epochOf: (id) => a.held.get(id),
      active: () => a.membership.valid,
      claim: (id) => a.claim(id),
      start: async (s, n) => void started.push(`${s}/${n}`),
      scanner: { intervalMs: 20 },
    });
    pg.track(time);
    time.attach({ lower: (s, n, when) => void lowered.push([s, n, when]) });
    expect(time.attached).toBe(true);
    time.start();
    await waitFor("the start", () => started.length === 1);
    await time.writer.flush();
    expect(started).toEqual([actorId]);
    expect(lowered).toEqual([[slug, "t1", at]]);
    expect(await dueRows(pool, schema)).toEqual({ [actorId]: [at, 2] });
    expect(time.scanner.stats).toMatchObject({ takes: 1, failures: 0 });
    // The host's hook: later changes of the agent's wake reach actor_due under the new epoch.
    time.nextWakeChanged(slug, "t1", null);
    await time.settled(actorId);
    expect(await dueRows(pool, schema)).toEqual({});
  });
});
