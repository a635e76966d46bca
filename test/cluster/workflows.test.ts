import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { WorkflowBinding } from "../../src/workflow/binding.ts";
import { WorkflowEntrypoint } from "../../src/workflow/entrypoint.ts";
import type { WorkflowEvent, WorkflowStep } from "../../src/workflow/types.ts";
import { preferredNode } from "../../src/cluster/due/rendezvous.ts";
import { WORKFLOW_PARTITION_NAMES, WORKFLOWS_SERVICE, workflowPartitionOf } from "../../src/cluster/workflows.ts";
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

/** Opened by the test: a Holding instance's step runs until then. */
const letGo = Promise.withResolvers<void>();

class Holding extends WorkflowEntrypoint {
  async run(event: WorkflowEvent<unknown>, step: WorkflowStep) {
    return step.do("hold", async () => {
      effects.push(`${event.instanceId}:hold`);
      await letGo.promise;
      return "held";
    });
  }
}

interface RunningNode extends TestNode {
  steps: WorkflowBinding<{ nap: number }>;
  holding: WorkflowBinding;
}

async function startNode(connectionString: string, id: string): Promise<RunningNode> {
  const running = await startTestNode(connectionString, id, { host: { agents: {}, workflows: { Steps, Holding } } });
  return { ...running, steps: running.host.env.Steps as WorkflowBinding<{ nap: number }>, holding: running.host.env.Holding as WorkflowBinding };
}

const stopNode = stopTestNode;

const PARTITION_IDS = WORKFLOW_PARTITION_NAMES.map((partition) => `${WORKFLOWS_SERVICE}/${partition}`);

/** Which nodes hold each partition, by name (`p0` → ["a"]). */
const partitionHolders = (nodes: RunningNode[]): Record<string, string[]> =>
  Object.fromEntries(WORKFLOW_PARTITION_NAMES.map((partition) => [partition, nodes.filter((running) => running.node.holds(WORKFLOWS_SERVICE, partition)).map((running) => running.id)]));

/** Every partition (but `except`) held by exactly its rendezvous-preferred node among `ids`. */
const spreadOver = (held: Record<string, string[]>, ids: string[], except?: string): boolean =>
  PARTITION_IDS.every((actorId, index) => {
    const partition = WORKFLOW_PARTITION_NAMES[index]!;
    const holders = held[partition]!;
    return partition === except || (holders.length === 1 && holders[0] === preferredNode(actorId, ids));
  });

/** An instance id (`<prefix>-<n>`) of `workflow` whose partition node `id` is preferred for among `ids`. */
function idPlacedOn(prefix: string, id: string, ids: string[], workflow = "Steps"): string {
  for (let n = 0; ; n++) {
    const candidate = `${prefix}-${n}`;
    if (preferredNode(`${WORKFLOWS_SERVICE}/${workflowPartitionOf(workflow, candidate)}`, ids) === id) return candidate;
  }
}

/** The node holding `partition`. */
const holderOf = (nodes: RunningNode[], partition: string): RunningNode => {
  const holders = partitionHolders(nodes)[partition]!;
  return nodes.find((running) => running.id === holders[0])!;
};

describe.skipIf(postgresUnavailable() !== undefined)("workflows in a cluster: instances spread over the nodes by partition, every node reaches them", () => {
  let connectionString: string;
  const nodes: RunningNode[] = [];
  /** A live node of the same cluster that runs no workflows (another version, another project): it is never handed a partition. */
  let bystander: TestNode | undefined;
  beforeAll(async () => {
    connectionString = await (await sharedPostgres()).database("workflows_cluster");
    bystander = await startTestNode(connectionString, "z");
    for (const id of ["a", "b"]) nodes.push(await startNode(connectionString, id));
  }, 60_000);
  afterAll(async () => {
    for (const running of nodes.splice(0)) await stopNode(running).catch(() => undefined);
    if (bystander) await stopNode(bystander).catch(() => undefined);
  }, 60_000);

  test("without any request, each partition is held by one node, its preferred one among those running workflows; any node creates, reads and signals any instance", async () => {
    await until("the partitions spread over a and b", async () => partitionHolders(nodes), (held) => spreadOver(held, ["a", "b"]));
    // z is alive too and would be preferred for some partitions, but it runs no workflows.
    expect(PARTITION_IDS.some((actorId) => preferredNode(actorId, ["a", "b", "z"]) === "z")).toBe(true);
    expect(WORKFLOW_PARTITION_NAMES.some((partition) => bystander!.node.holds(WORKFLOWS_SERVICE, partition))).toBe(false);
    const [a, b] = nodes as [RunningNode, RunningNode];
    // Created through a, run on b (and the other way round): the call reaches the partition's holder.
    for (const [creator, runner] of [[a, b], [b, a]] as const) {
      const id = idPlacedOn("w", runner.id, ["a", "b"]);
      const instance = await creator.steps.create({ id, params: { nap: 10 } });
      await until(`${id} waiting for its event`, () => instance.status(), (status) => status.status === "waiting" && effects.includes(`${id}:first`));
      expect(holderOf(nodes, workflowPartitionOf("Steps", id))).toBe(runner);
      expect(runner.host.workflows?.engine(workflowPartitionOf("Steps", id))?.exists("Steps", id)).toBe(true);
      await expect(creator.steps.create({ id, params: { nap: 10 } })).rejects.toThrow(`Steps instance ${id} already exists`);
      await (await runner.steps.get(id)).sendEvent({ type: "approval", payload: { ok: true } });
      const done = await until(`${id} complete`, async () => (await creator.steps.get(id)).status(), (status) => status.status === "complete");
      expect(done).toEqual({ status: "complete", output: { sum: 3, approved: true } });
      expect(effects.filter((effect) => effect.startsWith(`${id}:`))).toEqual([`${id}:first`, `${id}:second`]);
      // Restarted from a step through the node that does not hold it: the steps before it keep their results.
      await (await creator.steps.get(id)).restart({ from: { name: "second" } });
      await until(
        `${id} complete again`,
        async () => ({ status: await (await creator.steps.get(id)).status(), seconds: effects.filter((effect) => effect === `${id}:second`).length }),
        (seen) => seen.status.status === "complete" && seen.seconds === 2,
      );
      expect(effects.filter((effect) => effect.startsWith(`${id}:`))).toEqual([`${id}:first`, `${id}:second`, `${id}:second`]);
    }
    await expect(a.steps.get("nope")).rejects.toThrow('Steps has no instance "nope"');
  }, 30_000);

  test("a batch over several partitions: every instance created where its partition is held, or none when one exists", async () => {
    const [a, b] = nodes as [RunningNode, RunningNode];
    const ids = [idPlacedOn("batch", "a", ["a", "b"]), idPlacedOn("batch", "b", ["a", "b"])];
    const created = await a.steps.createBatch(ids.map((id) => ({ id, params: { nap: 10 } })));
    expect(created.map((instance) => instance.id)).toEqual(ids);
    for (const id of ids) await until(`${id} waiting`, async () => (await b.steps.get(id)).status(), (status) => status.status === "waiting");
    const fresh = idPlacedOn("fresh", "a", ["a", "b"]);
    await expect(b.steps.createBatch([{ id: fresh }, { id: ids[1]! }])).rejects.toThrow(`Steps instance ${ids[1]} already exists`);
    await expect(a.steps.get(fresh)).rejects.toThrow(`Steps has no instance "${fresh}"`);
    for (const id of ids) await (await b.steps.get(id)).terminate();
  }, 30_000);

  test("a node joining takes its share, a partition only once no step runs in it; the instances it gets resume on it", async () => {
    const moving = idPlacedOn("mover", "c", ["a", "b", "c"]);
    const [a] = nodes as [RunningNode];
    await a.steps.create({ id: moving, params: { nap: 0 } });
    await until(`${moving} waiting for its event`, async () => (await a.steps.get(moving)).status(), (status) => status.status === "waiting");
    // A step under way in a partition c should get: it stays where it runs until the step ends.
    const busy = idPlacedOn("busy", "c", ["a", "b", "c"], "Holding");
    const busyPartition = workflowPartitionOf("Holding", busy);
    await a.holding.create({ id: busy });
    await until(`${busy}'s step running`, async () => effects.includes(`${busy}:hold`), (running) => running);
    const busyHolder = holderOf(nodes, busyPartition);
    nodes.push(await startNode(connectionString, "c"));
    const c = nodes[2]!;
    await until("the other partitions spread over a, b and c", async () => partitionHolders(nodes), (held) => spreadOver(held, ["a", "b", "c"], busyPartition));
    expect(holderOf(nodes, busyPartition)).toBe(busyHolder);
    letGo.resolve();
    await until("the partitions spread over a, b and c", async () => partitionHolders(nodes), (held) => spreadOver(held, ["a", "b", "c"]));
    expect(await (await c.holding.get(busy)).status()).toEqual({ status: "complete", output: "held" });
    expect(effects.filter((effect) => effect.startsWith(`${busy}:`))).toEqual([`${busy}:hold`]);
    expect(holderOf(nodes, workflowPartitionOf("Steps", moving))).toBe(c);
    await (await a.steps.get(moving)).sendEvent({ type: "approval", payload: { ok: true } });
    expect(await until(`${moving} complete`, async () => (await c.steps.get(moving)).status(), (status) => status.status === "complete")).toEqual({ status: "complete", output: { sum: 3, approved: true } });
    expect(effects.filter((effect) => effect.startsWith(`${moving}:`))).toEqual([`${moving}:first`, `${moving}:second`]);
  }, 60_000);

  test("a holder leaving: the others resume its sleeping and waiting instances, no finished step runs again", async () => {
    const leaving = nodes.find((running) => running.id === "c")!;
    const sleeper = idPlacedOn("sleeper", "c", ["a", "b", "c"]);
    const waiter = idPlacedOn("waiter", "c", ["a", "b", "c"]);
    await leaving.steps.create({ id: sleeper, params: { nap: 1_500 } });
    await leaving.steps.create({ id: waiter, params: { nap: 0 } });
    await until("both started", async () => [sleeper, waiter].every((id) => effects.includes(`${id}:first`)), (started) => started);
    await stopNode(leaving);
    nodes.splice(nodes.indexOf(leaving), 1);
    await until("the partitions spread over a and b again", async () => partitionHolders(nodes), (held) => spreadOver(held, ["a", "b"]));
    const other = nodes[0]!;
    const waiting = await other.steps.get(waiter);
    await until("the waiter waiting on its new holder", () => waiting.status(), (status) => status.status === "waiting");
    await waiting.sendEvent({ type: "approval", payload: { ok: false } });
    await until("the sleeper past its nap, waiting for its event", async () => (await other.steps.get(sleeper)).status(), (status) => status.status === "waiting");
    await (await other.steps.get(sleeper)).sendEvent({ type: "approval", payload: { ok: true } });
    expect(await until("the sleeper complete", async () => (await other.steps.get(sleeper)).status(), (status) => status.status === "complete")).toEqual({ status: "complete", output: { sum: 3, approved: true } });
    expect(await until("the waiter complete", () => waiting.status(), (status) => status.status === "complete")).toEqual({ status: "complete", output: { sum: 3, approved: false } });
    for (const id of [sleeper, waiter]) expect(effects.filter((effect) => effect.startsWith(`${id}:`))).toEqual([`${id}:first`, `${id}:second`]);
  }, 60_000);
});
