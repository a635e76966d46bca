/**
 * Timers an agent's code sets count as a Durable Object's do: a pending setInterval keeps the agent
 * in memory until `evictAfterMs` without an incoming event, and the evicted instance's interval never
 * fires again, so the instance the next message wakes is the only one running.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type Connection } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

let instances = 0;
const errors: string[] = [];
const started: Array<ReturnType<typeof setInterval>> = [];

class Pulse extends Agent {
  readonly n = ++instances;
  #interval: ReturnType<typeof setInterval> | undefined;

  onMessage(conn: Connection, message: string | ArrayBuffer): void {
    if (message === "tick" && this.#interval === undefined) {
      started.push((this.#interval = setInterval(() => this.#tick(), 20)));
    }
    conn.send(`${String(message)} by i${this.n}`);
  }

  #tick(): void {
    try {
      this.sql`CREATE TABLE IF NOT EXISTS ticks (at INTEGER)`;
      this.sql`INSERT INTO ticks (at) VALUES (${Date.now()})`;
    } catch (error) {
      errors.push(`i${this.n}: ${(error as Error).name}`);
    }
    this.broadcast(`tick by i${this.n}`);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  for (const interval of started.splice(0)) clearInterval(interval);
  await harness?.close();
  harness = undefined;
  errors.length = 0;
  instances = 0;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("an agent's pending timers", () => {
  it("keep it in memory past hibernateAfterMs, until evictAfterMs without an incoming event; then its interval stops for good", async () => {
    harness = await startHarness({ Pulse }, { hibernateAfterMs: 50, evictAfterMs: 500 });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/pulse/p`);
    socket.send("tick");
    await socket.waitFor((f) => f === "tick by i1");
    await sleep(250);
    expect(harness.host.stats.liveAgents).toBe(1);
    expect(harness.host.hibernateIdleAgents()).toBe(0);

    const live = harness;
    await until(() => live.host.stats.liveAgents === 0, "the agent to be evicted");
    await sleep(50); // what it sent just before lands
    const evictedAt = socket.frames.length;
    await sleep(200); // ten of its intervals
    expect(socket.frames.slice(evictedAt)).toEqual([]);
    socket.send("tick");
    await socket.waitFor((f) => f === "tick by i2");
    await sleep(100);
    expect(socket.frames.slice(evictedAt).filter((f) => typeof f === "string" && f.includes("i1"))).toEqual([]);
    expect(errors).toEqual([]);
  });
});
