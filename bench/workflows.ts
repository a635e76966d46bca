/**
 * Workflows: instances created per second (goal ≥ 5,000/s), the overhead of one `step.do` (goal
 * ≤ 0.2 ms, relaxed durability), and the memory a sleeping instance costs (goal ≈ 0).
 *
 *   creation   N instances through create() (C concurrent calls) and through createBatch(1,000);
 *              each runs one step and parks on a 1-day sleep. "created" = create() resolved (the
 *              instance row is durable); "parked" = every instance ran and left memory.
 *   step.do    one instance running S sequential trivial steps; and 100 instances × S/100 at once.
 *   memory     M sleeping instances: JS heap and RSS after they all left memory, per instance.
 */
import { Host, WorkflowEntrypoint, type WorkflowBinding, type WorkflowEvent, type WorkflowStep } from "../dist/index.js";
import { emit, log, msSince, withDataDir, type Row } from "./lib/common.ts";

const CREATE = 20_000;
const CONCURRENT_CREATES = 500;
const STEPS = 20_000;
const SLEEPERS = 50_000;

class Sleeper extends WorkflowEntrypoint<unknown, { n: number }> {
  async run(event: WorkflowEvent<{ n: number }>, step: WorkflowStep) {
    const doubled = await step.do("double", () => event.payload.n * 2);
    await step.sleep("nap", "1 day");
    return doubled;
  }
}

class Stepper extends WorkflowEntrypoint<unknown, { steps: number }> {
  async run(event: WorkflowEvent<{ steps: number }>, step: WorkflowStep) {
    let sum = 0;
    for (let i = 0; i < event.payload.steps; i++) sum += await step.do("add", () => i);
    return sum;
  }
}

function host(dataDir: string): Host {
  return new Host({ dataDir, agents: {}, workflows: { Sleeper, Stepper } });
}

const gc = (globalThis as { gc?: () => void }).gc;
function collect(): void {
  for (let i = 0; i < 3; i++) gc?.();
}

async function creation(rows: Row[]): Promise<void> {
  await withDataDir("wf-create", undefined, async (dataDir) => {
    const h = host(dataDir);
    const sleeper = h.env.Sleeper as WorkflowBinding<{ n: number }>;
    try {
      let start = process.hrtime.bigint();
      for (let i = 0; i < CREATE; i += CONCURRENT_CREATES) {
        await Promise.all(Array.from({ length: CONCURRENT_CREATES }, (_, j) => sleeper.create({ params: { n: i + j } })));
      }
      const created = msSince(start);
      await h.tasksIdle();
      const parked = msSince(start);
      log(`create(): ${CREATE} created in ${created.toFixed(0)} ms, all parked after ${parked.toFixed(0)} ms`);
      rows.push(
        { bench: "workflows", metric: "instances created / s, create()", value: (CREATE / created) * 1000, unit: "/s", goal: { op: ">=", value: 5000 }, note: `${CREATE} instances, ${CONCURRENT_CREATES} calls in flight; durable when create() resolves` },
        { bench: "workflows", metric: "instances created, run to their sleep and parked / s", value: (CREATE / parked) * 1000, unit: "/s", note: "one step.do + step.sleep each" },
      );
      start = process.hrtime.bigint();
      for (let i = 0; i < CREATE; i += 1000) {
        await sleeper.createBatch(Array.from({ length: 1000 }, (_, j) => ({ params: { n: i + j } })));
      }
      const batched = msSince(start);
      await h.tasksIdle();
      rows.push({ bench: "workflows", metric: "instances created / s, createBatch(1,000)", value: (CREATE / batched) * 1000, unit: "/s", goal: { op: ">=", value: 5000 }, note: `${CREATE} instances` });
    } finally {
      await h.close();
    }
  });
}

async function steps(rows: Row[]): Promise<void> {
  await withDataDir("wf-steps", undefined, async (dataDir) => {
    const h = host(dataDir);
    const stepper = h.env.Stepper as WorkflowBinding<{ steps: number }>;
    try {
      let start = process.hrtime.bigint();
      const one = await stepper.create({ params: { steps: STEPS } });
      await h.tasksIdle();
      const sequential = msSince(start);
      if ((await one.status()).status !== "complete") throw new Error("the stepper did not complete");
      start = process.hrtime.bigint();
      await stepper.createBatch(Array.from({ length: 100 }, () => ({ params: { steps: STEPS / 100 } })));
      await h.tasksIdle();
      const parallel = msSince(start);
      log(`step.do: ${STEPS} sequential in ${sequential.toFixed(0)} ms; 100 × ${STEPS / 100} in ${parallel.toFixed(0)} ms`);
      rows.push(
        { bench: "workflows", metric: "step.do overhead, one instance, sequential", value: sequential / STEPS, unit: "ms", goal: { op: "<=", value: 0.2 }, note: `${STEPS} trivial steps; each waits for its commit (relaxed)` },
        { bench: "workflows", metric: "step.do overhead, 100 instances at once", value: parallel / STEPS, unit: "ms", goal: { op: "<=", value: 0.2 }, note: `100 × ${STEPS / 100} steps, wall time / steps` },
      );
    } finally {
      await h.close();
    }
  });
}

async function memory(rows: Row[]): Promise<void> {
  await withDataDir("wf-memory", undefined, async (dataDir) => {
    const h = host(dataDir);
    const sleeper = h.env.Sleeper as WorkflowBinding<{ n: number }>;
    try {
      // Warm up code paths and SQLite's caches first, so the baseline is not an empty process.
      await sleeper.createBatch(Array.from({ length: 1000 }, (_, n) => ({ params: { n } })));
      await h.tasksIdle();
      collect();
      const before = process.memoryUsage();
      for (let i = 0; i < SLEEPERS; i += 1000) {
        await sleeper.createBatch(Array.from({ length: 1000 }, (_, j) => ({ params: { n: i + j } })));
      }
      await h.tasksIdle();
      collect();
      const after = process.memoryUsage();
      if (h.workflowStats.running !== 0) throw new Error(`${h.workflowStats.running} instances still in memory`);
      const heap = (after.heapUsed - before.heapUsed) / SLEEPERS;
      const rss = (after.rss - before.rss) / SLEEPERS;
      log(`memory: heap ${heap.toFixed(1)} B and RSS ${rss.toFixed(1)} B per sleeping instance`);
      rows.push(
        { bench: "workflows", metric: "JS heap per sleeping instance", value: heap, unit: "B", note: `${SLEEPERS} instances asleep, in memory: ${h.workflowStats.running}${gc ? "" : " (no --expose-gc)"}` },
        { bench: "workflows", metric: "RSS per sleeping instance", value: rss, unit: "B", note: "includes SQLite page cache growth" },
      );
    } finally {
      await h.close();
    }
  });
}

const rows: Row[] = [];
await creation(rows);
await steps(rows);
await memory(rows);
emit(rows);
