/**
 * The heartbeat of running fibers on virtual time. It only exists to notice a crash: while fibers
 * run, the host wakes the agent every `keepAliveIntervalMs` so that its entry in the due index stays
 * close. Advancing a virtual clock by days must not wake the agent every interval on the way (20,160
 * wakes for a week at 30 s): during an advance the heartbeat waits for its end, and the entry is one
 * interval ahead again once it is over. Other work due on the way still runs at its time.
 */
import { describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { HANDLE } from "../../src/agent/agent-base.ts";
import type { AgentTasks } from "../../src/schedule/agent-tasks.ts";
import { envPerTest } from "./helpers.ts";

const never = new Promise<never>(() => {});
let wakes = 0;
const ran: string[] = [];

class Busy extends Agent {
  begin() {
    void this.runFiber("forever", () => never);
  }

  async remindIn(seconds: number) {
    await this.schedule(seconds, "remind");
  }

  remind() {
    ran.push(new Date().toISOString());
  }

  /** Every wake from the host's due index (the heartbeat's too) asks for the agent's tasks. */
  override [HANDLE.tasks](): AgentTasks {
    wakes++;
    return super[HANDLE.tasks]();
  }
}

const START = Date.parse("2030-01-01T00:00:00Z");
const env = envPerTest({ agents: { Busy }, start: START }, () => {
  wakes = 0;
  ran.length = 0;
});

describe("the heartbeat of running fibers on virtual time", () => {
  it("wakes the agent a bounded number of times while days pass, and is one interval ahead after", async () => {
    const t = await env();
    const busy = t.get<Busy>("Busy", "a");
    await busy.begin();
    await busy.remindIn(2 * 86_400);
    const before = wakes;
    await t.clock.advance("7 days");
    // The reminder, the heartbeat at the end of the advance, and a few more for hand-offs: not one per 30 s.
    expect(wakes - before).toBeLessThanOrEqual(6);
    expect(ran).toEqual(["2030-01-03T00:00:00.000Z"]);
    expect(t.host.nextWake("Busy", "a")).toEqual(new Date(START + 7 * 86_400_000 + 30_000));
    expect(t.host.stats.liveAgents).toBe(1);
  });
});
