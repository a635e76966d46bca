/**
 * The worker pool: sandboxes run on worker threads, so the host's event loop goes on while one
 * computes; sync host calls, nested calls and large answers cross the thread boundary; a worker
 * that dies takes only its own sandboxes with it.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Sandbox, WorkerPoolEngine, inThreadEngine, type SandboxEngine, type SandboxExtension, type WorkerPoolOptions } from "../../src/sandbox/index.ts";
import { POOL_LIMITS } from "../../src/sandbox/pool/limits.ts";

/**
 * One native search with no bytecode run inside it, so no interrupt: an array search comparing long
 * strings of the same length, about 3 × 10^10 character comparisons (many seconds).
 */
const STUCK = `async () => { const a = new Array(1 << 18).fill("a".repeat(1 << 17)); return a.indexOf("a".repeat((1 << 17) - 1) + "b"); }`;

/** Two workers shared by the tests that do not stop one (starting a worker is the slow part). */
const shared = new WorkerPoolEngine({ size: 2 });
const pools: WorkerPoolEngine[] = [];
const sandboxes: Sandbox[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) sandbox.dispose();
  for (const pool of pools.splice(0)) await pool.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
afterAll(() => shared.close());

function pool(size: number, options: WorkerPoolOptions = {}): WorkerPoolEngine {
  const engine = new WorkerPoolEngine({ ...options, size });
  pools.push(engine);
  return engine;
}

async function sandbox(engine: SandboxEngine, options: Parameters<typeof Sandbox.create>[0] = {}): Promise<Sandbox> {
  const s = await Sandbox.create({ ...options, engine });
  sandboxes.push(s);
  return s;
}

/** Turns of the host's event loop that pass before `promise` settles. */
async function turnsWhile(promise: Promise<unknown>, atMost: number): Promise<number> {
  let settled = false;
  void promise.finally(() => (settled = true));
  let turns = 0;
  while (!settled && turns < atMost) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return turns;
}

describe("the worker pool", () => {
  it("keeps the host's event loop turning while a sandbox computes", async () => {
    const s = await sandbox(shared, { cpuMs: 500, wallMs: 30_000 });
    const spinning = s.runFunction("async () => { for (;;) {} }");
    // The host thread is free: many turns of its event loop pass while the sandbox burns its budget.
    expect(await turnsWhile(spinning, 50)).toBe(50);
    expect((await spinning).error).toEqual({ name: "SandboxLimitError", message: "CPU budget of 500 ms exceeded (cpuMs)", limit: "cpuMs" });
  });

  it("on the in-thread engine, the same loop holds the host's event loop until it stops", async () => {
    const s = await sandbox(inThreadEngine(), { cpuMs: 200, wallMs: 30_000 });
    const spinning = s.runFunction("async () => { for (;;) {} }");
    expect(await turnsWhile(spinning, 50)).toBeLessThan(50);
    expect((await spinning).error?.limit).toBe("cpuMs");
  });

  it("places new sandboxes on the least-loaded worker and keeps each on its worker", async () => {
    const engine = shared;
    const a = await sandbox(engine);
    const b = await sandbox(engine);
    const c = await sandbox(engine);
    const d = await sandbox(engine);
    expect(engine.workers.map((w) => w.sandboxes)).toEqual([2, 2]);
    for (const [i, s] of [a, b, c, d].entries()) await s.runFunction(`async () => { globalThis.n = ${i} }`);
    for (const [i, s] of [a, b, c, d].entries()) expect((await s.runFunction("async () => n")).result).toBe(i);
    a.dispose();
    c.dispose();
    expect(engine.workers.map((w) => w.sandboxes)).toEqual([0, 2]);
    await sandbox(engine);
    expect(engine.workers.map((w) => w.sandboxes)).toEqual([1, 2]);
  });

  it("prestarts a worker on request, which the first sandbox then uses", async () => {
    const engine = pool(2);
    expect(engine.workers).toEqual([]);
    await engine.prestart();
    await engine.prestart(); // already started: nothing more
    expect(engine.workers).toHaveLength(1);
    const s = await sandbox(engine);
    expect((await s.runFunction("async () => 'warm'")).result).toBe("warm");
    expect(engine.workers.map((w) => w.sandboxes)).toEqual([1]);
  });

  it("fails only the sandboxes of a worker that dies, names what happened, and starts a new worker", async () => {
    const engine = pool(2);
    const first = await sandbox(engine);
    const second = await sandbox(engine);
    await first.runFunction("async () => { globalThis.kept = 'first' }");
    await second.runFunction("async () => { globalThis.kept = 'second' }");
    const [victim] = engine.workers;
    const running = first.runFunction("async () => { for (;;) {} }");
    await engine.terminateWorker(victim!.threadId);
    const expected = { name: "SandboxError", message: "the sandbox's worker thread stopped (it exited with code 1)" };
    expect((await running).error).toEqual(expected);
    expect(first.alive).toBe(false);
    expect((await first.runFunction("async () => kept")).error).toEqual({ ...expected, message: `${expected.message}; the sandbox was stopped` });
    expect((await second.runFunction("async () => kept")).result).toBe("second");
    const fresh = await sandbox(engine);
    expect((await fresh.runFunction("async () => 6 * 7")).result).toBe(42);
    expect(engine.workers.map((w) => w.threadId)).not.toContain(victim!.threadId);
  });

  it("answers sync calls of any size and runs nested calls across threads", async () => {
    const extension: SandboxExtension = {
      name: "t",
      source: `(function (kit) {
        return {
          async dispatch(op, payload) {
            if (op === "big") return kit.sync("t.big", String(payload)).length;
            if (op === "wrap") { globalThis.depth = 0; return kit.sync("t.wrap", "3"); }
            throw new Error("unknown " + op);
          },
          nested(op, payload) {
            const n = Number(payload);
            return n === 0 ? "bottom" : op + n + "(" + kit.sync("t.wrap", String(n - 1)) + ")";
          },
        };
      })`,
      sync(op, payload, nested) {
        if (op === "big") return "y".repeat(Number(payload));
        if (op === "wrap") return nested("n", payload);
        throw new Error(`unknown ${op}`);
      },
    };
    const s = await sandbox(shared, { extension, memoryBytes: 64 * 1024 * 1024, cpuMs: 5_000 });
    expect(await s.extensionCall("big", String(5 * 1024 * 1024))).toEqual({ result: 5 * 1024 * 1024, logs: [] });
    // host → sandbox → host → sandbox …: each nested call makes a sync call that nests again.
    expect(await s.extensionCall("wrap", "0")).toEqual({ result: "n3(n2(n1(bottom)))", logs: [] });
  });

  it("waits for a slow host answer past the call's deadline, up to hostAnswerGraceMs", async () => {
    const extension: SandboxExtension = {
      name: "slow",
      source: `(function (kit) {
        return {
          async dispatch() {
            try { kit.sync("slow.wait", "{}"); return "answered"; } catch (e) { return e.message; }
          },
          nested() { return ""; },
        };
      })`,
      sync() {
        // The host thread is busy past the call's wall-clock limit (a slow storage answer).
        const until = performance.now() + 400;
        while (performance.now() < until);
        return "{}";
      },
    };
    // As on the host thread, the host's slowness is not the sandbox's fault: the answer is taken.
    const patient = await sandbox(shared, { extension, wallMs: 100 });
    expect(await patient.extensionCall("go", "{}")).toEqual({ result: "answered", logs: [] });
    // A host thread that does not answer within the grace: the sandbox's code sees an error it may catch.
    const impatient = await sandbox(pool(1, { hostAnswerGraceMs: 50 }), { extension, wallMs: 100 });
    expect(await impatient.extensionCall("go", "{}")).toEqual({ result: "the host did not answer slow.wait within 50 ms of the call's wall-clock deadline (hostAnswerGraceMs)", logs: [] });
    // The worker goes on.
    expect((await impatient.runFunction("async () => 'still here'")).result).toBe("still here");
  });

  it("refuses pool options out of range, naming them", () => {
    expect(() => new WorkerPoolEngine({ size: 0 })).toThrow("size must be an integer from 1 to 256, got 0");
    expect(() => new WorkerPoolEngine({ size: 1.5 })).toThrow("size must be an integer from 1 to 256, got 1.5");
    expect(() => new WorkerPoolEngine({ stackSizeMb: -1 })).toThrow("stackSizeMb must be an integer from 1 to 1024, got -1");
    expect(() => new WorkerPoolEngine({ maxOldGenerationSizeMb: 0 })).toThrow("maxOldGenerationSizeMb must be an integer from 1 to 1048576, got 0");
    expect(() => new WorkerPoolEngine({ hostAnswerGraceMs: Number.NaN })).toThrow("hostAnswerGraceMs must be an integer from 1 to 3600000, got NaN");
  });

  it("never keeps the process alive once idle", () => {
    const dir = mkdtempSync(join(tmpdir(), "hearth-pool-"));
    dirs.push(dir);
    const script = join(dir, "idle.ts");
    const index = join(import.meta.dirname, "../../src/sandbox/index.ts");
    writeFileSync(script, `import { Sandbox } from ${JSON.stringify(index)};\nconst s = await Sandbox.create();\nconsole.log(JSON.stringify(await s.runFunction("async () => 1 + 1")));\n`);
    // The sandbox is neither disposed nor its pool closed: the process still ends by itself. (A process
    // kept alive would never end; the bound only leaves room for a start on a loaded machine, which
    // has taken over 20 s.)
    const child = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 50_000 });
    expect(child.stdout.trim()).toBe(JSON.stringify({ result: 2, logs: [] }));
    expect(child.status).toBe(0);
  }, 60_000);
});

describe("a worker stuck where no limit is checked", () => {
  it("is stopped soon after the call's CPU budget: the call fails with that limit's error, and the pool goes on with another", async () => {
    const engine = pool(1);
    const s = await sandbox(engine, { wallMs: 30_000 });
    expect(await s.runFunction(STUCK)).toEqual({ error: { name: "SandboxLimitError", message: "CPU budget of 50 ms exceeded (cpuMs)", limit: "cpuMs" }, logs: [] });
    const next = await sandbox(engine);
    expect(await next.runFunction("async () => 'still serving'")).toEqual({ result: "still serving", logs: [] });
    // The stop waits for 1 s of the worker's CPU time past the budget: many seconds of wall time on a loaded machine.
  }, 60_000);

  it("refuses a stuckGraceMs out of range, naming it", () => {
    expect(() => new WorkerPoolEngine({ stuckGraceMs: 0 })).toThrow("stuckGraceMs must be an integer from 1 to 3600000, got 0");
  });
});

describe("a worker whose call is overdue", () => {
  it("takes no new sandbox: the next one starts on another worker and runs at once", async () => {
    // Graces long enough that the stuck worker is still there when the next sandbox has been made and
    // has run (a worker's start and a prelude have taken over 6 s on a loaded machine): past its call's
    // deadline plus hostAnswerGraceMs + 1 s the pool stops a worker whatever it runs.
    const engine = pool(1, { hostAnswerGraceMs: 60_000, stuckGraceMs: 120_000 });
    // The call must be inside the search before its wall clock ends, or it ends there (a worker that is
    // free again rightly takes the next sandbox). So the arrays are made by a call of their own (on a
    // loaded machine that alone has taken over 200 ms), and the stuck call's wall clock is generous.
    const wallMs = 1_000;
    const s = await sandbox(engine, { wallMs });
    expect(await s.runFunction(`async () => { globalThis.a = new Array(1 << 18).fill("a".repeat(1 << 17)); globalThis.b = "a".repeat((1 << 17) - 1) + "b"; }`)).toEqual({ logs: [] });
    const stuckWorker = engine.workers[0]!.threadId;
    let settled = false;
    const stuck = s.runFunction("async () => a.indexOf(b)").finally(() => (settled = true));
    // The pool counts the wall clock from when it sends the call (now); the worker is overdue after this.
    await new Promise((resolve) => setTimeout(resolve, wallMs + POOL_LIMITS.overdueAfterMs + 100));
    expect(settled).toBe(false);
    expect(engine.workers).toEqual([{ threadId: stuckWorker, sandboxes: 1, callsInFlight: 1 }]);
    const next = await sandbox(engine);
    expect(await next.runFunction("async () => 'elsewhere'")).toEqual({ result: "elsewhere", logs: [] });
    expect(engine.workers.map((w) => w.threadId)).toContain(stuckWorker);
    expect(engine.workers).toHaveLength(2);
    await engine.close();
    expect((await stuck).error?.message).toMatch(/worker thread stopped/);
  }, 60_000);
});
