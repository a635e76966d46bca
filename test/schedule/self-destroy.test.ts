import { afterEach, expect, it, vi } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

class Ephemeral extends Agent {
  async arm(): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS data (v TEXT)`;
    this.sql`INSERT INTO data VALUES ('x')`;
    await this.schedule(60, "expire");
    await this.scheduleEvery(3600, "tick");
  }
  tick(): void {}
  async expire(): Promise<void> {
    await this.destroy();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("a scheduled callback may destroy its own agent: nothing is recorded after, nothing runs again", async () => {
  t = await createTestEnv({ agents: { Ephemeral } });
  const errors = vi.spyOn(console, "error");
  await t.get<Ephemeral>("Ephemeral", "a").arm();
  const env = t.env as { Ephemeral: { exists(name: string): boolean } };
  await t.clock.advance("2 minutes");
  expect(env.Ephemeral.exists("a")).toBe(false);
  await t.clock.advance("3 hours"); // its interval went with it
  expect(env.Ephemeral.exists("a")).toBe(false);
  expect(errors).not.toHaveBeenCalled();
  errors.mockRestore();
});
