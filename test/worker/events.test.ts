/**
 * Queue consumers and cron triggers running against a worker's handlers, on a real queue store and
 * cron file with a VirtualClock: a batch is acknowledged only once the handler and its waitUntil
 * promises settled; a throw or a rejected waitUntil retries it; missing handlers give warnings.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { waitUntil } from "../../src/compat/cloudflare-workers.ts";
import type { ProjectConfig } from "../../src/config/types.ts";
import type { ScheduledController } from "../../src/cron/index.ts";
import type { ExecutionContext } from "../../src/gateway/serve.ts";
import { openQueueStore, QueueProducer, type MessageBatch, type QueueStore } from "../../src/queues/index.ts";
import { VirtualClock } from "../../src/time/clock.ts";
import { createWorkerEvents, type WorkerEvents } from "../../src/worker/events.ts";
import type { WorkerHandlers } from "../../src/worker/handlers.ts";
import { thrown } from "../support/thrown.ts";
import { projectConfig, useTempDirs } from "./helpers.ts";

const START = Date.parse("2030-01-01T00:00:00Z");
const newDir = useTempDirs();
const env = { APP: "demo" };
let clock: VirtualClock;
let dataDir: string;
let store: QueueStore;
let events: WorkerEvents | undefined;

beforeEach(() => {
  clock = new VirtualClock({ start: START });
  dataDir = newDir();
  store = openQueueStore({ path: join(dataDir, "queues.sqlite"), clock });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await events?.close();
  events = undefined;
  store.close();
  clock.dispose();
});

const consumer = { queue: "jobs", maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 3 };

function start(config: Partial<ProjectConfig>, handlers: WorkerHandlers): WorkerEvents {
  events = createWorkerEvents({ config: projectConfig(config), handlers, env, queueStore: store, dataDir, durability: "relaxed", clock });
  events.start();
  return events;
}

/** Lets consumers and due timers run until nothing is left to do. */
async function settle(): Promise<void> {
  await events?.queues?.idle();
  await clock.settle();
  await events?.queues?.idle();
}

const backlog = () => store.metrics("jobs").backlogCount;

describe("queue consumers", () => {
  it("hands batches to queue(batch, env, ctx) and acknowledges them", async () => {
    const seen: Array<{ bodies: unknown[]; env: unknown }> = [];
    start({ queueConsumers: [consumer] }, {
      queue: (batch: MessageBatch, e: Record<string, unknown>) => {
        seen.push({ bodies: batch.messages.map((m) => m.body), env: e });
      },
    });
    await new QueueProducer({ store, queue: "jobs" }).send({ n: 1 });
    await settle();
    expect(seen).toEqual([{ bodies: [{ n: 1 }], env }]);
    expect(backlog()).toBe(0);
  });

  it("retries a batch whose handler throws", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const attempts: number[] = [];
    start({ queueConsumers: [consumer] }, {
      queue: (batch: MessageBatch) => {
        attempts.push(batch.messages[0]!.attempts);
        if (attempts.length === 1) throw new Error("handler failed");
      },
    });
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await settle();
    expect(attempts).toEqual([1, 2]);
    expect(backlog()).toBe(0);
  });

  it("retries a batch when a ctx.waitUntil or module-level waitUntil promise rejects", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const attempts: number[] = [];
    start({ queueConsumers: [consumer] }, {
      queue: (batch: MessageBatch, _env: Record<string, unknown>, ctx: ExecutionContext) => {
        const attempt = batch.messages[0]!.attempts;
        attempts.push(attempt);
        if (attempt === 1) ctx.waitUntil(Promise.reject(new Error("ctx.waitUntil failed")));
        if (attempt === 2) waitUntil(Promise.reject(new Error("waitUntil from cloudflare:workers failed")));
      },
    });
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await settle();
    expect(attempts).toEqual([1, 2, 3]);
    expect(backlog()).toBe(0);
  });

  it("acknowledges a batch only after its waitUntil promises settle", async () => {
    let finish!: () => void;
    const background = new Promise<void>((resolve) => (finish = resolve));
    let delivered = false;
    start({ queueConsumers: [consumer] }, {
      queue: () => {
        delivered = true;
        waitUntil(background);
      },
    });
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await vi.waitFor(() => expect(delivered).toBe(true));
    await clock.settle();
    expect(backlog()).toBe(1);
    finish();
    await settle();
    expect(backlog()).toBe(0);
  });

  it("warns when consumers are configured but there is no queue handler, and leaves messages waiting", async () => {
    const started = start({ queueConsumers: [consumer, { ...consumer, queue: "mail" }] }, { fetch: () => new Response("ok") });
    expect(started.queues).toBeUndefined();
    expect(started.warnings).toEqual([
      "queues.consumers lists jobs, mail, but the default export has no queue(batch, env, ctx) handler: messages wait.",
    ]);
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await settle();
    expect(backlog()).toBe(1);
  });

  it("starts nothing when a consumer setting is out of range", async () => {
    expect(() => start({ queueConsumers: [{ ...consumer, maxBatchSize: 1000 }] }, { queue: () => {} })).toThrow(/max_batch_size/);
    events = undefined;
  });
});

describe("cron triggers", () => {
  it("calls scheduled(controller, env, ctx) on time and for fireNow", async () => {
    const runs: Array<{ cron: string; at: string; env: unknown }> = [];
    const started = start({ crons: ["0 * * * *"] }, {
      scheduled: (controller: ScheduledController, e: Record<string, unknown>) => {
        runs.push({ cron: controller.cron, at: new Date(controller.scheduledTime).toISOString(), env: e });
      },
    });
    expect(started.warnings).toEqual([]);
    await clock.advance("1 hour");
    await started.cron!.idle();
    expect(runs).toEqual([{ cron: "0 * * * *", at: "2030-01-01T01:00:00.000Z", env }]);
    await started.cron!.fireNow("*/5 * * * *", START + 123);
    expect(runs[1]).toEqual({ cron: "*/5 * * * *", at: "2030-01-01T00:00:00.123Z", env });
  });

  it("fails the run when the handler throws or a waitUntil promise rejects", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    let mode: "throw" | "waitUntil" | "ok" = "throw";
    const started = start({ crons: ["0 * * * *"] }, {
      scheduled: (_controller: ScheduledController, _env: Record<string, unknown>, ctx: ExecutionContext) => {
        if (mode === "throw") throw new Error("scheduled failed");
        if (mode === "waitUntil") ctx.waitUntil(Promise.reject(new Error("background failed")));
      },
    });
    await expect(started.cron!.fireNow("0 * * * *")).rejects.toThrow("scheduled failed");
    mode = "waitUntil";
    await expect(started.cron!.fireNow("0 * * * *")).rejects.toThrow("background failed");
    mode = "ok";
    await expect(started.cron!.fireNow("0 * * * *")).resolves.toBeUndefined();
  });

  it("warns when crons are configured but there is no scheduled handler", () => {
    const started = start({ crons: ["0 * * * *", "*/5 * * * *"] }, { fetch: () => new Response("ok") });
    expect(started.cron).toBeUndefined();
    expect(started.warnings).toEqual(["triggers.crons lists 0 * * * *, */5 * * * *, but the default export has no scheduled(controller, env, ctx) handler."]);
  });

  it("names the invalid expression, and leaves the queue consumers it would have started stopped", async () => {
    const delivered: unknown[] = [];
    const error = thrown(() =>
      start({ crons: ["0 * * * *", "61 * * * *"], queueConsumers: [consumer] }, {
        scheduled: () => {},
        queue: (batch: MessageBatch) => void delivered.push(...batch.messages.map((m) => m.body)),
      }),
    );
    events = undefined;
    expect(error.message).toBe('triggers.crons[1]: Invalid cron trigger "61 * * * *": minute runs 0-59, got 61');
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await clock.settle();
    expect(delivered).toEqual([]);
  });
});

describe("without consumers or crons", () => {
  it("starts nothing and closes", async () => {
    const started = start({}, { queue: () => {} });
    expect(started).toMatchObject({ cron: undefined, queues: undefined, warnings: [] });
    await started.close();
  });

  it("a scheduled() handler without crons can still be fired by hand (hearth dev's route)", async () => {
    const fired: string[] = [];
    const started = start({}, { scheduled: ((controller: { cron: string }) => void fired.push(controller.cron)) as never });
    expect(started.queues).toBeUndefined();
    await started.cron?.fireNow("0 * * * *");
    expect(fired).toEqual(["0 * * * *"]);
    await started.close();
  });
});

describe("on a thread that is not the first (`--threads`)", () => {
  it("delivers nothing: the first thread's consumers and triggers do, once per process", async () => {
    const delivered: unknown[] = [];
    const fired: string[] = [];
    events = createWorkerEvents({
      config: projectConfig({ crons: ["* * * * *"], queueConsumers: [consumer] }),
      handlers: { queue: (batch: MessageBatch) => void delivered.push(...batch.messages.map((m) => m.body)), scheduled: ((controller: { cron: string }) => void fired.push(controller.cron)) as never },
      env,
      queueStore: store,
      dataDir,
      durability: "relaxed",
      clock,
      elsewhere: true,
    });
    events.start();
    expect(events).toMatchObject({ cron: undefined, queues: undefined });
    await new QueueProducer({ store, queue: "jobs" }).send("job");
    await clock.advance(120_000);
    await settle();
    expect({ delivered, fired, backlog: backlog() }).toEqual({ delivered: [], fired: [], backlog: 1 });
    expect(existsSync(join(dataDir, "cron.sqlite"))).toBe(false);
  });
});
