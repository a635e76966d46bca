/**
 * Facets may set alarms on Hearth (Cloudflare's may not): a loaded facet's alarm is its own,
 * delivered to it in its sandbox, retried when it throws, and it stays in memory while one is
 * pending (only its parent can start its code again).
 */
import { afterEach, describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/index.ts";
import type { Harness } from "../support/harness.ts";
import { codeHost, defineWorker, forgetWorkers, startCodeHost } from "./loaded-support.ts";

const CUSTOMER = `
import { DurableObject } from "cloudflare:workers";

export class Customer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rang (id TEXT, retry INTEGER)");
  }

  async remind(ms, failFirst = false) {
    this.ctx.storage.kv.put("fail-first", failFirst);
    await this.ctx.storage.setAlarm(new Date(Date.now() + ms));
    return (await this.ctx.storage.getAlarm()) !== null;
  }

  async cancel() {
    await this.ctx.storage.deleteAlarm();
    return await this.ctx.storage.getAlarm();
  }

  async alarm(info) {
    this.ctx.storage.sql.exec("INSERT INTO rang VALUES (?, ?)", String(this.ctx.id), info.retryCount);
    if (this.ctx.storage.kv.get("fail-first") && !info.isRetry) throw new Error("the first run fails");
  }

  rang() {
    return this.ctx.storage.sql.exec("SELECT id, retry FROM rang").toArray();
  }
}

export class NoAlarm extends DurableObject {
  async remind(ms) {
    try {
      await this.ctx.storage.setAlarm(Date.now() + ms);
      return "set";
    } catch (e) {
      return e.message;
    }
  }
}
`;

const code = { worker: "customer-v1" };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  forgetWorkers();
});

async function start() {
  defineWorker("customer-v1", CUSTOMER);
  const clock = new VirtualClock({ start: Date.now() });
  harness = await startCodeHost({ clock });
  return { host: codeHost(harness), clock, h: harness };
}

describe("alarms of facets loaded from code", () => {
  it("delivers each facet its own alarm, while the parent sleeps", async () => {
    const { host, clock, h } = await start();
    expect(await host.call("acme", code, "remind", 30_000)).toEqual({ value: true });
    expect(await host.call("globex", code, "remind", 60_000)).toEqual({ value: true });
    h.host.hibernateIdleAgents();
    // The parent hibernated; the facets with a pending alarm stay.
    expect(h.host.stats.liveAgents).toBe(2);
    // The code sets its alarms from the real Date.now(), which runs ahead of the virtual clock by the
    // time the test took so far: the advances leave 15 s of room on either side.
    await clock.advance("45 s");
    await h.host.tasksIdle();
    expect(await host.call("acme", code, "rang")).toEqual({ value: [{ id: "acme", retry: 0 }] });
    expect(await host.call("globex", code, "rang")).toEqual({ value: [] });
    await clock.advance("30 s");
    await h.host.tasksIdle();
    expect(await host.call("globex", code, "rang")).toEqual({ value: [{ id: "globex", retry: 0 }] });
    // Nothing pending any more: every actor may hibernate.
    h.host.hibernateIdleAgents();
    expect(h.host.stats.liveAgents).toBe(0);
  });

  it("retries an alarm that throws, with backoff", async () => {
    const { host, clock, h } = await start();
    await host.call("acme", code, "remind", 1_000, true);
    await clock.advance("2 s");
    await h.host.tasksIdle();
    expect(await host.call("acme", code, "rang")).toEqual({ value: [] }); // the failed run's write is undone
    await clock.advance("3 s");
    await h.host.tasksIdle();
    expect(await host.call("acme", code, "rang")).toEqual({ value: [{ id: "acme", retry: 1 }] });
  });

  it("cancels with deleteAlarm, and releases the facet", async () => {
    const { host, clock, h } = await start();
    await host.call("acme", code, "remind", 1_000);
    expect(await host.call("acme", code, "cancel")).toEqual({ value: null });
    h.host.hibernateIdleAgents();
    expect(h.host.stats.liveAgents).toBe(0);
    await clock.advance("5 s");
    await h.host.tasksIdle();
    expect(await host.call("acme", code, "rang")).toEqual({ value: [] });
  });

  it("refuses setAlarm from a class without alarm()", async () => {
    const { host } = await start();
    expect(await host.call("acme", { worker: "customer-v1", exportName: "NoAlarm" }, "remind", 1_000)).toEqual({
      value: "Your Durable Object class must have an alarm() handler in order to call setAlarm()",
    });
  });
});
