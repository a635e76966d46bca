import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { agentTeams } from "../../src/teams/live.ts";
import { approval, fnMember, parallel, pipeline, step, subAgentMember, team, teamRun, type SubAgentMemberCall, type TeamMember } from "../../src/teams/index.ts";

const log: string[] = [];
const gates = new Map<string, () => void>();

/** Waits until the test opens its gate, or its signal aborts (then records that it saw the abort). */
function waiter(name: string): TeamMember<unknown, string> {
  return fnMember(name, (_input: unknown, context) => {
    log.push(`start ${name}`);
    return new Promise<string>((resolve, reject) => {
      gates.set(name, () => resolve(name));
      context.signal.addEventListener("abort", () => {
        log.push(`aborted ${name}`);
        reject(new Error("aborted"));
      });
    });
  });
}
const quick = (name: string) => fnMember(name, () => (log.push(`run ${name}`), name));

/** A sub-agent whose method works until the test opens its gate, or the member call is stopped. */
class Worker extends Agent {
  work(input: string, call?: SubAgentMemberCall): Promise<string> {
    log.push(`start worker ${input}`);
    return new Promise<string>((resolve, reject) => {
      gates.set("worker", () => resolve(`worked on ${input}`));
      call?.signal.addEventListener("abort", () => {
        log.push(`aborted worker: ${String(call.signal.reason)}`);
        reject(new Error("stopped"));
      });
    });
  }
}

const teams = {
  fan: team("c-fan", pipeline(parallel({ a: waiter("a"), b: waiter("b") }), quick("after"))),
  steps: team("c-steps", pipeline(waiter("first"), quick("second"))),
  slow: team("c-slow", step(waiter("slow"), { timeoutMs: 50, fallback: quick("quick") })),
  ask: team("c-ask", pipeline(quick("before"), approval("Go on?"), quick("after"))),
  wall: team("c-wall", waiter("forever"), { limits: { wallMs: 100 } }),
  subAgent: team("c-sub-agent", pipeline(subAgentMember<string, string>(Worker, { name: "worker", method: "work" }), quick("after"))),
} satisfies Record<string, { name: string }>;

class Owner extends Agent {
  async start(which: keyof typeof teams): Promise<string> {
    return (await teams[which].start(this, "go")).id;
  }
  async cancel(id: string): Promise<void> {
    await teamRun(this, id).cancel("the user gave up");
  }
  /** Cancels the run the moment it asks for an approval (while it is still suspending). */
  async startCancelledAtApproval(): Promise<string> {
    const run = await teams.ask.start(this, "go");
    await new Promise<void>((resolve, reject) => {
      const stop = run.watch((event) => {
        if (event.type !== "approval-requested") return;
        stop();
        run.cancel("no approvals today").then(resolve, reject);
      });
    });
    return run.id;
  }
  /** Pauses the run the moment it asks for an approval, or says it waits (while it is still suspending). */
  async startPausedAtApproval(on: "approval-requested" | "run-waiting"): Promise<string> {
    const run = await teams.ask.start(this, "go");
    await new Promise<void>((resolve) => {
      const stop = run.watch((event) => {
        if (event.type !== on) return;
        stop();
        run.pause("not now");
        resolve();
      });
    });
    return run.id;
  }
  approvals(id: string) {
    return teamRun(this, id).approvals();
  }
  async approve(id: string, path: string): Promise<void> {
    await teamRun(this, id).approve(path);
  }
  /** Calls pause and resume in a row, in one turn: the run has not stopped yet when they land. */
  control(id: string, calls: Array<"pause" | "resume">): void {
    for (const call of calls) teamRun(this, id)[call]();
  }
  executing(id: string): boolean {
    return agentTeams(this).live.has(id);
  }
  pause(id: string): void {
    teamRun(this, id).pause();
  }
  resume(id: string): void {
    teamRun(this, id).resume();
  }
  status(id: string) {
    return teamRun(this, id).record();
  }
  async result(id: string): Promise<unknown> {
    return teamRun(this, id).result();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  log.length = 0;
  gates.clear();
});

async function owner(): Promise<Owner> {
  t = await createTestEnv({ agents: { Owner, Worker }, time: "system" });
  return t.get<Owner>("Owner", "o1") as unknown as Owner;
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("condition not met");
}

describe("team run control", () => {
  it("cancel aborts every member under way and ends the run cancelled", async () => {
    const o = await owner();
    const id = await o.start("fan");
    await until(() => gates.has("a") && gates.has("b"));
    await o.cancel(id);
    expect(log.filter((line) => line.startsWith("aborted")).sort()).toEqual(["aborted a", "aborted b"]);
    const record = await o.status(id);
    expect(record.status).toBe("cancelled");
    expect(record.error).toEqual({ name: "TeamRunCancelledError", message: "the user gave up" });
    await expect(o.result(id)).rejects.toThrow("the user gave up");
    expect(log).not.toContain("run after");
  });

  it("pause stops the run without failing the step under way; resume runs it again from there", async () => {
    const o = await owner();
    const id = await o.start("steps");
    await until(() => gates.has("first"));
    await o.pause(id);
    await until(async () => (await o.status(id)).status === "paused");
    expect(log).toEqual(["start first", "aborted first"]);
    gates.clear();
    await o.resume(id);
    await until(() => gates.has("first"));
    gates.get("first")!();
    expect(await o.result(id)).toBe("second");
    expect(log).toEqual(["start first", "aborted first", "start first", "run second"]);
  });

  it("a step slower than its timeoutMs fails into its fallback; the slow member sees the abort", async () => {
    const o = await owner();
    expect(await o.result(await o.start("slow"))).toBe("quick");
    expect(log).toEqual(["start slow", "aborted slow", "run quick"]);
  });

  it("the run's wallMs ends a run that runs too long", async () => {
    const o = await owner();
    const id = await o.start("wall");
    await expect(o.result(id)).rejects.toThrow("Team run budget exhausted: wallMs (limit 100 ms of running time)");
    expect((await o.status(id)).error?.name).toBe("BudgetExceededError");
    expect(log).toContain("aborted forever");
  });

  it("a cancel that lands while the run suspends for an approval still cancels it", async () => {
    const o = await owner();
    const id = await o.startCancelledAtApproval();
    const record = await o.status(id);
    expect(record.status).toBe("cancelled");
    expect(record.error).toEqual({ name: "TeamRunCancelledError", message: "no approvals today" });
    await expect(o.result(id)).rejects.toThrow("no approvals today");
    expect(log).not.toContain("run after");
  });

  it("pause then resume before the run stopped: it goes on to the end", async () => {
    const o = await owner();
    const id = await o.start("steps");
    await until(() => gates.has("first"));
    gates.clear();
    await o.control(id, ["pause", "resume"]);
    await until(() => gates.has("first"));
    expect((await o.status(id)).status).toBe("running");
    gates.get("first")!();
    expect(await o.result(id)).toBe("second");
    expect(log).toEqual(["start first", "aborted first", "start first", "run second"]);
  });

  it("pause, resume, pause before the run stopped: it ends paused", async () => {
    const o = await owner();
    const id = await o.start("steps");
    await until(() => gates.has("first"));
    await o.control(id, ["pause", "resume", "pause"]);
    // Once no execution is left, none was started again: it ended where the last pause left it.
    await until(async () => !(await o.executing(id)));
    expect((await o.status(id)).status).toBe("paused");
    expect(log).toEqual(["start first", "aborted first"]);
  });

  it.each(["approval-requested", "run-waiting"] as const)("a pause that lands while the run suspends for an approval (at %s) leaves it paused; resuming waits for the approval again", async (on) => {
    const o = await owner();
    const id = await o.startPausedAtApproval(on);
    await until(async () => !(await o.executing(id)));
    expect((await o.status(id)).status).toBe("paused");
    await o.resume(id);
    await until(async () => (await o.status(id)).status === "waiting");
    const [ask] = await o.approvals(id);
    await o.approve(id, ask!.path);
    expect(await o.result(id)).toBe("after");
    expect(log).toEqual(["run before", "run after"]);
  });

  it("cancel reaches a sub-agent member's method: its call's signal aborts", async () => {
    const o = await owner();
    const id = await o.start("subAgent");
    await until(() => gates.has("worker"));
    await o.cancel(id);
    expect(log).toEqual(["start worker go", "aborted worker: RunStopped: the user gave up"]);
    expect((await o.status(id)).status).toBe("cancelled");
  });

  it("a sub-agent member's method that honours its signal still answers when not stopped", async () => {
    const o = await owner();
    const id = await o.start("subAgent");
    await until(() => gates.has("worker"));
    gates.get("worker")!();
    expect(await o.result(id)).toBe("after");
    expect(log).toEqual(["start worker go", "run after"]);
  });

  it("a run cancelled while it waits for an approval waits for none any more", async () => {
    const o = await owner();
    const id = await o.start("ask");
    await until(async () => (await o.approvals(id)).length === 1);
    const [ask] = await o.approvals(id);
    await o.cancel(id);
    expect(await o.approvals(id)).toEqual([]);
    await expect(o.approve(id, ask!.path)).rejects.toThrow(`Team run ${id} is cancelled: it waits for no approval`);
    expect((await o.status(id)).status).toBe("cancelled");
    expect(log).toEqual(["run before"]);
  });

  it("a run paused while it waits for an approval does not move once approved, only once resumed", async () => {
    const o = await owner();
    const id = await o.start("ask");
    await until(async () => (await o.status(id)).status === "waiting" && !(await o.executing(id)));
    await o.pause(id);
    expect((await o.status(id)).status).toBe("paused");
    const [ask] = await o.approvals(id);
    await o.approve(id, ask!.path);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await o.status(id)).status).toBe("paused");
    expect(await o.approvals(id)).toEqual([]);
    expect(log).toEqual(["run before"]);
    await o.resume(id);
    expect(await o.result(id)).toBe("after");
    expect(log).toEqual(["run before", "run after"]);
  });
});
