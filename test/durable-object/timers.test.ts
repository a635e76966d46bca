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

/**
 * The instance that answered `message` ("i1", "i2" …). Not always the first: with hibernateAfterMs
 * this short, a slow machine may let the object that accepted the socket hibernate before the first
 * message arrives, which then wakes the next instance.
 */
async function answeredBy(socket: TestSocket, message: string, from = 0): Promise<string> {
  const reply = (await socket.waitFor((f) => typeof f === "string" && f.startsWith(`${message} by i`), from)) as string;
  return reply.slice(`${message} by `.length);
}

describe("a Durable Object's pending timers", () => {
  it("keep it in memory while an interval runs; once it is cleared, the object hibernates", async () => {
    const { harness, socket } = await start();
    socket.send("tick");
    const ticker = await answeredBy(socket, "tick");
    await sleep(300); // six times hibernateAfterMs
    expect(harness.host.stats.liveAgents).toBe(1);
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    socket.send("stop");
    expect(await answeredBy(socket, "stop")).toBe(ticker); // the interval kept that instance in memory
    await until(() => harness.host.stats.liveAgents === 0, "the object to hibernate once its interval is cleared");
    expect(socket.frames.filter((f) => typeof f === "string" && f.startsWith("tick by") && f !== `tick by ${ticker}`)).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("keep it in memory until a setTimeout fired", async () => {
    const { harness, socket } = await start();
    socket.send("later");
    const waiter = await answeredBy(socket, "later");
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    await socket.waitFor((f) => f === `later by ${waiter}` && socket.frames.filter((g) => g === `later by ${waiter}`).length === 2);
    await until(() => harness.host.stats.liveAgents === 0, "the object to hibernate once its timer fired");
  });

  it("no longer hold it after evictAfterMs without an incoming event: it leaves memory, its timers never fire again, and the next message wakes one new instance", async () => {
    const { harness, socket } = await start({ evictAfterMs: 400 });
    socket.send("tick");
    const evicted = await answeredBy(socket, "tick");
    await until(() => harness.host.stats.liveAgents === 0, "the object to be evicted");
    await sleep(50); // what it sent just before lands
    const evictedAt = socket.frames.length;
    await sleep(200); // ten of its intervals
    expect(socket.frames.slice(evictedAt)).toEqual([]);
    const before = instances;
    socket.send("hello");
    const woken = await answeredBy(socket, "hello");
    expect(woken).toBe(`i${before + 1}`); // one new instance, never the evicted one
    const sentAt = socket.frames.length;
    socket.send("tick");
    // The same instance, or (on a machine slow enough to let it hibernate in between) a later one.
    expect(Number((await answeredBy(socket, "tick", sentAt)).slice(1))).toBeGreaterThanOrEqual(before + 1);
    await sleep(100);
    expect(socket.frames.slice(evictedAt).filter((f) => typeof f === "string" && f.endsWith(` by ${evicted}`))).toEqual([]);
    expect(errors).toEqual([]); // the old instance never ran against its closed storage
  });
});
