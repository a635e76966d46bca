import { afterEach, describe, expect, it } from "vitest";
import { Agent, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

let failStarts = 0;

class Fragile extends Agent {
  async onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS log (v TEXT)`;
    this.sql`INSERT INTO log VALUES ('start')`;
    if (failStarts > 0) {
      failStarts--;
      throw new Error("onStart failed");
    }
  }
  write(v: string) {
    this.sql`INSERT INTO log VALUES (${v})`;
    return v;
  }
  log() {
    return this.sql<{ v: string }>`SELECT v FROM log`.map((row) => row.v);
  }
}

class Careful extends Agent {
  ready = false;
  async onStart() {
    await this.ctx.blockConcurrencyWhile(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      this.ready = true;
    });
  }
  isReady() {
    return this.ready;
  }
}

class Deferred extends Agent {
  onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY)`;
    this.sql`CREATE TABLE IF NOT EXISTS child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`;
  }
  /** The orphan row only fails at COMMIT, which happens while this event awaits a timer. */
  async orphan() {
    this.sql`INSERT INTO child VALUES (42)`;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return "done";
  }
  count() {
    return this.sql<{ n: number }>`SELECT count(*) AS n FROM child`[0]!.n;
  }
}

let harness: Harness;
afterEach(() => harness.close());

describe("agent start-up", () => {
  it("fails every event queued behind a failed onStart, runs none of them, and retries on the next", async () => {
    harness = await startHarness({ Fragile });
    const stub = (harness.host.env.Fragile as AgentNamespace<Fragile>).getByName("f");
    failStarts = 1;
    const results = await Promise.allSettled([stub.write("a"), stub.write("b")]);
    expect(results.every((r) => r.status === "rejected" && /failed to start: onStart failed/.test(String(r.reason)))).toBe(true);
    expect(await stub.log()).toEqual(["start"]); // the failed start's writes and the queued events left nothing
  });

  it("allows blockConcurrencyWhile inside onStart", async () => {
    harness = await startHarness({ Careful });
    const stub = (harness.host.env.Careful as AgentNamespace<Careful>).getByName("c");
    expect(await stub.isReady()).toBe(true);
  });

  it("rejects an event whose writes a failed commit rolled back, and keeps serving", async () => {
    harness = await startHarness({ Deferred });
    const stub = (harness.host.env.Deferred as AgentNamespace<Deferred>).getByName("d");
    await expect(stub.orphan()).rejects.toThrow(/Commit failed, this event's writes were rolled back: FOREIGN KEY/);
    expect(await stub.count()).toBe(0);
  });
});
