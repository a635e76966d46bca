/**
 * The team run index on its own: reports from the runs' channel (another host's ignored), an older
 * report never overwriting a newer one, retention of finished runs and the row cap.
 */
import { channel } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { INSPECTOR_LIMITS } from "../../src/inspector/index.ts";
import { TeamRunIndex, type IndexedTeamRun } from "../../src/inspector/team-run-index.ts";
import { TEAM_RUN_CHANNEL, type TeamRunSignal } from "../../src/teams/run-signal.ts";
import { VirtualClock } from "../../src/time/clock.ts";

let dir: string | undefined;
let index: TeamRunIndex | undefined;
afterEach(() => {
  index?.close();
  index = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const DAY = 24 * 60 * 60 * 1000;

function open(clock = new VirtualClock({ start: 10 * DAY })): { index: TeamRunIndex; dataDir: string; clock: VirtualClock } {
  dir = mkdtempSync(join(tmpdir(), "hearth-inspector-runs-"));
  const dataDir = join(dir, "data");
  index = new TeamRunIndex(join(dataDir, "inspector", "team-runs.sqlite"), { dataDir, now: () => clock.now() });
  return { index, dataDir, clock };
}

function run(runId: string, over: Partial<IndexedTeamRun> = {}): IndexedTeamRun {
  return { class: "Desk", name: "d", sub: "", runId, team: "t", status: "running", startedAt: 1, updatedAt: 1, endedAt: null, tokens: 0, costUsd: 0, ...over };
}

describe("TeamRunIndex", () => {
  it("keeps this host's reports and ignores another host's", () => {
    const { index, dataDir } = open();
    index.listen();
    const signal: TeamRunSignal = { event: "run-started", className: "Desk", name: "d", sub: [{ className: "Page", name: "p/1" }], databaseFile: join(dataDir, "agents", "desk", "ab", "d.sqlite"), runId: "r1", team: "t", status: "running", tokens: 3, costUsd: 0.5, startedAt: 5, updatedAt: 5, endedAt: null };
    channel(TEAM_RUN_CHANNEL).publish(signal);
    channel(TEAM_RUN_CHANNEL).publish({ ...signal, runId: "elsewhere", databaseFile: join(dir!, "other", "d.sqlite") });
    expect(index.list({ offset: 0, limit: 10 }).items).toEqual([{ class: "Desk", name: "d", sub: "Page/p%2F1", runId: "r1", team: "t", status: "running", startedAt: 5, updatedAt: 5, endedAt: null, tokens: 3, costUsd: 0.5 }]);
  });

  it("never lets an older report overwrite a newer one", () => {
    const { index } = open();
    index.upsert(run("r", { status: "completed", updatedAt: 9, endedAt: 9 }));
    index.upsert(run("r", { status: "running", updatedAt: 4 }));
    expect(index.list({ offset: 0, limit: 10 }).items[0]).toMatchObject({ status: "completed", endedAt: 9 });
    expect(index.counts()).toEqual({ running: 0, waiting: 0, paused: 0 });
  });

  it("drops finished runs past the retention, keeps unfinished ones, and caps the rows", () => {
    const { index, clock } = open();
    index.upsert(run("old", { status: "completed", endedAt: clock.now() - INSPECTOR_LIMITS.teamRunRetentionMs - 1 }));
    index.upsert(run("recent", { status: "failed", endedAt: clock.now() - DAY }));
    index.upsert(run("waiting", { status: "waiting", startedAt: 0 }));
    index.prune();
    expect(index.list({ offset: 0, limit: 10 }).items.map((item) => item.runId).sort()).toEqual(["recent", "waiting"]);
    for (let i = 0; i < INSPECTOR_LIMITS.maxIndexedTeamRuns; i++) index.upsert(run(`r${i}`, { status: "completed", startedAt: 100 + i, updatedAt: 100 + i, endedAt: clock.now() }));
    index.prune();
    const all = index.list({ offset: 0, limit: 500 });
    expect(all.more).toBe(true);
    expect(index.counts().waiting).toBe(1);
    const pages = [];
    for (let offset = 0; ; offset += 500) {
      const page = index.list({ offset, limit: 500 });
      pages.push(...page.items);
      if (!page.more) break;
    }
    expect(pages).toHaveLength(INSPECTOR_LIMITS.maxIndexedTeamRuns);
    // Two rows too many: the two oldest finished runs went; the older unfinished one stayed.
    expect(pages.some((item) => item.runId === "recent" || item.runId === "r0")).toBe(false);
    expect(pages.some((item) => item.runId === "r1")).toBe(true);
    expect(pages.some((item) => item.runId === "waiting")).toBe(true);
  });
});
