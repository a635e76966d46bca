/**
 * What a step's function is told (Cloudflare's WorkflowStepContext: the step's name and count, the
 * attempt, the resolved config), `step.do(name, undefined, fn)`, and a retry delay given as a
 * function of the failed attempt.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep, WorkflowStepContext } from "../../src/workflow/types.ts";

const START = Date.UTC(2031, 0, 1);
/** Attempt times (virtual ms since START) per instance. */
const attempts = new Map<string, number[]>();

function note(id: string): void {
  attempts.set(id, [...(attempts.get(id) ?? []), Date.now() - START]);
}

class Context extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    const first = await step.do("fetch", (ctx: WorkflowStepContext) => ctx);
    const second = await step.do("fetch", (ctx: WorkflowStepContext) => ctx.step);
    const configured = await step.do("send", { retries: { limit: 2, delay: "1 second", backoff: "linear" }, timeout: "30 seconds" }, (ctx: WorkflowStepContext) => ctx.config);
    const unconfigured = await step.do("plain", undefined as never, () => "ran");
    return { first, second, configured, unconfigured };
  }
}

class RateLimited extends WorkflowEntrypoint {
  async run(event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return step.do(
      "sync",
      {
        retries: {
          limit: 3,
          backoff: "constant",
          delay: ({ ctx, error }) => (error.message.includes("rate limit") ? `${ctx.attempt * 30} seconds` : "1 second"),
        },
      },
      ({ attempt }) => {
        note(event.instanceId);
        if (attempt === 1) throw new Error("rate limit");
        if (attempt === 2) throw new Error("connection reset");
        return "synced";
      },
    );
  }
}

class BadDelay extends WorkflowEntrypoint {
  async run(event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return step.do(
      "sync",
      {
        retries: {
          limit: 3,
          delay: () => {
            throw new Error("no delay known");
          },
        },
      },
      () => {
        note(event.instanceId);
        throw new Error("connection reset");
      },
    );
  }
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.name = "HttpError";
    this.status = status;
  }
}

/** Catches a step's failure by more than its name and message, then sleeps: the next execution replays the catch. */
class Lookup extends WorkflowEntrypoint {
  async run(event: WorkflowEvent<unknown>, step: WorkflowStep) {
    let seen: string;
    try {
      await step.do("lookup", { retries: { limit: 0, delay: 0 } }, () => {
        throw new HttpError(404);
      });
      seen = "found";
    } catch (error) {
      seen = `${(error as Error).name} ${(error as Error).message} status=${String((error as { status?: number }).status)} HttpError=${String(error instanceof HttpError)}`;
    }
    note(`${event.instanceId}:${seen}`);
    await step.sleep("later", "1 hour");
    return seen;
  }
}

/** One branch waits for a cancel (a day); the other does a step, then other work (a fetch), and returns. */
class Cancellable extends WorkflowEntrypoint {
  async run(_event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return Promise.race([
      step.waitForEvent("cancel", { type: "cancel", timeout: "1 day" }).then(() => "cancelled"),
      (async () => {
        const value = await step.do("work", () => 42);
        await new Promise((resolve) => setTimeout(resolve, 50)); // work outside any step
        return `done ${value}`;
      })(),
    ]);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  attempts.clear();
  await t?.close();
  t = undefined;
});

async function env(): Promise<TestEnv> {
  t = await createTestEnv({ agents: {}, workflows: { Context, RateLimited, BadDelay, Lookup, Cancellable }, start: START });
  return t;
}

describe("step.do", () => {
  it("tells the step's function its name and count, the attempt and the resolved config; takes an undefined config", async () => {
    const t = await env();
    const instance = await (t.env.Context as WorkflowBinding).create({ id: "c" });
    await t.clock.advance("1 minute");
    expect(await instance.status()).toEqual({
      status: "complete",
      output: {
        first: { step: { name: "fetch", count: 1 }, attempt: 1, config: { retries: { limit: 5, delay: 10_000, backoff: "exponential" }, timeout: 600_000 } },
        second: { name: "fetch", count: 2 },
        configured: { retries: { limit: 2, delay: "1 second", backoff: "linear" }, timeout: "30 seconds" },
        unconfigured: "ran",
      },
    });
  });

  it("retries after what a delay function gives for the failed attempt, fed into the backoff", async () => {
    const t = await env();
    const instance = await (t.env.RateLimited as WorkflowBinding).create({ id: "r" });
    await t.clock.advance("5 minutes");
    expect(attempts.get("r")).toEqual([0, 30_000, 31_000]);
    expect(await instance.status()).toEqual({ status: "complete", output: "synced" });
  });

  it("fails the step without more retries when the delay function throws", async () => {
    const t = await env();
    const instance = await (t.env.BadDelay as WorkflowBinding).create({ id: "b" });
    await t.clock.advance("5 minutes");
    expect(attempts.get("b")).toEqual([0]);
    const status = await instance.status();
    expect(status).toMatchObject({ status: "errored", error: { name: "NonRetryableError" } });
    expect((status as { error: { message: string } }).error.message).toMatch(/retries\.delay function failed \(no delay known\) after: connection reset/);
  });

  it("throws a failed step's error as every replay will: its name and message, the same the first time as after a restart", async () => {
    const t = await env();
    const instance = await (t.env.Lookup as WorkflowBinding).create({ id: "l" });
    await t.clock.advance("2 hours");
    const seen = [...attempts.keys()].filter((key) => key.startsWith("l:"));
    expect(seen).toEqual(["l:HttpError HTTP 404 status=undefined HttpError=false"]);
    expect(await instance.status()).toEqual({ status: "complete", output: "HttpError HTTP 404 status=undefined HttpError=false" });
  });

  it("records what run() returns while another branch waits, though the run left memory during the other work", async () => {
    const t = await env();
    const instance = await (t.env.Cancellable as WorkflowBinding).create({ id: "x" });
    await t.clock.settle();
    await expect.poll(async () => await instance.status(), { timeout: 5_000 }).toEqual({ status: "complete", output: "done 42" });
  });
});
