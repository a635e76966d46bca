import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { WAKE_RETRY_FIRST_MS, WAKE_RETRY_MAX_MS, wakeRetryDelay } from "../../src/schedule/wake-retry.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { loggedErrors } from "../support/logged-errors.ts";

const START = Date.UTC(2030, 0, 1);
/** Starts of the agent to fail before one succeeds. */
let failStarts = 0;
/** When each start was tried (virtual ms after START), and when the schedule ran. */
const tried: number[] = [];
const hits: number[] = [];

class Fragile extends Agent {
  onStart() {
    tried.push(Date.now() - START);
    if (failStarts > 0) {
      failStarts--;
      throw new Error("the database it needs is not up yet");
    }
  }
  remind() {
    return this.schedule(60, "hit");
  }
  hit() {
    hits.push(Date.now() - START);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  failStarts = 0;
  tried.length = 0;
  hits.length = 0;
  await t?.close();
  t = undefined;
});

describe("a wake whose agent cannot start", () => {
  it("is tried again after 2 s, then 4 s, 8 s…, not after the hang timeout", async () => {
    const errors = loggedErrors();
    try {
      t = await createTestEnv({ agents: { Fragile }, start: START });
      await t.get<Fragile>("Fragile", "f").remind();
      expect(t.hibernate()).toBe(1);
      tried.length = 0;
      failStarts = 4;
      await t.clock.advance("2 minutes");
      // Starts tried at the due time (and one just before it, to have the agent ready): the wakes
      // that failed are tried again 2 s, 4 s and 8 s later, and the schedule runs at the first start
      // that works.
      const atOrAfterDue = tried.filter((at) => at >= 60_000);
      const waits = atOrAfterDue.slice(1).map((at, i) => at - atOrAfterDue[i]!);
      expect(atOrAfterDue[0]).toBe(60_000);
      expect(waits.length).toBeGreaterThanOrEqual(3);
      expect(waits).toEqual(waits.map((_, i) => 2_000 * 2 ** i));
      expect(hits).toEqual([atOrAfterDue.at(-1)]);
      expect(errors.text()).toContain("the database it needs is not up yet");
    } finally {
      errors.restore();
    }
  });

  it("waits from 2 s, doubling, at most 5 min", () => {
    expect([1, 2, 3, 4].map(wakeRetryDelay)).toEqual([2_000, 4_000, 8_000, 16_000]);
    expect(WAKE_RETRY_FIRST_MS).toBe(2_000);
    expect(wakeRetryDelay(9)).toBe(WAKE_RETRY_MAX_MS);
    expect(wakeRetryDelay(10_000)).toBe(WAKE_RETRY_MAX_MS);
    expect(WAKE_RETRY_MAX_MS).toBe(300_000);
  });
});
