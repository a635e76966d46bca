/**
 * The test environment's own behaviour: `connect()` fails with the close code and reason when the
 * agent refuses the connection (instead of waiting through the client's reconnects);
 * `restart({ downFor })` returns once what fell due while the host was down has run; `close()` runs
 * every cleanup step even when one fails (Date is restored, the temporary directory removed).
 */
import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

const ran: string[] = [];

class Picky extends Agent {
  onConnect() {
    throw new Error("no visitors today");
  }
}

class Welcoming extends Agent {}

class Reminder extends Agent {
  async remindIn(seconds: number, what: string) {
    await this.schedule(seconds, "remind", what);
  }

  remind(what: string) {
    ran.push(`${what} at ${new Date().toISOString()}`);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  ran.length = 0;
});

describe("createTestEnv", () => {
  it("connect() rejects with the close code and reason when onConnect throws", async () => {
    t = await createTestEnv({ agents: { Picky, Welcoming } });
    await expect(t.connect("Picky", "p")).rejects.toThrow(/^connect\("Picky", "p"\): the connection closed before the agent identified itself \(code 1011/);
    // The environment goes on: another agent connects.
    const client = await t.connect("Welcoming", "w");
    expect(client.identified).toBe(true);
  });

  it("restart({ downFor }) returns once the work that fell due while down has run", async () => {
    t = await createTestEnv({ agents: { Reminder }, start: Date.parse("2030-01-01T00:00:00Z") });
    await t.get<Reminder>("Reminder", "r").remindIn(3600, "renew");
    await t.restart({ downFor: "3 hours" });
    expect(ran).toEqual(["renew at 2030-01-01T03:00:00.000Z"]);
  });

  it("close() restores Date and removes the directory even when closing the host fails", async () => {
    const env = await createTestEnv({ agents: { Reminder }, start: Date.parse("2001-01-01T00:00:00Z") });
    expect(new Date().getUTCFullYear()).toBe(2001);
    const host = env.host;
    const close = host.close.bind(host);
    // The real close runs; then it reports a failure, as a close step that breaks would.
    host.close = async (options) => {
      await close(options);
      throw new Error("closing the host failed");
    };
    await expect(env.close()).rejects.toThrow("closing the host failed");
    expect(new Date().getUTCFullYear()).toBeGreaterThan(2001);
    expect(existsSync(env.dataDir)).toBe(false);
  });
});
