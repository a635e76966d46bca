import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";

const START = Date.UTC(2031, 5, 1);
const log: string[] = [];
let stepNames = ["one", "two"];
let restIsStep = false;

class Approval extends WorkflowEntrypoint<unknown, { timeout?: string }> {
  async run(event: WorkflowEvent<{ timeout?: string }>, step: WorkflowStep) {
    const draft = await step.do("draft", () => (log.push("draft"), "hello"));
    const answer = await step.waitForEvent<{ ok: boolean }>("approval", { type: "approve", timeout: event.payload?.timeout ?? "1 day" });
    if (!answer.payload.ok) return "rejected";
    await step.do("send", () => log.push(`send ${draft}`));
    return { sent: draft, at: answer.timestamp.toISOString() };
  }
}

/** Two branches of two steps each; branch a's first step ends later than b's the first time. */
class Parallel extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const branch = async (name: string, slow: boolean) => {
      const first = await step.do(`${name}1`, async () => {
        log.push(`${name}1`);
        if (slow) await new Promise((resolve) => setTimeout(resolve, 30));
        return `${name}1`;
      });
      const second = await step.do(`${name}2`, () => (log.push(`${name}2`), `${name}2`));
      return `${first} ${second}`;
    };
    const both = await Promise.all([branch("a", true), branch("b", false)]);
    await step.sleep("rest", "1 hour");
    return both;
  }
}

/** Sleeps past the latest time a Date holds, or until a time given as milliseconds. */
class Forever extends WorkflowEntrypoint<unknown, { until?: number }> {
  async run(event: WorkflowEvent<{ until?: number }>, step: WorkflowStep) {
    if (event.payload?.until !== undefined) await step.sleepUntil("until", event.payload.until);
    else await step.sleep("nap", "300000 years");
    return "woke";
  }
}

/** One step that waits for the test to let it finish. */
let releaseOnly: () => void = () => {};
class OneStep extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const v = await step.do("only", async () => {
      log.push("only");
      await new Promise<void>((resolve) => (releaseOnly = resolve));
      return 42;
    });
    return { v };
  }
}

class Ticker extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    for (let i = 0; i < 5; i++) {
      await step.do(`tick ${i}`, () => log.push(`tick ${i}`));
      await step.sleep(`nap ${i}`, "1 hour");
    }
    return "done";
  }
}

class Changing extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    for (const name of stepNames) await step.do(name, () => (log.push(name), name));
    if (restIsStep) await step.do("rest", () => "rest");
    else await step.sleep("rest", "1 hour");
    return step.do("last", () => "last");
  }
}

/** Branches of different lengths: the sleeping one calls its step after the other's last one. */
class Uneven extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const [first, second] = await Promise.all([
      (async () => {
        const a = await step.do("a", () => (log.push("a"), 1));
        const b = await step.do("b", () => (log.push("b"), 2));
        const d = await step.do("d", () => (log.push("d"), 3));
        return a + b + d;
      })(),
      (async () => {
        await step.sleep("s", "1 minute");
        return step.do("c", () => (log.push("c"), 10));
      })(),
    ]);
    return first + second;
  }
}

/** Cloudflare's pattern for a race: the racing steps inside a step, so the winner is recorded. */
class Racing extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const winner = await step.do("Promise step", () =>
      Promise.race([step.do("fast", () => (log.push("fast"), "fast")), step.do("slow", async () => (log.push("slow"), "slow"))]),
    );
    await step.sleep("Sleep step", "2 hours");
    return step.do("Another step", () => (log.push("another"), `after ${winner}`));
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  log.length = 0;
  stepNames = ["one", "two"];
  restIsStep = false;
  await t?.close();
  t = undefined;
});

async function env() {
  t ??= await createTestEnv({ agents: {}, workflows: { Approval, Ticker, Changing, OneStep, Parallel, Uneven, Racing, Forever }, start: START });
  return t;
}

const wf = <P = unknown>(t: TestEnv, name: string) => t.env[name] as WorkflowBinding<P>;

describe("waitForEvent", () => {
  it("resumes with the event's payload, hours later and across a restart", async () => {
    const t = await env();
    const instance = await wf(t, "Approval").create({ id: "a1" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.restart();
    await t.clock.advance("3 hours");
    await (await wf(t, "Approval").get("a1")).sendEvent({ type: "approve", payload: { ok: true } });
    await t.clock.settle();
    expect(await (await wf(t, "Approval").get("a1")).status()).toEqual({
      status: "complete",
      output: { sent: "hello", at: "2031-06-01T03:00:00.000Z" },
    });
    expect(log).toEqual(["draft", "send hello"]);
  });

  it("keeps an event sent before the instance waits for it", async () => {
    const t = await env();
    const instance = await wf(t, "Approval").create({ id: "early" });
    await instance.sendEvent({ type: "approve", payload: { ok: false } });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: "rejected" });
  });

  it("times out with a WorkflowTimeoutError", async () => {
    const t = await env();
    const instance = await wf<{ timeout: string }>(t, "Approval").create({ id: "slow", params: { timeout: "2 hours" } });
    await t.clock.advance("1 hour 59 minutes");
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.clock.advance("1 minute");
    expect(await instance.status()).toEqual({
      status: "errored",
      error: { name: "WorkflowTimeoutError", message: 'step.waitForEvent("approval") received no "approve" event within 2 h' },
    });
  });
});

describe("sleeping past the latest time a Date holds", () => {
  it("fails the instance with a RangeError instead of leaving it running", async () => {
    const t = await env();
    const long = await wf(t, "Forever").create({ id: "f1" });
    const until = await wf<{ until: number }>(t, "Forever").create({ id: "f2", params: { until: 1e300 } });
    await t.clock.settle();
    expect(await long.status()).toMatchObject({ status: "errored", error: { name: "RangeError", message: expect.stringMatching(/step\.sleep\("nap"\) must be at most/) } });
    expect(await until.status()).toMatchObject({ status: "errored", error: { name: "RangeError", message: expect.stringMatching(/step\.sleepUntil\("until"\) ends after the latest time/) } });
  });
});

describe("pause, resume, terminate, restart", () => {
  it("pauses between steps and resumes where it was", async () => {
    const t = await env();
    const instance = await wf(t, "Ticker").create({ id: "tk" });
    await t.clock.advance("90 minutes"); // tick 0, nap, tick 1
    await instance.pause();
    expect(await instance.status()).toEqual({ status: "paused" });
    await t.clock.advance("5 hours");
    expect(log).toEqual(["tick 0", "tick 1"]);
    await expect(instance.pause()).rejects.toThrow(/Cannot pause Ticker instance .*: it is already paused/);
    await instance.resume();
    await t.clock.advance("5 hours");
    expect(log).toEqual(["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);
    expect(await instance.status()).toEqual({ status: "complete", output: "done" });
    await expect(instance.resume()).rejects.toThrow(/it is complete, not paused/);
    await expect(instance.pause()).rejects.toThrow(/already complete/);
  });

  it("a pause during the last step lets go of the instance: a resume completes it from the recorded step", async () => {
    const t = await env();
    const instance = await wf(t, "OneStep").create({ id: "last" });
    await expect.poll(() => log.includes("only")).toBe(true);
    await instance.pause();
    releaseOnly(); // the step ends while paused: the run returns instead of parking at a next step
    await t.clock.settle(); // which held forever while the stopped run kept its place
    expect(await instance.status()).toEqual({ status: "paused" });
    await instance.resume();
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "complete", output: { v: 42 } });
    expect(log.filter((entry) => entry === "only")).toEqual(["only"]); // recorded once, replayed
  });

  it("terminates for good, and restart runs from the start", async () => {
    const t = await env();
    const instance = await wf(t, "Ticker").create({ id: "tk" });
    await t.clock.advance("30 minutes");
    await instance.terminate();
    await t.clock.advance("1 day");
    expect(log).toEqual(["tick 0"]);
    expect(await instance.status()).toEqual({ status: "terminated" });
    await expect(instance.terminate()).rejects.toThrow(/already terminated/);
    await expect(instance.sendEvent({ type: "x" })).rejects.toThrow(/it is terminated/);
    await instance.restart();
    await t.clock.advance("6 hours");
    expect(log).toEqual(["tick 0", "tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);
    expect(await instance.status()).toEqual({ status: "complete", output: "done" });
  });

  it("restart drops the events the old run did not take", async () => {
    const t = await env();
    const instance = await wf(t, "Approval").create({ id: "ap" });
    await t.clock.settle();
    await instance.pause();
    await instance.sendEvent({ type: "approve", payload: { ok: false } }); // kept: a paused instance takes nothing
    await instance.restart();
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" }); // for a new event
    await instance.sendEvent({ type: "approve", payload: { ok: true } });
    await t.clock.settle();
    expect(await instance.status()).toMatchObject({ status: "complete", output: { sent: "hello" } });
  });

  it("restart while sleeping forgets the old run", async () => {
    const t = await env();
    const instance = await wf(t, "Ticker").create({ id: "tk" });
    await t.clock.advance("150 minutes"); // ticks 0-2
    await instance.restart();
    await t.clock.settle();
    expect(log).toEqual(["tick 0", "tick 1", "tick 2", "tick 0"]);
  });
});

describe("creating instances", () => {
  it("refuses duplicate and malformed ids and oversize params, creating nothing", async () => {
    const t = await env();
    const ticker = wf(t, "Ticker");
    await ticker.create({ id: "same" });
    await expect(ticker.create({ id: "same" })).rejects.toThrow(/Ticker instance same already exists/);
    await expect(ticker.create({ id: "-dash" })).rejects.toThrow(/Invalid workflow instance id/);
    await expect(ticker.create({ id: "x".repeat(101) })).rejects.toThrow(/Invalid workflow instance id/);
    await expect(ticker.create({ id: "../etc" })).rejects.toThrow(/Invalid workflow instance id/);
    await expect(ticker.create({ params: "x".repeat(17 * 1024 * 1024) })).rejects.toThrow(/maxWorkflowParamsBytes/);
    await expect(ticker.createBatch([{ id: "b1" }, { id: "same" }])).rejects.toThrow(/already exists/);
    await expect(ticker.get("b1")).rejects.toThrow(/no instance "b1"/);
    const batch = await ticker.createBatch([{ id: "b1" }, { id: "b2" }]);
    expect(batch.map((instance) => instance.id)).toEqual(["b1", "b2"]);
    const generated = await ticker.create();
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("runs 1,000 instances at once", async () => {
    const t = await env();
    const ticker = wf(t, "Ticker");
    // In batches of 100, the most one createBatch takes.
    const batches = Array.from({ length: 10 }, (_, b) => ticker.createBatch(Array.from({ length: 100 }, (_, i) => ({ id: `i${b * 100 + i}` }))));
    const instances = (await Promise.all(batches)).flat();
    await t.clock.advance("6 hours");
    const statuses = await Promise.all(instances.map((instance) => instance.status()));
    expect(statuses.every((s) => s.status === "complete" && s.output === "done")).toBe(true);
    expect(log).toHaveLength(5000);
  }, 60_000);
});

describe("code changed under a running instance", () => {
  it("runs a step added before recorded ones and replays those by name, as Cloudflare does", async () => {
    const t = await env();
    const instance = await wf(t, "Changing").create({ id: "c" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    stepNames = ["one", "three", "two"]; // a new step in the middle
    await t.clock.advance("1 hour");
    expect(await instance.status()).toEqual({ status: "complete", output: "last" });
    expect(log).toEqual(["one", "two", "three"]);
  });

  it("takes a step of another kind under a recorded name for a step of its own (each kind counts its calls, as on Cloudflare)", async () => {
    const t = await env();
    const instance = await wf(t, "Changing").create({ id: "c" });
    await t.clock.settle();
    restIsStep = true; // the recorded sleep "rest" is now a step.do: not the sleep's record
    await t.clock.advance("1 hour");
    expect(await instance.status()).toEqual({ status: "complete", output: "last" });
  });
});

describe("steps in parallel branches", () => {
  it("replay by name whatever order the branches call their later steps in", async () => {
    const t = await env();
    const instance = await wf(t, "Parallel").create({ id: "p" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.clock.advance("1 hour"); // a new execution replays both branches, whose first steps now end at once
    expect(await instance.status()).toEqual({ status: "complete", output: ["a1 a2", "b1 b2"] });
    expect(log.sort()).toEqual(["a1", "a2", "b1", "b2"]); // each ran once
  });

  it("completes when a branch calls a new step after the other branch's last one", async () => {
    const t = await env();
    const instance = await wf(t, "Uneven").create({ id: "u" });
    await t.clock.settle();
    expect(log).toEqual(["a", "b", "d"]);
    await t.clock.advance("1 minute"); // the replay calls a, b, d, then the new c
    expect(await instance.status()).toEqual({ status: "complete", output: 16 });
    expect(log).toEqual(["a", "b", "d", "c"]);
  });

  it("completes when steps run inside a recorded step, which are not called again on a replay", async () => {
    const t = await env();
    const instance = await wf(t, "Racing").create({ id: "r" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.clock.advance("2 hours");
    expect(await instance.status()).toEqual({ status: "complete", output: "after fast" });
    expect(log).toEqual(["fast", "slow", "another"]);
  });
});

describe("the host's index file lost", () => {
  it("resumes waiting instances at boot so they get their timers back", async () => {
    const t = await env();
    const instance = await wf(t, "Ticker").create({ id: "tk" });
    await t.clock.advance("30 minutes");
    await t.host.close();
    const { rmSync } = await import("node:fs");
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${t.dataDir}/host.sqlite${suffix}`, { force: true });
    await t.restart();
    await t.clock.advance("5 hours");
    expect(await (await wf(t, "Ticker").get(instance.id)).status()).toEqual({ status: "complete", output: "done" });
    expect(log).toEqual(["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);
  });

  it("pause lets the running step finish and record, so resume does not repeat it", async () => {
    const t = await env();
    const instance = await wf(t, "Ticker").create({ id: "p" });
    await instance.pause(); // before the first step finishes recording
    await t.clock.advance("1 hour");
    expect(await instance.status()).toEqual({ status: "paused" });
    await instance.resume();
    await t.clock.advance("6 hours");
    expect(log).toEqual(["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);
  });
});
