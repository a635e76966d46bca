import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { TaskErrorReport } from "../../src/host/host.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

/** Longer than Node's longest timeout (2^31 − 1 ms, about 24.8 days): "practically never". */
const THIRTY_DAYS_MS = 30 * 24 * 3600_000;

let starts = 0;

class Slow extends Agent {
  add() {
    return this.queue("job", {});
  }
  async job() {
    starts++;
    // Real time spent outside (a model call, say): far longer than the 1 ms Node would wait for a
    // timeout it cannot hold, far shorter than the hang timeout asked for.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  left() {
    return this.getQueues().length;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  starts = 0;
  await t?.close({ drainMs: 0 });
  t = undefined;
});

describe("hungTaskAfterMs past Node's longest timeout", () => {
  it("waits that long (in steps) instead of reporting every run as hung at once and running it again beside itself", async () => {
    const reports: TaskErrorReport[] = [];
    t = await createTestEnv({ agents: { Slow }, host: { hungTaskAfterMs: THIRTY_DAYS_MS, onTaskError: (report) => reports.push(report) } });
    const slow = t.get<Slow>("Slow", "s");
    await slow.add();
    await t.clock.settle(); // until the run has finished
    expect(starts).toBe(1);
    expect(reports).toEqual([]);
    expect(await slow.left()).toBe(0);
  });
});
