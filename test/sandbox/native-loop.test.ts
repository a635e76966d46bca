/**
 * Builtins that loop natively over a length (an array's, up to 2^32 - 1, or an array-like's, up to
 * 2^53 - 1) run no bytecode, so the engine's interrupt never comes inside them and no limit is
 * checked: `a.length = 2 ** 32 - 1; a.forEach(f)` runs for minutes. On the worker pool such a run
 * must still end with the error of the limit it passed, soon after it; its worker is replaced, and
 * the other sandboxes of that worker are rebuilt elsewhere when nothing of them can be lost, else
 * stopped with an error that says why.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Sandbox, WorkerLoader, WorkerPoolEngine, type SandboxOptions } from "../../src/sandbox/index.ts";

const pools: WorkerPoolEngine[] = [];
const open: Sandbox[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.dispose();
  for (const pool of pools.splice(0)) await pool.close();
});

function pool(): WorkerPoolEngine {
  const engine = new WorkerPoolEngine({ size: 1 });
  pools.push(engine);
  return engine;
}

async function sandbox(engine: WorkerPoolEngine, options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await Sandbox.create({ engine, ...options });
  open.push(s);
  return s;
}

const HOLES = "const a = []; a.length = 2 ** 32 - 1;";
/** Each runs for minutes without reaching an interrupt (measured: none ends within 8 s). */
const ESCAPES = [
  `${HOLES} a.forEach(() => {});`,
  `${HOLES} return a.includes(1);`,
  `${HOLES} a.sort();`,
  "return Array.prototype.lastIndexOf.call({ length: 2 ** 53 - 1 }, 1);",
];

/** A code-mode run's limits: a small CPU budget, a long wall clock (it awaits tools). */
const CODE_RUN = { cpuMs: 50, wallMs: 30_000 };
const CPU_STOP = { name: "SandboxLimitError", message: "CPU budget of 50 ms exceeded (cpuMs)", limit: "cpuMs" };

describe("a builtin looping natively over a huge length", () => {
  it.each(ESCAPES)("%s ends with the CPU limit's error, and the pool goes on with another worker", async (code) => {
    const engine = pool();
    const s = await sandbox(engine, CODE_RUN);
    const worker = engine.workers[0]!.threadId;
    const r = await s.runFunction(`async () => { ${code} }`);
    expect(r).toEqual({ error: CPU_STOP, logs: [] });
    // As after any limit, the sandbox is stopped with that error.
    expect((await s.runFunction("async () => 1")).error).toEqual({ ...CPU_STOP, message: `${CPU_STOP.message}; the sandbox was stopped` });
    const next = await sandbox(engine);
    expect(await next.runFunction("async () => 'still serving'")).toEqual({ result: "still serving", logs: [] });
    expect(engine.workers.map((w) => w.threadId)).not.toContain(worker);
  }, 60_000);

  it("ends with the wall-clock limit's error when that comes first", async () => {
    const s = await sandbox(pool(), { cpuMs: 600_000, wallMs: 300 });
    const r = await s.runFunction(`async () => { ${HOLES} a.forEach(() => {}); }`);
    expect(r).toEqual({ error: { name: "SandboxLimitError", message: "wall-clock timeout of 300 ms (wallMs)", limit: "wallMs" }, logs: [] });
  }, 60_000);
});

describe("the other sandboxes of a worker stopped for a stuck call", () => {
  it("are made again on another worker when only their setup made them, with their calls sent there; the others are stopped", async () => {
    const engine = pool();
    let started!: () => void;
    const stuckRunning = new Promise<void>((resolve) => (started = resolve));
    // The host answers `started()` before the code goes on into the loop: anything sent after `stuckRunning` waits behind it.
    const stuck = await sandbox(engine, { ...CODE_RUN, env: { started: () => void setImmediate(started) } });
    const loaded = await sandbox(engine);
    await loaded.load({ "m.js": "const seven = 3 + 4; export function answer() { return seven; }" }, "m.js");
    const warm = await sandbox(engine);
    await warm.runFunction("async () => { globalThis.kept = 'warm' }");
    const worker = engine.workers[0]!.threadId;
    const run = stuck.runFunction(`async () => { await started(); ${HOLES} a.forEach(() => {}); }`);
    await stuckRunning;
    const queued = loaded.call("answer");
    const lost = warm.runFunction("async () => kept");
    const late = Sandbox.create({ engine });
    expect(await run).toEqual({ error: CPU_STOP, logs: [] });
    // Nothing had seen the loaded sandbox but its setup: it is made again elsewhere, and its call answered there.
    expect(await queued).toEqual({ result: 7, logs: [] });
    expect(await loaded.call("answer")).toEqual({ result: 7, logs: [] });
    // So is one still being created.
    const made = await late;
    open.push(made);
    expect(await made.runFunction("async () => 'made'")).toEqual({ result: "made", logs: [] });
    // The warm one held state of its own calls: it is stopped, saying why.
    const stopped = "the sandbox's worker thread stopped (another sandbox's call on it ran past its limits inside a native builtin, where no limit is checked)";
    expect(await lost).toEqual({ error: { name: "SandboxError", message: stopped }, logs: [] });
    expect(warm.alive).toBe(false);
    expect(engine.workers.map((w) => w.threadId)).not.toContain(worker);
  }, 60_000);

  it("give a call sent again on another worker its whole wall clock there: the wait behind the stuck call was not its own", async () => {
    const engine = pool();
    let started!: () => void;
    const stuckRunning = new Promise<void>((resolve) => (started = resolve));
    // The loop is stopped once it has used its 50 ms budget + 1 s of CPU time: more than the other's whole wall clock.
    const stuck = await sandbox(engine, { ...CODE_RUN, env: { started: () => void setImmediate(started) } });
    const waiting = await sandbox(engine, { wallMs: 1_000 });
    // Long enough to reach the engine's interrupt, where the wall clock is checked.
    await waiting.load({ "m.js": "export function answer() { let n = 0; for (let i = 0; i < 100000; i++) n += i % 2; return n % 7; }" }, "m.js");
    const run = stuck.runFunction(`async () => { await started(); ${HOLES} a.forEach(() => {}); }`);
    await stuckRunning;
    const sent = performance.now();
    const queued = waiting.call("answer");
    expect(await run).toEqual({ error: CPU_STOP, logs: [] });
    expect(performance.now() - sent).toBeGreaterThan(1_000);
    expect(await queued).toEqual({ result: 50_000 % 7, logs: [] });
  }, 60_000);

  it("leave a loader's warm worker that was idle to start again on its next use, as after an eviction", async () => {
    const engine = pool();
    const loader = new WorkerLoader({ engine });
    try {
      const counter = loader.get("counter", () => ({ mainModule: "m.js", modules: { "m.js": "let n = 0; export function bump() { return ++n; }" } })).getEntrypoint();
      expect(await counter.call("bump")).toBe(1);
      expect(await counter.call("bump")).toBe(2);
      const stuck = await sandbox(engine, CODE_RUN);
      expect(await stuck.runFunction(`async () => { ${HOLES} a.forEach(() => {}); }`)).toEqual({ error: CPU_STOP, logs: [] });
      // Its module's state went with the worker thread; the call is served by the worker started again.
      expect(await counter.call("bump")).toBe(1);
    } finally {
      loader.close();
    }
  }, 60_000);
});
