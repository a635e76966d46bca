/**
 * Timers a Durable Object's code sets: a pending setTimeout or setInterval keeps the object from
 * hibernating, until `evictAfterMs` without an incoming event; once its instance leaves memory none
 * of them fires again, so the next event wakes one new instance and never two copies run.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { until, upgradeResponse } from "./helpers.ts";

/** What no client sees: errors an instance met in its timer callbacks. */
const errors: string[] = [];
let instances = 0;
/** Every interval an instance started, cleared after each test whatever the host did. */
const started: Array<ReturnType<typeof setInterval>> = [];

class Ticker extends DurableObject {
  readonly n = ++instances;
  #interval: ReturnType<typeof setInterval> | undefined;

  async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string): void {
    if (message === "tick" && this.#interval === undefined) started.push((this.#interval = setInterval(() => this.#tick(), 20)));
    if (message === "stop") clearInterval(this.#interval);
    if (message === "later") setTimeout(() => ws.send(`later by i${this.n}`), 150);
    ws.send(`${message} by i${this.n}`);
  }

  #tick(): void {
    try {
      this.ctx.storage.kv.put("ticks", (this.ctx.storage.kv.get<number>("ticks") ?? 0) + 1);
    } catch (error) {
      errors.push(`i${this.n}: ${(error as Error).name}`);
    }
    for (const ws of this.ctx.getWebSockets()) ws.send(`tick by i${this.n}`);
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

async function start(options: { evictAfterMs?: number } = {}): Promise<{ harness: Harness; socket: TestSocket }> {
  harness = await startHarness({}, {
    durableObjects: { TICKERS: Ticker },
    fetch: (request, env) => (env.TICKERS as DurableObjectNamespace<Ticker>).getByName("t").fetch(request),
    hibernateAfterMs: 50,
    ...options,
  });
  return { harness, socket: await TestSocket.open(`${harness.wsUrl}/t`) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a Durable Object's pending timers", () => {
  it("keep it in memory while an interval runs; once it is cleared, the object hibernates", async () => {
    const { harness, socket } = await start();
    socket.send("tick");
    await socket.waitFor((f) => f === "tick by i1");
    await sleep(300); // six times hibernateAfterMs
    expect(harness.host.stats.liveAgents).toBe(1);
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    socket.send("stop");
    await until(() => harness.host.stats.liveAgents === 0, "the object to hibernate once its interval is cleared");
    expect(socket.frames.filter((f) => typeof f === "string" && f.startsWith("tick by") && f !== "tick by i1")).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("keep it in memory until a setTimeout fired", async () => {
    const { harness, socket } = await start();
    socket.send("later");
    await socket.waitFor((f) => f === "later by i1");
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    await socket.waitFor((f) => f === "later by i1" && socket.frames.filter((g) => g === "later by i1").length === 2);
    await until(() => harness.host.stats.liveAgents === 0, "the object to hibernate once its timer fired");
  });

  it("no longer hold it after evictAfterMs without an incoming event: it leaves memory, its timers never fire again, and the next message wakes one new instance", async () => {
    const { harness, socket } = await start({ evictAfterMs: 400 });
    socket.send("tick");
    await socket.waitFor((f) => f === "tick by i1");
    await until(() => harness.host.stats.liveAgents === 0, "the object to be evicted");
    await sleep(50); // what it sent just before lands
    const evictedAt = socket.frames.length;
    await sleep(200); // ten of its intervals // ten of its intervals
    expect(socket.frames.slice(evictedAt)).toEqual([]);
    socket.send("hello");
    await socket.waitFor((f) => f === "hello by i2");
    socket.send("tick");
    await socket.waitFor((f) => f === "tick by i2");
    await sleep(100);
    expect(socket.frames.slice(evictedAt).filter((f) => typeof f === "string" && f.includes("i1"))).toEqual([]);
    expect(errors).toEqual([]); // the old instance never ran against its closed storage
    expect(instances).toBe(2);
  });
});
