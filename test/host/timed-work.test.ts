/**
 * The core host's named interface for durable work besides agents (host/timed-work.ts), used by
 * something other than workflows: its timers sit in the host's due index under its own prefix, are
 * woken by the host's one timer, survive a restart of the host, and never reach an agent.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ActorHost, VirtualClock, type TimedWork, type TimedWorkHost } from "../../src/index.ts";

const T = Date.UTC(2026, 0, 1);

/** Reminders as timed work: each is woken once at its time, or again `repeatMs` later while `repeats` lasts. */
class Reminders implements TimedWork {
  prefix = "reminder:";
  readonly woken: Array<{ key: string; name: string; at: number }> = [];
  host: TimedWorkHost | undefined;
  started: boolean[] = [];
  closed = false;
  repeats = 0;

  attach(host: TimedWorkHost): void {
    this.host = host;
  }

  async wake(key: string, name: string): Promise<number | null> {
    this.woken.push({ key, name, at: this.host!.clock.now() });
    if (this.repeats <= 0) return null;
    this.repeats--;
    return this.host!.clock.now() + 500;
  }

  start(freshIndex: boolean): void {
    this.started.push(freshIndex);
  }

  get running(): number {
    return 0;
  }

  async idle(): Promise<void> {}

  close(): void {
    this.closed = true;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("timed work plugged into the core host", () => {
  it("is attached with the host's clock and env, started with its timer, woken at its times under its prefix, and closed with it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-timed-work-"));
    dirs.push(dataDir);
    const clock = new VirtualClock({ start: T });
    const reminders = new Reminders();
    const host = new ActorHost({ dataDir, agents: {}, clock, vars: { GREETING: "hi" }, timedWork: [reminders] });
    expect(reminders.host?.clock).toBe(clock);
    expect(reminders.host?.env.GREETING).toBe("hi");
    expect(reminders.started).toEqual([true]); // a new host: its index was just made

    reminders.repeats = 1;
    reminders.host!.lowerTimers([{ key: "standup", name: "team-a", at: T + 1_000 }]);
    expect(host.pendingTasks).toEqual({ agents: 1, nextAt: T + 1_000 });
    await clock.advanceTo(T + 999);
    await host.tasksIdle();
    expect(reminders.woken).toEqual([]);
    await clock.advanceTo(T + 1_000);
    await host.tasksIdle();
    expect(reminders.woken).toEqual([{ key: "standup", name: "team-a", at: T + 1_000 }]);
    // The wake asked to be woken again 500 ms on; the second wake lets the entry go.
    expect(host.pendingTasks.nextAt).toBe(T + 1_500);
    await clock.advanceTo(T + 1_500);
    await host.tasksIdle();
    expect(reminders.woken.map((wake) => wake.at)).toEqual([T + 1_000, T + 1_500]);
    expect(host.pendingTasks).toEqual({ agents: 0, nextAt: null });

    await host.close();
    expect(reminders.closed).toBe(true);
  });

  it("is refused, with the rule, when its prefix could be mistaken for an agent's storage slug", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-timed-work-"));
    dirs.push(dataDir);
    const odd = Object.assign(new Reminders(), { prefix: "reminder" });
    expect(() => new ActorHost({ dataDir, agents: {}, timedWork: [odd] })).toThrow(/prefix is a lower-case word ending in ":"/);
  });

  it("keeps its timers in the host's index across a restart", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-timed-work-"));
    dirs.push(dataDir);
    const clock = new VirtualClock({ start: T });
    const before = new Reminders();
    const first = new ActorHost({ dataDir, agents: {}, clock, timedWork: [before] });
    before.host!.lowerTimers([{ key: "renewal", name: "acct-7", at: T + 60_000 }]);
    await first.close();

    const after = new Reminders();
    const second = new ActorHost({ dataDir, agents: {}, clock, timedWork: [after] });
    expect(after.started).toEqual([false]); // the index was there: nothing to re-arm
    expect(second.pendingTasks.nextAt).toBe(T + 60_000);
    await clock.advanceTo(T + 60_000);
    await second.tasksIdle();
    expect(after.woken).toEqual([{ key: "renewal", name: "acct-7", at: T + 60_000 }]);
    expect(before.woken).toEqual([]);
    await second.close();
  });
});
