import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, Host, VirtualClock, type AgentNamespace } from "../../src/index.ts";
import { LIMITS } from "../../src/limits.ts";
import { openConnectionCap, setOpenConnectionCap } from "../../src/storage/parking.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";

const T = Date.UTC(2030, 0, 1);
const DUE = T + 60_000;
/** More agents than twice the dispatcher's concurrency (the bound on starts ahead before it followed the room for open agents). */
const AGENTS = 2 * LIMITS.taskConcurrency + 88;

const fired: string[] = [];

class Sleeper extends Agent {
  plan(at: number): Promise<unknown> {
    return this.schedule(new Date(at), "wakeUp");
  }
  wakeUp(): void {
    fired.push(this.name);
  }
}

const defaultCap = openConnectionCap();
let host: Host | undefined;
let dir: string | undefined;

afterEach(async () => {
  setOpenConnectionCap(defaultCap);
  await host?.close();
  host = undefined;
  await whenFilesSettled();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  fired.length = 0;
});

/** Lets due timers, and the deliveries they start, run (real turns; the virtual clock stands still). */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 20_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("waking a burst of hibernated agents ahead of their schedules", () => {
  it("every agent of a burst due in the same second is in memory before its time, and none runs early", async () => {
    setOpenConnectionCap(4 * AGENTS); // room for all of them open (the default follows the descriptor limit)
    dir = mkdtempSync(join(tmpdir(), "hearth-wake-burst-"));
    const clock = new VirtualClock({ start: T });
    host = new Host({ dataDir: dir, agents: { Sleeper }, clock, hibernateAfterMs: 3_600_000 });
    const ns = host.env.Sleeper as AgentNamespace<Sleeper>;
    for (let i = 0; i < AGENTS; i++) await (await getAgentByName(ns, `s${i}`)).plan(DUE + (i % 100));
    expect(host.hibernateIdleAgents()).toBe(AGENTS);
    expect(host.stats.liveAgents).toBe(0);

    await clock.advanceTo(DUE - 900); // every one of them is due within the next second: all may start
    await until(() => host!.stats.liveAgents === AGENTS);
    expect(host.stats.liveAgents).toBe(AGENTS);
    expect(fired).toEqual([]);

    await clock.advanceTo(DUE + 100);
    await until(() => fired.length === AGENTS);
    expect(new Set(fired).size).toBe(AGENTS);
  });
});
