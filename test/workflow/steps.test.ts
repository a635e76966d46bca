import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import { NonRetryableError } from "../../src/workflow/errors.ts";
import type { WorkflowEvent, WorkflowStep, WorkflowStepConfig } from "../../src/workflow/types.ts";

const START = Date.UTC(2031, 0, 1);
/** Attempt times (virtual ms since START) per instance. */
const attempts = new Map<string, number[]>();
const effects: string[] = [];

interface FlakyParams {
  failures: number;
  config?: WorkflowStepConfig;
  fatal?: boolean;
}

class Flaky extends WorkflowEntrypoint<unknown, FlakyParams> {
  async run(event: WorkflowEvent<FlakyParams>, step: WorkflowStep) {
    const id = event.instanceId;
    return step.do("call", event.payload.config ?? {}, ({ attempt }) => {
      const list = attempts.get(id) ?? [];
      list.push(Date.now() - START);
      attempts.set(id, list);
      if (event.payload.fatal) throw new NonRetryableError("card declined");
      if (attempt <= event.payload.failures) throw new Error(`attempt ${attempt} failed`);
      return { ok: attempt };
    });
  }
}

class Caught extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    try {
      await step.do("fails", { retries: { limit: 0, delay: 0 } }, () => {
        effects.push("fails");
        throw new NonRetryableError("nope");
      });
    } catch (error) {
      const message = await step.do("recover", () => {
        effects.push("recover");
        return `recovered from ${(error as Error).message}`;
      });
      await step.sleep("pause", "1 hour");
      return message;
    }
  }
}

class Many extends WorkflowEntrypoint<unknown, { steps: number; bytes?: number }> {
  async run(event: WorkflowEvent<{ steps: number; bytes?: number }>, step: WorkflowStep) {
    let sum = 0;
    for (let i = 0; i < event.payload.steps; i++) sum += await step.do("add", () => i);
    if (event.payload.bytes) {
      const big = await step.do("big", () => "x".repeat(event.payload.bytes!));
      await step.sleep("rest", "1 minute");
      return { sum, big: big.length };
    }
    return { sum };
  }
}

class Parallel extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const [a, b] = await Promise.all([
      step.do("a", async () => {
        effects.push("a");
        return 1;
      }),
      step.sleep("wait", "10 minutes").then(() => step.do("b", () => (effects.push("b"), 2))),
    ]);
    return a + b;
  }
}

class Bytes extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const view = await step.do("bytes", () => new Uint8Array([1, 2, 3]));
    await step.sleep("rest", "1 minute");
    return { view, bufferBytes: view.buffer.byteLength };
  }
}

/** A step returns what cannot be stored (a function inside); `run` tries to catch the failure. */
class Unstorable extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    try {
      await step.do("open", () => {
        effects.push("open");
        return { close: () => effects.push("close") };
      });
    } catch {
      return "caught";
    }
    return "stored";
  }
}

/** One branch sleeps; the other does ordinary async work (not a step) before its step. */
class Busy extends WorkflowEntrypoint<unknown, { ms?: number } | undefined> {
  async run(event: WorkflowEvent<{ ms?: number } | undefined>, step: WorkflowStep) {
    const [slept, computed] = await Promise.all([
      step.sleep("nap", "1 minute").then(() => "slept"),
      (async () => {
        await new Promise((resolve) => setTimeout(resolve, event.payload?.ms ?? 20));
        return step.do("compute", () => (effects.push("compute"), 42));
      })(),
    ]);
    return { slept, computed };
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  attempts.clear();
  effects.length = 0;
  await t?.close();
  t = undefined;
});

async function env() {
  t ??= await createTestEnv({ agents: {}, workflows: { Flaky, Caught, Many, Parallel, Bytes, Unstorable, Busy }, start: START });
  return t;
}

function binding<P>(t: TestEnv, name: string) {
  return t.env[name] as WorkflowBinding<P>;
}

describe("step.do retries", () => {
  it("waits 10 s, 20 s, 40 s… by default (exponential) and records the result once", async () => {
    const t = await env();
    const instance = await binding<FlakyParams>(t, "Flaky").create({ id: "exp", params: { failures: 3 } });
    await t.clock.advance("10 minutes");
    expect(attempts.get("exp")).toEqual([0, 10_000, 30_000, 70_000]);
    expect(await instance.status()).toEqual({ status: "complete", output: { ok: 4 } });
    await t.restart();
    await t.clock.advance("1 hour");
    expect(attempts.get("exp")).toHaveLength(4); // complete: nothing runs again
  });

  it("supports constant and linear backoff with string delays", async () => {
    const t = await env();
    const flaky = binding<FlakyParams>(t, "Flaky");
    await flaky.create({ id: "const", params: { failures: 2, config: { retries: { limit: 5, delay: "5 seconds", backoff: "constant" } } } });
    await flaky.create({ id: "lin", params: { failures: 3, config: { retries: { limit: 5, delay: 1000, backoff: "linear" } } } });
    await t.clock.advance("1 minute");
    expect(attempts.get("const")).toEqual([0, 5000, 10_000]);
    expect(attempts.get("lin")).toEqual([0, 1000, 3000, 6000]);
  });

  it("errors after the retry limit, and at once on NonRetryableError", async () => {
    const t = await env();
    const flaky = binding<FlakyParams>(t, "Flaky");
    const limited = await flaky.create({ id: "limited", params: { failures: 99, config: { retries: { limit: 2, delay: 100 } } } });
    const fatal = await flaky.create({ id: "fatal", params: { failures: 0, fatal: true } });
    await t.clock.advance("1 minute");
    expect(attempts.get("limited")).toHaveLength(3);
    expect(await limited.status()).toEqual({ status: "errored", error: { name: "Error", message: "attempt 3 failed" } });
    expect(attempts.get("fatal")).toHaveLength(1);
    expect(await fatal.status()).toEqual({ status: "errored", error: { name: "NonRetryableError", message: "card declined" } });
  });

  it("replays a caught failure the same way without re-running either step", async () => {
    const t = await env();
    const instance = await binding(t, "Caught").create({ id: "c" });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.restart();
    await t.clock.advance("1 hour");
    expect(await (await binding(t, "Caught").get("c")).status()).toEqual({ status: "complete", output: "recovered from nope" });
    expect(effects).toEqual(["fails", "recover"]);
  });

  it("gives a replayed step's typed array back with an ArrayBuffer of its own, as a structured clone does", async () => {
    const t = await env();
    await binding(t, "Bytes").create({ id: "b" });
    await t.clock.settle();
    await t.restart(); // the step's result is read back from the journal
    await t.clock.advance("1 minute");
    const status = await (await binding(t, "Bytes").get("b")).status();
    expect(status).toEqual({ status: "complete", output: { view: new Uint8Array([1, 2, 3]), bufferBytes: 3 } });
    expect((status.output as { view: Uint8Array }).view.buffer.byteLength).toBe(3);
  });

  it("errors the instance at once, without retries, when a step returns a value that cannot be stored", async () => {
    const t = await env();
    const instance = await binding(t, "Unstorable").create({ id: "u" });
    await t.clock.advance("1 hour");
    expect(effects).toEqual(["open"]); // its side effects are not repeated
    const status = await instance.status();
    expect(status.status).toBe("errored"); // as on Cloudflare, `run` cannot catch it
    expect(status.error?.name).toBe("WorkflowFatalError");
    expect(status.error?.message).toMatch(/^The execution of the Workflow instance was terminated, as the step "open" returned a value which is not serialisable/);
  });

  it("refuses bad step options with a clear error", async () => {
    const t = await env();
    const instance = await binding<FlakyParams>(t, "Flaky").create({
      id: "bad",
      params: { failures: 0, config: { retries: { limit: -1, delay: 0 } } },
    });
    await t.clock.settle();
    expect(await instance.status()).toMatchObject({ status: "errored", error: { message: expect.stringMatching(/retries\.limit/) as string } });
  });
});

describe("replay and limits", () => {
  it("runs parallel branches; a sleeping branch does not hold the instance in memory", async () => {
    const t = await env();
    const instance = await binding(t, "Parallel").create({ id: "p" });
    await t.clock.settle();
    expect(effects).toEqual(["a"]);
    expect(await instance.status()).toEqual({ status: "waiting" });
    expect(t.host.workflowStats.running).toBe(0);
    await t.clock.advance("10 minutes");
    expect(await instance.status()).toEqual({ status: "complete", output: 3 });
    expect(effects).toEqual(["a", "b"]);
  });

  it("runs a branch's step after its other async work while another branch sleeps", async () => {
    const t = await env();
    const instance = await binding(t, "Busy").create({ id: "busy" });
    await expect.poll(() => effects).toEqual(["compute"]); // no time advanced: the sleep is not over
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    expect(t.host.workflowStats.running).toBe(0);
    await t.clock.advance("1 minute");
    expect(await instance.status()).toEqual({ status: "complete", output: { slept: "slept", computed: 42 } });
    expect(effects).toEqual(["compute"]); // replayed, not run again
  });

  it("does not go on with a branch's step once the instance was paused while that branch worked", async () => {
    const t = await env();
    const instance = await binding<{ ms: number }>(t, "Busy").create({ id: "paused", params: { ms: 200 } });
    await t.clock.settle();
    await instance.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(effects).toEqual([]);
    await instance.resume(); // a new execution does that work again and runs the step
    await expect.poll(() => effects).toEqual(["compute"]);
    await t.clock.advance("1 minute");
    expect(await instance.status()).toEqual({ status: "complete", output: { slept: "slept", computed: 42 } });
  });

  it("keeps 25,000 steps and a 32 MiB step result", async () => {
    const t = await env();
    const instance = await binding<{ steps: number; bytes?: number }>(t, "Many").create({
      id: "long",
      params: { steps: 25_000, bytes: 32 * 1024 * 1024 },
    });
    await t.clock.settle();
    expect(await instance.status()).toEqual({ status: "waiting" });
    await t.restart(); // the replay reads 25,001 recorded steps back
    await t.clock.advance("1 minute");
    expect(await (await binding(t, "Many").get("long")).status()).toEqual({
      status: "complete",
      output: { sum: (25_000 * 24_999) / 2, big: 32 * 1024 * 1024 },
    });
  }, 120_000);
});
