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
/** The instance of each interval tick, in the order they ran (on this thread, as the host's events). */
const ticks: number[] = [];

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
    ticks.push(this.n);
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
  ticks.length = 0;
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

/** The instance a "tick by i<n>" frame names, else undefined. */
function instanceOf(frame: unknown): number | undefined {
  const match = typeof frame === "string" ? /^tick by i(\d+)$/.exec(frame) : null;
  return match ? Number(match[1]) : undefined;
}

describe("an agent's pending timers", () => {
  it("keep it in memory past hibernateAfterMs, until evictAfterMs without an incoming event; then its interval stops for good", async () => {
    // evictAfterMs well past the check below, 250 ms after the reply: on a loaded machine the reply and
    // the sleep have come over 1.2 s late.
    harness = await startHarness({ Pulse }, { hibernateAfterMs: 50, evictAfterMs: 3_000 });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/pulse/p`);
    const sent = performance.now();
    socket.send("tick");
    // The connection made an instance; when "tick" comes more than hibernateAfterMs later (a slow
    // machine), that one has hibernated and "tick" wakes the next. The one that answers runs the interval.
    const first = instanceOf(await socket.waitFor((f) => instanceOf(f) !== undefined))!;
    await sleep(250);
    expect(harness.host.stats.liveAgents, `${Math.round(performance.now() - sent)} ms after "tick"`).toBe(1);
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    expect(ticks).toContain(first);

    const live = harness;
    await until(() => live.host.stats.liveAgents === 0, "the agent to be evicted");
    const evictedAt = ticks.length;
    await sleep(200); // ten of its intervals
    expect(ticks.slice(evictedAt)).toEqual([]);
    socket.send("tick");
    const second = instanceOf(await socket.waitFor((f) => instanceOf(f) !== undefined && instanceOf(f) !== first))!;
    expect(second).toBeGreaterThan(first);
    // Frames go out in order on the socket: none of the evicted instance's after the new one's first.
    const answeredAt = socket.frames.indexOf(`tick by i${second}`);
    await sleep(100);
    expect(socket.frames.slice(answeredAt).filter((f) => instanceOf(f) === first)).toEqual([]);
    expect(ticks.slice(evictedAt).filter((n) => n !== second)).toEqual([]);
    expect(errors).toEqual([]);
  });
});
