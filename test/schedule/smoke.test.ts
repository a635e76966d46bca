import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

class Reminder extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS ran (what TEXT, at INTEGER)`;
  }
  async remindIn(seconds: number, what: string) {
    return this.schedule(seconds, "fire", what);
  }
  fire(what: string) {
    this.sql`INSERT INTO ran VALUES (${what}, ${Date.now()})`;
  }
  ran() {
    return this.sql<{ what: string; at: number }>`SELECT * FROM ran`;
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("smoke", () => {
  it("fires a delayed schedule on virtual time", async () => {
    t = await createTestEnv({ agents: { Reminder }, start: Date.UTC(2030, 0, 1) });
    const alice = t.get<Reminder>("Reminder", "alice");
    const s = await alice.remindIn(3600, "tea");
    expect(s.type).toBe("delayed");
    await t.clock.advance("59 minutes");
    expect(await alice.ran()).toEqual([]);
    await t.clock.advance("1 minute");
    expect(await alice.ran()).toEqual([{ what: "tea", at: Date.UTC(2030, 0, 1, 1) }]);
  });
});
