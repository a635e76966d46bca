import { describe, expect, it } from "vitest";
import { BUCKET_MS, COUNT_LOOK_BACK_MS, MAX_CLASSES_PER_PROBLEM, ProblemStore, type Problem } from "../../../src/observability/store/index.ts";

/** The same bug (code every class shares: one fingerprint) at `time`, in an agent of `agentClass`. */
function sharedBug(problems: ProblemStore, time: number, agentClass?: string, agent?: string): Problem {
  return problems.record({ name: "TypeError", message: "x is undefined", stack: "TypeError: x\n    at Base.load (/app/src/base.ts:3:3)", time, class: agentClass, agent });
}

describe("ProblemStore by agent class", () => {
  it("counts each occurrence under its own class, whichever class the group's latest came from", () => {
    const now = 10_000_000;
    const problems = new ProblemStore({ now: () => now });
    sharedBug(problems, now - 50_000, "Chat", "a");
    sharedBug(problems, now - 40_000, "Chat", "b");
    sharedBug(problems, now - 30_000); // outside any agent
    const { fingerprint } = sharedBug(problems, now - 20_000, "Mail", "m");
    expect(problems.size).toBe(1);
    expect(problems.countSince({ class: "Chat" }, now - 60_000)).toBe(2);
    expect(problems.countSince({ class: "Mail" }, now - 60_000)).toBe(1);
    expect(problems.countSince({ class: "Inbox" }, now - 60_000)).toBe(0);
    expect(problems.countSince({}, now - 60_000)).toBe(4);
    expect(problems.countByFingerprintSince({ class: "Chat" }, now - 40_000)).toEqual(new Map([[fingerprint, 1]]));

    expect(problems.recent({ class: "Chat" })).toEqual([expect.objectContaining({ fingerprint, class: "Mail", count: 4 })]);
    expect(problems.recent({ class: "Chat", since: now - 35_000 })).toEqual([]); // no Chat occurrence since then
    expect(problems.sample({ class: "Chat" })).toEqual({ fingerprint, name: "TypeError", message: "x is undefined", at: now - 40_000, class: "Chat" });
    expect(problems.sample({ class: "Mail" })).toEqual({ fingerprint, name: "TypeError", message: "x is undefined", at: now - 20_000, class: "Mail", agent: "m" });

    sharedBug(problems, now - 10_000, "Chat", "c"); // and back: Chat's again the latest
    expect(problems.countSince({ class: "Mail" }, now - 60_000)).toBe(1);
    expect(problems.countSince({ class: "Chat" }, now - 60_000)).toBe(3);
  });

  it("counts at most MAX_CLASSES_PER_PROBLEM classes apart in a group, and reuses the place of a class idle for a day", () => {
    let now = 100_000_000;
    const problems = new ProblemStore({ now: () => now });
    for (let i = 0; i < MAX_CLASSES_PER_PROBLEM; i++) sharedBug(problems, now, `Class${i}`);
    const { fingerprint, overClassLimit } = sharedBug(problems, now, "Late");
    expect(overClassLimit).toBe(1);
    expect(problems.countSince({}, now - BUCKET_MS)).toBe(MAX_CLASSES_PER_PROBLEM + 1); // counted in the totals
    expect(problems.countSince({ class: "Late" }, now - BUCKET_MS)).toBe(0); // not under its class
    expect(problems.recent({ class: "Late" })).toEqual([]);

    now += COUNT_LOOK_BACK_MS + 1;
    for (let i = 1; i < MAX_CLASSES_PER_PROBLEM; i++) sharedBug(problems, now, `Class${i}`); // all but Class0 again
    sharedBug(problems, now, "Late");
    expect(problems.countSince({ class: "Late" }, now - BUCKET_MS)).toBe(1);
    expect(problems.countSince({ class: "Class0" }, 0)).toBe(0);
    expect(problems.countSince({}, now - BUCKET_MS)).toBe(MAX_CLASSES_PER_PROBLEM);
    expect(problems.get(fingerprint)!.overClassLimit).toBe(1);
  });
});
