import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, stopTestNode, type TestNode } from "./support/test-node.ts";
import { until } from "./support/until.ts";

/** Each step's side effects, by instance: a step that ran twice shows twice. */
const effects: string[] = [];

class Steps extends WorkflowEntrypoint<unknown, { nap: number }> {
  async run(event: WorkflowEvent<{ nap: number }>, step: WorkflowStep) {
    const first = await step.do("first", () => {
      effects.push(`${event.instanceId}:first`);
      return 1;
    });
    await step.sleep("nap", event.payload.nap);
    const approval = await step.waitForEvent<{ ok: boolean }>("approval", { type: "approval", timeout: "1 hour" });
    const second = await step.do("second", () => {
      effects.push(`${event.instanceId}:second`);
      return 2;
    });
    return { sum: first + second, approved: approval.payload.ok };
  }
}

interface RunningNode extends TestNode {
  steps: WorkflowBinding<{ nap: number }>;
}

async function startNode(connectionString: string, id: string): Promise<RunningNode> {
  const running = await startTestNode(connectionString, id, { host: { agents: {}, workflows: { Steps } } });
  return { ...running, steps: running.host.env.Steps as WorkflowBinding<{ nap: number }> };
}

const stopNode = stopTestNode;

const holders = (nodes: RunningNode[]): string[] => nodes.filter((running) => running.node.holds("~workflows", "engine")).map((running) => running.id);

describe.skipIf(postgresUnavailable() !== undefined)("workflows in a cluster: one node runs the instances, every node reaches them", () => {
  let connectionString: string;
  const nodes: RunningNode[] = [];
  beforeAll(async () => {
    connectionString = await (await sharedPostgres()).database("workflows_cluster");
    for (const id of ["a", "b"]) nodes.push(await startNode(connectionString, id));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopNode(running).catch(() => undefined);
  }, 60_000);

  test("some node takes the instances without any request; both nodes create, read and signal them", async () => {
    await until("a holder", async () => holders(nodes), (held) => held.length === 1);
    const [a, b] = nodes as [RunningNode, RunningNode];
    const holder = nodes.find((running) => running.id === holders(nodes)[0])!;
    const other = holder === a ? b : a;
    const instance = await other.steps.create({ id: "w1", params: { nap: 10 } });
    await until("w1 waiting for its event", () => instance.status(), (status) => status.status === "waiting" && effects.includes("w1:first"));
    await expect(other.steps.create({ id: "w1", params: { nap: 10 } })).rejects.toThrow("Steps instance w1 already exists");
    await (await holder.steps.get("w1")).sendEvent({ type: "approval", payload: { ok: true } });
    const done = await until("w1 complete", async () => (await other.steps.get("w1")).status(), (status) => status.status === "complete");
    expect(done).toEqual({ status: "complete", output: { sum: 3, approved: true } });
    await expect(other.steps.get("nope")).rejects.toThrow('Steps has no instance "nope"');
    expect(effects.filter((effect) => effect.startsWith("w1:"))).toEqual(["w1:first", "w1:second"]);
  }, 30_000);

  test("the holder leaving: another node resumes its sleeping and waiting instances, no finished step runs again", async () => {
    const holder = nodes.find((running) => running.id === holders(nodes)[0])!;
    const other = nodes.find((running) => running !== holder)!;
    await holder.steps.create({ id: "sleeper", params: { nap: 1_500 } });
    await holder.steps.create({ id: "waiter", params: { nap: 0 } });
    await until("both started", async () => effects.filter((effect) => effect.endsWith(":first")).length, (count) => count >= 3);
    await stopNode(holder);
    nodes.splice(nodes.indexOf(holder), 1);
    await until("the other node holding the instances", async () => holders(nodes), (held) => held.length === 1);
    const waiter = await other.steps.get("waiter");
    await until("the waiter waiting on the new holder", () => waiter.status(), (status) => status.status === "waiting");
    await waiter.sendEvent({ type: "approval", payload: { ok: false } });
    await until("the sleeper past its nap, waiting for its event", async () => (await other.steps.get("sleeper")).status(), (status) => status.status === "waiting");
    await (await other.steps.get("sleeper")).sendEvent({ type: "approval", payload: { ok: true } });
    expect(await until("the sleeper complete", async () => (await other.steps.get("sleeper")).status(), (status) => status.status === "complete")).toEqual({ status: "complete", output: { sum: 3, approved: true } });
    expect(await until("the waiter complete", () => waiter.status(), (status) => status.status === "complete")).toEqual({ status: "complete", output: { sum: 3, approved: false } });
    for (const id of ["sleeper", "waiter"]) expect(effects.filter((effect) => effect.startsWith(`${id}:`))).toEqual([`${id}:first`, `${id}:second`]);
  }, 60_000);
});
