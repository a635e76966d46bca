/**
 * A step's timeout, a fallback's timeout and the backoff between retries run on the owner's clock, as
 * the run's wall time does: under the virtual clock of hearth/testing they fire when the test moves
 * time, never by themselves. Virtual time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { fallback, fnMember, step, team, teamRun, type TeamMember } from "../../src/teams/index.ts";

const log: string[] = [];

/** Waits until its signal aborts (a timeout, a stop); never answers by itself. */
function hangs(name: string): TeamMember<unknown, string> {
  return fnMember(name, (_input: unknown, context) => {
    log.push(`start ${name}`);
    return new Promise<string>((_resolve, reject) =>
      context.signal.addEventListener("abort", () => (log.push(`aborted ${name}: ${String(context.signal.reason)}`), reject(new Error("stopped"))), { once: true }),
    );
  });
}

let failures = 0;
/** Fails its first call, then answers. */
const flaky = fnMember("flaky", () => {
  log.push("flaky");
  if (++failures === 1) throw new Error("not yet");
  return "answered";
});
const spare = fnMember("spare", () => (log.push("spare"), "spare"));

const teams = {
  timeout: team("st-timeout", step(hangs("slow"), { timeoutMs: 60_000, fallback: spare })),
  fallback: team("st-fallback", fallback([hangs("first"), spare], { timeoutMs: 60_000 })),
  backoff: team("st-backoff", step(flaky, { retries: 1, backoffMs: 60_000 })),
} satisfies Record<string, { name: string }>;

class Owner extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
  }
  record(id: string) {
    return teamRun(this, id).record();
  }
  events(id: string) {
    return teamRun(this, id).events().map((event) => event.type);
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  log.length = 0;
  failures = 0;
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner } });
  return t.get<Owner>("Owner", "o1") as unknown as Owner;
}

describe("step timers on the owner's clock", () => {
  it("a step's timeoutMs fires when the owner's clock reaches it", async () => {
    const o = await owner();
    const id = await o.start("timeout");
    await until(async () => log.includes("start slow"));
    await t!.clock.advance("59 seconds");
    expect(log).toEqual(["start slow"]);
    await t!.clock.advance("1 second");
    await until(async () => (await o.record(id)).status === "completed");
    expect((await o.record(id)).output).toBe("spare");
    expect(log).toEqual(["start slow", "aborted slow: StepTimeoutError: slow took longer than 60000 ms", "spare"]);
  });

  it("a fallback's timeoutMs fires when the owner's clock reaches it", async () => {
    const o = await owner();
    const id = await o.start("fallback");
    await until(async () => log.includes("start first"));
    await t!.clock.advance("1 minute");
    await until(async () => (await o.record(id)).status === "completed");
    expect(log).toEqual(["start first", "aborted first: StepTimeoutError: first took longer than 60000 ms", "spare"]);
  });

  it("the backoff before a retry waits on the owner's clock", async () => {
    const o = await owner();
    const id = await o.start("backoff");
    await until(async () => (await o.events(id)).includes("step-retry"));
    expect(log).toEqual(["flaky"]);
    // The delay is 30-60 s (jittered): a minute covers it.
    await t!.clock.advance("1 minute");
    await until(async () => (await o.record(id)).status === "completed");
    expect((await o.record(id)).output).toBe("answered");
    expect(log).toEqual(["flaky", "flaky"]);
  });
});
