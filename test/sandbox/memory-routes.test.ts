/**
 * The memory limit against every way of allocating that runs no bytecode between allocations: a
 * short loop of builtins that copy or grow buffers, arrays and strings, or code that replaces the
 * globals the prelude's checks use. Each route keeps several times the limit within a dozen
 * iterations; each must stop with the memory limit, and the thread that ran it must stay as it was.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { EngineError, QuickJSEngine, Sandbox, WorkerPoolEngine, type EngineContext, type SandboxEngine } from "../../src/sandbox/index.ts";
import { SHARD_SPARE_BYTES } from "../../src/sandbox/quickjs-shard.ts";

const MIB = 1024 * 1024;
const LIMIT = 16 * MIB;
const STOPPED = { name: "SandboxLimitError", message: "memory limit of 16 MiB exceeded (memoryBytes)", limit: "memoryBytes" };
/** Budgets the routes cannot plausibly reach, so only the memory limit can stop them. */
const ROOMY = { cpuMs: 20_000, wallMs: 30_000 };

const sandboxes: Sandbox[] = [];
const contexts: EngineContext[] = [];
const pool = new WorkerPoolEngine({ size: 1 });
afterEach(() => {
  for (const sandbox of sandboxes.splice(0)) sandbox.dispose();
  for (const context of contexts.splice(0)) context.dispose();
});
afterAll(() => pool.close());

async function sandbox(engine: SandboxEngine): Promise<Sandbox> {
  const s = await Sandbox.create({ engine, memoryBytes: LIMIT, ...ROOMY });
  sandboxes.push(s);
  return s;
}

/** Each keeps 12 × 6 MiB (72 MiB, 4.5 times the limit) in a loop of 12 iterations. */
const ROUTES: Record<string, string> = {
  "ArrayBuffer.prototype.slice": "const b = new ArrayBuffer(6 * M); for (let i = 0; i < 12; i++) keep.push(b.slice(0));",
  "ArrayBuffer.prototype.transfer": "for (let i = 0; i < 12; i++) keep.push(new ArrayBuffer(8).transfer(6 * M));",
  "ArrayBuffer.prototype.transferToFixedLength": "for (let i = 0; i < 12; i++) keep.push(new ArrayBuffer(8).transferToFixedLength(6 * M));",
  "ArrayBuffer.prototype.resize": "for (let i = 0; i < 12; i++) { const b = new ArrayBuffer(1, { maxByteLength: 6 * M }); b.resize(6 * M); keep.push(b); }",
  "SharedArrayBuffer.prototype.slice": "const b = new SharedArrayBuffer(6 * M); for (let i = 0; i < 12; i++) keep.push(b.slice(0));",
  "SharedArrayBuffer.prototype.grow": "for (let i = 0; i < 12; i++) { const b = new SharedArrayBuffer(1, { maxByteLength: 6 * M }); b.grow(6 * M); keep.push(b); }",
  "TypedArray.prototype.slice": "const a = new Uint8Array(6 * M); for (let i = 0; i < 12; i++) keep.push(a.slice());",
  "TypedArray.prototype.toReversed": "const a = new Uint8Array(6 * M); for (let i = 0; i < 12; i++) keep.push(a.toReversed());",
  "TypedArray.prototype.with": "const a = new Uint8Array(6 * M); for (let i = 0; i < 12; i++) keep.push(a.with(0, 1));",
  "a typed array's own constructor": "const U = new Uint8Array(0).constructor; for (let i = 0; i < 12; i++) keep.push(new U(6 * M));",
  "Float16Array": "for (let i = 0; i < 12; i++) keep.push(new Float16Array(3 * M));",
  "Array.prototype.fill": "for (let i = 0; i < 12; i++) keep.push(new Array(6 * M / 8).fill(0));",
  "Array.from": "for (let i = 0; i < 12; i++) keep.push(Array.from({ length: 6 * M / 8 }));",
  "Array.prototype.slice": "const a = new Array(6 * M / 8).fill(0); for (let i = 0; i < 12; i++) keep.push(a.slice());",
  "Array.prototype.concat": "const a = new Array(6 * M / 8).fill(0); for (let i = 0; i < 12; i++) keep.push(a.concat());",
  "String.prototype.toLowerCase": "const s = 'X'.repeat(6 * M); for (let i = 0; i < 12; i++) keep.push(s.toLowerCase());",
  "String.prototype.slice": "const s = 'x'.repeat(6 * M); for (let i = 0; i < 12; i++) keep.push(s.slice(i));",
  "JSON.stringify": "const a = new Array(M / 8).fill('x'.repeat(44)); for (let i = 0; i < 12; i++) keep.push(JSON.stringify(a));",
};

describe("the memory limit, against allocations made in a short loop of builtins", () => {
  it.each(Object.entries(ROUTES))("holds for %s, and the worker that ran it goes on", async (_route, body) => {
    await (await sandbox(pool)).runFunction("async () => 1");
    const worker = pool.workers[0]!.threadId;
    const r = await (await sandbox(pool)).runFunction(`async () => { const M = ${MIB}; const keep = []; globalThis.keep = keep; ${body} return keep.length; }`);
    expect(r.error).toEqual(STOPPED);
    // The same worker thread serves the next sandbox.
    expect(await (await sandbox(pool)).runFunction("async () => 6 * 7")).toEqual({ result: 42, logs: [] });
    expect(pool.workers.map((w) => w.threadId)).toEqual([worker]);
  });

  it("is checked with what the prelude took at start, not the globals and getters the code replaced", async () => {
    const s = await sandbox(pool);
    // Each replacement would let an allocation past the checks (a bigger buffer than asked for, a
    // size read as 0, a string made aside, a proxy trap handing out the unwrapped constructor): none
    // of them is called by the checks.
    const r = await s.runFunction(`async () => {
      const M = ${MIB}; const keep = []; globalThis.keep = keep; let called = 0;
      const real = Reflect.construct;
      Reflect.construct = (target, args, newTarget) => (called++, real(target, [6 * M], newTarget));
      Function.prototype.apply = function (self, args) { called++; if (this.name === "repeat") { keep.push(Reflect.apply(this, "x", [6 * M])); return ""; } return Reflect.apply(this, self, args); };
      let unwrapped;
      Object.prototype.get = function (target, key) { called++; unwrapped = target; return Reflect.get(target, key); };
      const viewLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength").get;
      const bufferLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
      delete Object.prototype.get;
      for (const C of [ArrayBuffer, Object.getPrototypeOf(Uint8Array)]) Object.defineProperty(C.prototype, "byteLength", { get() { called++; return 0; } });
      for (let i = 0; i < 12; i++) { keep.push(new ArrayBuffer(0)); "x".repeat(0); keep.push(new Uint8Array(0).slice()); }
      const kept = keep.reduce((sum, x) => sum + (typeof x === "string" ? x.length : ArrayBuffer.isView(x) ? viewLength.call(x) : bufferLength.call(x)), 0);
      return [called, typeof unwrapped, kept];
    }`);
    expect(r).toEqual({ result: [0, "undefined", 0], logs: [] });
    // With those replacements in place, buffers are still measured.
    expect((await s.runFunction(`async () => { for (;;) keep.push(new ArrayBuffer(${6 * MIB})); }`)).error).toEqual(STOPPED);
  });

  it("leaves the builtins working as before within the limit", async () => {
    const s = await sandbox(pool);
    // A typed array's constructor is the global one (so what it makes is measured too).
    expect((await s.runFunction("async () => new Uint8Array(0).constructor === Uint8Array && new ArrayBuffer(0).constructor === ArrayBuffer")).result).toBe(true);
    const r = await s.runFunction(`async () => {
      const b = new ArrayBuffer(4, { maxByteLength: 8 }); b.resize(8);
      const t = new Uint8Array([3, 1, 2]);
      return [b.byteLength, b.slice(2).byteLength, new ArrayBuffer(2).transfer(5).byteLength, new ArrayBuffer(2).transferToFixedLength().byteLength,
        [...t.slice(1)], [...t.map((x) => x * 2)], [...t.filter((x) => x > 1)], [...t.toSorted()], [...t.toReversed()], [...t.with(0, 9)], [...Uint8Array.from([1, 2])], [...Uint8Array.of(4)],
        new Float16Array(2).length, new SharedArrayBuffer(2, { maxByteLength: 4 }).growable, Array.from({ length: 2 }, (_, i) => i), new Array(2).fill(7), [1].concat([2], 3), [1, 2, 3].slice(1),
        [[1], [2]].flat(), [2, 1].toSorted(), [1, 2].toReversed(), [1, 2].toSpliced(0, 1), [1, 2].with(1, 5), 'Ab'.toLowerCase() + 'Ab'.toUpperCase(), JSON.stringify({ a: [1] }),
        new (class extends Uint8Array {})(2).length];
    }`);
    expect(r).toEqual({
      result: [8, 6, 5, 2, [1, 2], [6, 2, 4], [3, 2], [1, 2, 3], [2, 1, 3], [9, 1, 2], [1, 2], [4], 2, true, [0, 1], [7, 7], [1, 2, 3], [2, 3], [1, 2], [1, 2], [2, 1], [2], [1, 5], "abAB", '{"a":[1]}', 2],
      logs: [],
    });
    // fill is charged for the range it writes: in-place fills of one element in a large heap stay
    // cheap (charged for the whole array each time, each MiB walked the heap: seconds of CPU here).
    const busy = await Sandbox.create({ engine: pool, memoryBytes: LIMIT, cpuMs: 2_000, wallMs: 60_000 });
    sandboxes.push(busy);
    const fills = await busy.runFunction(`async () => {
      const objects = Array.from({ length: 100000 }, (_, i) => ({ i }));
      const a = new Array(200000).fill(0);
      for (let i = 0; i < 10000; i++) a.fill(1, i, i + 1);
      return [objects.length, a[9999], a[10000], [1, 2, 3, 4].fill(9, -2), [1, 2, 3].fill(5, 1, 2)];
    }`);
    expect(fills).toEqual({ result: [100000, 1, 0, [1, 2, 9, 9], [1, 5, 3]], logs: [] });
    // A constructor's global set before the first use of any keeps what was set.
    const fresh = await sandbox(pool);
    expect((await fresh.runFunction("async () => { globalThis.Float64Array = 5; return [Float64Array, typeof Uint8Array, new Uint8Array(2).length]; }")).result).toEqual([5, "function", 2]);
  });
});

/** A context of a fresh engine with no prelude: only the engine's own checks stand. */
async function bare(engine: QuickJSEngine): Promise<EngineContext> {
  const context = await engine.createContext({ memoryBytes: LIMIT, host: { syncCall: () => undefined, asyncCall: async () => "" } });
  contexts.push(context);
  return context;
}

function budget(): { cpuMs: number; deadline: number; wallMs: number } {
  return { cpuMs: ROOMY.cpuMs, deadline: performance.now() + ROOMY.wallMs, wallMs: ROOMY.wallMs };
}

async function stoppedBy(run: Promise<unknown>): Promise<unknown> {
  const error = await run.then(() => undefined, (e: unknown) => e);
  return error instanceof EngineError ? { name: error.name, message: error.message, limit: error.limit } : error;
}

describe("the engine's own memory check, with no prelude", () => {
  it("stops a call that kept more than the limit when it returns", async () => {
    for (const body of [
      "const b = new ArrayBuffer(6 * M); for (let i = 0; i < 12; i++) keep.push(b.slice(0));",
      "for (let i = 0; i < 12; i++) keep.push(new Array(6 * M / 8).fill(0));",
      "const s = 'x'.repeat(6 * M); for (let i = 0; i < 12; i++) keep.push(s.slice(i));",
    ]) {
      const context = await bare(new QuickJSEngine());
      expect(await stoppedBy(context.evalScript(`const M = ${MIB}; const keep = []; globalThis.keep = keep; ${body}`, "bomb.js", budget())), body).toEqual(STOPPED);
      expect(context.alive).toBe(false);
    }
  });

  it("stops a sandbox whose short calls each keep a part of the limit", async () => {
    const context = await bare(new QuickJSEngine());
    await context.evalScript("globalThis.keep = [];", "setup.js", budget());
    const calls: unknown[] = [];
    for (let i = 0; i < 4 && context.alive; i++) calls.push(await stoppedBy(context.evalScript(`keep.push(new ArrayBuffer(${6 * MIB}));`, "call.js", budget())));
    expect(calls).toEqual([undefined, undefined, STOPPED]);
  });

  it("keeps the engine's memory from growing far past the limit within one call", async () => {
    const engine = new QuickJSEngine();
    const context = await bare(engine);
    const before = process.memoryUsage().external;
    // 40 copies of 6 MiB: 240 MiB if nothing stopped them before the call returned.
    const source = `const M = ${MIB}; const b = new ArrayBuffer(6 * M); const keep = []; for (let i = 0; i < 40; i++) try { keep.push(b.slice(0)); } catch {}`;
    expect(await stoppedBy(context.evalScript(source, "bomb.js", budget()))).toEqual(STOPPED);
    expect(process.memoryUsage().external - before).toBeLessThan(3 * LIMIT);
    // The engine goes on: a new sandbox on it runs.
    const next = await bare(engine);
    await next.evalScript("globalThis.ok = 1", "next.js", budget());
    expect(next.alive).toBe(true);
  });
});

describe("the WebAssembly instance's memory", () => {
  it("stays bounded over many sandboxes that each fill their memory limit, one after another", async () => {
    const engine = new QuickJSEngine();
    const sizes: number[] = [];
    for (let run = 0; run < 12; run++) {
      const s = await Sandbox.create({ engine });
      const r = await s.runFunction("async () => { const a = []; let s = 'ab'.repeat(500000); for (;;) a.push(s.toUpperCase() + s.toLowerCase()); }");
      expect(r.error?.limit).toBe("memoryBytes");
      s.dispose();
      sizes.push(engine.instanceBytes);
    }
    // Each run grew the instance by well over its 32 MiB limit; a retired instance is dropped with its last sandbox.
    expect(Math.max(...sizes)).toBeLessThan(SHARD_SPARE_BYTES + 256 * MIB);
  }, 120_000);
});
