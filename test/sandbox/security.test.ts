/**
 * Hostile programs. Each must be contained with a clear error, and afterwards the host must be
 * untouched: its prototypes and globals unchanged, and a fresh sandbox still runs.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Sandbox, SandboxError, type RunResult, type SandboxOptions } from "../../src/sandbox/index.ts";
import { MIN_LOG_ENTRY_BYTES } from "../../src/sandbox/sandbox.ts";

const open: Sandbox[] = [];
async function sandbox(options?: SandboxOptions): Promise<Sandbox> {
  const s = await Sandbox.create(options);
  open.push(s);
  return s;
}
async function run(code: string, options?: SandboxOptions): Promise<RunResult> {
  return (await sandbox(options)).runFunction(code);
}

let globalsBefore: string[];
const protoNames = () => [Object.prototype, Array.prototype, Function.prototype, String.prototype, Promise.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(","));
let protosBefore: string[];
let jsonStringify: typeof JSON.stringify;
beforeAll(() => {
  globalsBefore = Object.getOwnPropertyNames(globalThis).sort();
  protosBefore = protoNames();
  jsonStringify = JSON.stringify;
});

afterEach(async () => {
  for (const s of open.splice(0)) s.dispose();
  // The host is fine: no pollution, no new globals, and a fresh sandbox still works.
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  expect(protoNames()).toEqual(protosBefore);
  expect(Object.getOwnPropertyNames(globalThis).sort()).toEqual(globalsBefore);
  expect(JSON.stringify).toBe(jsonStringify);
  const fresh = await Sandbox.create();
  expect(await fresh.runFunction("async () => [1 + 1, typeof globalThis.secret, Object.prototype.polluted]")).toEqual({ result: [2, "undefined", null], logs: [] });
  fresh.dispose();
});
afterAll(() => {
  for (const s of open.splice(0)) s.dispose();
});

describe("hostile programs: reaching the host", () => {
  it("1. process is not there", async () => {
    const r = await run("async () => process.env");
    expect(r.error).toEqual({ name: "ReferenceError", message: expect.stringContaining("process") });
  });

  it("2. require is not there", async () => {
    expect((await run("async () => require('fs').readFileSync('/etc/passwd', 'utf8')")).error?.name).toBe("ReferenceError");
  });

  it("3. dynamic import() of host modules fails", async () => {
    for (const name of ["fs", "node:child_process", "/work/main/src/index.ts", "../../src/limits.ts"]) {
      const r = await run(`async () => { const m = await import(${JSON.stringify(name)}); return Object.keys(m) }`);
      expect(r.error?.message).toMatch(/Cannot find module/);
    }
  });

  it("4. static imports of host modules fail to load", async () => {
    const s = await sandbox();
    await expect(s.load({ "m.js": "import { readFileSync } from 'node:fs'; export const x = readFileSync" }, "m.js")).rejects.toThrow(/Cannot find module 'node:fs'/);
  });

  it("5. constructor.constructor gives the sandbox's own Function, not the host's", async () => {
    const r = await run(`async () => {
      const F = (() => {}).constructor.constructor;
      const viaAsync = (async () => {}).constructor;
      const g = F("return this")();
      return [F("return typeof process")(), await viaAsync("return typeof require")(), typeof g.process, g === globalThis];
    }`);
    expect(r.result).toEqual(["undefined", "undefined", "undefined", true]);
  });

  it("6. capability functions are sandbox functions: their constructor chain does not reach the host", async () => {
    let called = 0;
    const r = await run(
      `async () => {
        const F = cap.constructor.constructor;
        return F("return process")();
      }`,
      { env: { cap: () => called++ } },
    );
    expect(r.error?.name ?? "").toBe("ReferenceError");
    expect(called).toBe(0);
  });

  it("7. the bridge functions are gone and the dispatcher cannot be replaced", async () => {
    const r = await run(`async () => {
      try { globalThis.__hearth_dispatch = () => 'x'; } catch (e) {}
      const replaced = typeof globalThis.__hearth_dispatch("run", "{}").then !== "function";
      return [typeof __hearth_sync, typeof __hearth_async, replaced, typeof setTimeout, typeof setInterval, typeof queueMicrotask, typeof WebAssembly];
    }`);
    expect(r.result).toEqual(["undefined", "undefined", false, "undefined", "undefined", "undefined", "undefined"]);
  });
});

describe("hostile programs: pollution across the boundary", () => {
  it("8. polluting the sandbox's prototypes does not reach the host", async () => {
    const r = await run(`async () => {
      Object.prototype.polluted = true; Array.prototype.map = null; JSON.parse = () => ({ hacked: true });
      return { ok: 1 };
    }`);
    expect(r.result).toEqual({ ok: 1 });
  });

  it("9. __proto__ keys in capability arguments stay own data on the host", async () => {
    const received: unknown[] = [];
    const r = await run(
      `async () => {
        const evil = JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
        return await take(evil, [evil]);
      }`,
      { env: { take: (a: unknown, b: unknown) => (received.push(a, b), "taken") } },
    );
    expect(r.result).toBe("taken");
    const a = received[0] as object;
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(a).sort()).toEqual(["__proto__", "constructor"]);
  });

  it("10. __proto__ keys in results stay own data on the host", async () => {
    const r = await run(`async () => JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')`);
    const result = r.result as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result["a"]).toBe(1);
  });

  it("11. breaking the sandbox's own JSON only breaks the code's own use of it, not what reaches the host", async () => {
    const s = await sandbox();
    expect(await s.runFunction("async () => { JSON.stringify = () => { throw new Error('sabotage') }; return 1 }")).toEqual({ result: 1, logs: [] });
    expect((await s.runFunction("async () => JSON.stringify({ a: 1 })")).error?.message).toMatch(/sabotage/);
  });
});

describe("hostile programs: CPU", () => {
  it("12. an infinite loop stops at the CPU budget, and the sandbox is stopped", async () => {
    const s = await sandbox({ cpuMs: 30 });
    const r = await s.runFunction("async () => { for (;;) {} }");
    expect(r.error).toEqual({ name: "SandboxLimitError", message: "CPU budget of 30 ms exceeded (cpuMs)", limit: "cpuMs" });
    expect(s.alive).toBe(false);
    expect((await s.runFunction("async () => 1")).error).toMatchObject({ limit: "cpuMs", message: expect.stringContaining("stopped") });
  });

  it("13. an infinite loop in a module's top level stops load()", async () => {
    const s = await sandbox({ cpuMs: 30 });
    const error = await s.load({ "m.js": "while (true) {}" }, "m.js").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).limit).toBe("cpuMs");
  });

  it("14. an unbounded microtask loop is stopped", async () => {
    const r = await run("async () => { for (;;) await null }", { cpuMs: 30 });
    expect(r.error?.limit).toBe("cpuMs");
  });

  it("15. an unbounded promise chain with a never-settling result is stopped", async () => {
    const r = await run("async () => { const f = () => Promise.resolve().then(f); f(); return new Promise(() => {}) }", { cpuMs: 30 });
    expect(r.error?.limit).toBe("cpuMs");
  });

  it("16. a loop that catches everything still stops", async () => {
    const r = await run("async () => { for (;;) { try { for (;;) {} } catch (e) {} } }", { cpuMs: 30 });
    expect(r.error?.limit).toBe("cpuMs");
  });

  it("17. waiting forever on a host call hits the wall-clock limit", async () => {
    const r = await run("async () => { await never(); return 1 }", { wallMs: 100, env: { never: () => new Promise(() => {}) } });
    expect(r.error).toEqual({ name: "SandboxLimitError", message: "wall-clock timeout of 100 ms (wallMs)", limit: "wallMs" });
  });

  it("18. a promise nothing can settle fails at once instead of hanging", async () => {
    const r = await run("async () => { await new Promise(() => {}) }");
    expect(r.error?.message).toMatch(/never settle|can never settle/);
  });
});

describe("hostile programs: stack and memory", () => {
  it("19. deep recursion is a RangeError inside the sandbox", async () => {
    const s = await sandbox();
    const r = await s.runFunction("async () => { function f() { return f() + 1 } f() }");
    expect(r.error).toMatchObject({ message: expect.stringMatching(/stack overflow/) });
    expect((await s.runFunction("async () => 'alive'")).result).toBe("alive");
  });

  it("20. parser nesting that exhausts the native stack stops only that sandbox", async () => {
    const other = await sandbox();
    await other.runFunction("async () => { globalThis.kept = 7 }");
    const r = await run("async () => eval('('.repeat(200000))");
    expect(r.error?.message).toMatch(/stack overflow/);
    expect((await other.runFunction("async () => kept")).result).toBe(7);
  });

  it("21. a string memory bomb hits the memory limit", async () => {
    const r = await run("async () => { let s = 'x'.repeat(1 << 20); const keep = []; for (;;) { keep.push(s + keep.length) } }", { memoryBytes: 8 * 1024 * 1024, cpuMs: 5000 });
    expect(r.error).toEqual({ name: "SandboxLimitError", message: "memory limit of 8 MiB exceeded (memoryBytes)", limit: "memoryBytes" });
  });

  it("22. a doubling string is refused at the engine's string length cap", async () => {
    const r = await run("async () => { let s = 'x'; for (;;) s += s }", { cpuMs: 5000 });
    expect(r.error).toEqual({ name: "InternalError", message: "string too long" });
  });

  it("23. an array memory bomb hits the memory limit", async () => {
    const r = await run("async () => { const a = []; for (let i = 0; ; i++) a.push({ i, s: [i, i, i] }) }", { memoryBytes: 4 * 1024 * 1024, cpuMs: 5000 });
    expect(r.error?.limit).toBe("memoryBytes");
  });

  it("24. a typed-array memory bomb hits the memory limit, not a CPU limit, even where freed memory is reused", async () => {
    // A budget the bomb cannot plausibly reach: each allocation is checked before it is made, so the memory limit stops it at once.
    const roomy = { cpuMs: 60_000, wallMs: 60_000 };
    const bomb = "async () => { const keep = []; for (;;) keep.push(new Float64Array(1 << 20)) }";
    const limit = { name: "SandboxLimitError", message: "memory limit of 32 MiB exceeded (memoryBytes)", limit: "memoryBytes" };
    expect((await run(bomb, roomy)).error).toEqual(limit);
    // The second bomb runs where the first one's memory was freed: the instance does not grow, the check still holds.
    expect((await run(bomb, roomy)).error).toEqual(limit);
  });

  it("25. one huge allocation hits the memory limit", async () => {
    const r = await run("async () => new Uint8Array(1 << 30).length", { cpuMs: 60_000, wallMs: 60_000 });
    expect(r.error).toEqual({ name: "SandboxLimitError", message: "memory limit of 32 MiB exceeded (memoryBytes)", limit: "memoryBytes" });
  });

  it("25a. an Error of the code's own that says 'out of memory' is its error: the sandbox stays, the memory limit is not reported", async () => {
    const s = await sandbox({ memoryBytes: 4 * 1024 * 1024, cpuMs: 5000 });
    expect(await s.runFunction("async () => { globalThis.n = 1; throw new Error('out of memory') }")).toEqual({ error: { name: "Error", message: "out of memory" }, logs: [] });
    expect(await s.runFunction("async () => { throw new RangeError('out of memory') }")).toEqual({ error: { name: "RangeError", message: "out of memory" }, logs: [] });
    // Also an InternalError the code makes: the engine's text is not read as the limit either.
    expect(await s.runFunction("async () => { throw new InternalError('out of memory') }")).toEqual({ error: { name: "InternalError", message: "out of memory" }, logs: [] });
    expect(s.alive).toBe(true);
    expect(await s.runFunction("async () => globalThis.n")).toEqual({ result: 1, logs: [] }); // still warm
    // The engine's own memory limit is still the limit: seen by its meter, not read from an error's text.
    const bomb = await s.runFunction("async () => { const a = []; for (let i = 0; ; i++) try { a.push({ i, s: [i, i, i] }) } catch { throw new Error('caught: ' + i) } }");
    expect(bomb.error).toEqual({ name: "SandboxLimitError", message: "memory limit of 4 MiB exceeded (memoryBytes)", limit: "memoryBytes" });
    expect(s.alive).toBe(false);
    // A module whose top-level code throws it fails to load with that error, not with the memory limit.
    const loaded = await sandbox();
    await expect(loaded.load({ "m.js": "throw new Error('out of memory')" }, "m.js")).rejects.toMatchObject({ message: "Error: out of memory", limit: undefined });
  });
});

describe("hostile programs: output", () => {
  it("26. huge console output is truncated at maxOutputBytes with a marker", async () => {
    const r = await run("async () => { console.log('x'.repeat(5000)); for (let i = 0; i < 10000; i++) console.log('line ' + i); return 'done' }", { maxOutputBytes: 4096, cpuMs: 2000 });
    expect(r.result).toBe("done");
    expect(r.logs).toHaveLength(1);
    // The logs filled the budget; they are trimmed so that the result still fits.
    expect(r.logs[0]!.message).toMatch(/^x{4000,4096}… \[output truncated: 4096 bytes exceeded \(maxOutputBytes\)\]$/);
  });

  it("26a. a flood of empty console lines uses up maxOutputBytes as text does", async () => {
    const r = await run("async () => { for (let i = 0; i < 5000; i++) console.log(''); for (let i = 0; i < 5000; i++) console.log(); return 'done' }", { maxOutputBytes: 1024, cpuMs: 5000 });
    expect(r.result).toBe("done");
    // 16 bytes an entry at least (MIN_LOG_ENTRY_BYTES): 64 entries fill 1,024 bytes.
    expect(r.logs.length).toBeGreaterThan(0);
    expect(r.logs.length).toBeLessThanOrEqual(1024 / MIN_LOG_ENTRY_BYTES + 1);
  });

  it("27. a result larger than maxOutputBytes is an error naming the limit", async () => {
    const r = await run("async () => 'y'.repeat(100000)", { maxOutputBytes: 1000 });
    expect(r.error).toMatchObject({ name: "SandboxLimitError", limit: "maxOutputBytes", message: expect.stringContaining("output of 1000 bytes exceeded (maxOutputBytes)") });
  });
});

describe("hostile programs: network", () => {
  it("28. fetch to loopback and private addresses fails without a handler", async () => {
    for (const url of ["http://127.0.0.1:22/", "http://localhost/", "http://[::1]/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/"]) {
      const r = await run(`async () => (await fetch(${JSON.stringify(url)})).status`);
      expect(r.error).toEqual({ name: "TypeError", message: expect.stringContaining("globalOutbound is null") });
    }
  });

  it("29. a handler that refuses is seen as a rejected fetch", async () => {
    const r = await run("async () => { try { await fetch('http://10.1.2.3/') } catch (e) { return e.message } }", {
      globalOutbound: (request) => {
        if (new URL(request.url).hostname.startsWith("10.")) throw new Error("private address refused");
        return new Response("ok");
      },
    });
    expect(r.result).toBe("private address refused");
  });

  it("30. a fetch body above maxHostCallBytes is refused", async () => {
    let called = false;
    const r = await run("async () => { await fetch('https://a.test/', { method: 'POST', body: 'z'.repeat(9 * 1024 * 1024) }) }", {
      cpuMs: 5000,
      globalOutbound: () => ((called = true), new Response("")),
    });
    expect(r.error?.message).toMatch(/exceeds 8388608 bytes \(maxHostCallBytes\)/);
    expect(called).toBe(false);
  });
});

describe("hostile programs: other tenants and capabilities", () => {
  it("31. a sandbox cannot read another sandbox's data or modules", async () => {
    const a = await sandbox();
    await a.load({ "secret.js": "globalThis.secret = 's3cr3t'; export const key = 'k'" }, "secret.js");
    const b = await sandbox();
    const r = await b.runFunction("async () => { let imported; try { imported = await import('secret.js') } catch (e) { imported = e.message } return [typeof secret, imported] }");
    expect(r.result).toEqual(["undefined", expect.stringContaining("Cannot find module")]);
  });

  it("32. malformed capability arguments are the capability's problem, reported as a rejection", async () => {
    const r = await run(
      `async () => {
        const out = [];
        for (const args of [[], ["x", "y"], [null], [{ a: [1, { b: 2 }] }], [1e308, NaN]]) {
          try { out.push(await add(...args)) } catch (e) { out.push(e.name + ': ' + e.message) }
        }
        return out;
      }`,
      {
        env: {
          add: (a: unknown, b: unknown) => {
            if (typeof a !== "number" || typeof b !== "number") throw new TypeError("add(a, b) takes two numbers");
            return a + b;
          },
        },
      },
    );
    expect(r.result).toEqual(["TypeError: add(a, b) takes two numbers", "TypeError: add(a, b) takes two numbers", "TypeError: add(a, b) takes two numbers", "TypeError: add(a, b) takes two numbers", "TypeError: add(a, b) takes two numbers"]);
  });

  it("33. cyclic and non-JSON arguments are refused inside the sandbox", async () => {
    let calls = 0;
    const r = await run(
      `async () => {
        const out = [];
        const cyclic = {}; cyclic.self = cyclic;
        for (const arg of [cyclic, 10n]) { try { await cap(arg) } catch (e) { out.push(e.name) } }
        return out;
      }`,
      { env: { cap: () => calls++ } },
    );
    expect(r.result).toEqual(["TypeError", "TypeError"]);
    expect(calls).toBe(0);
  });

  it("34. a huge capability payload is refused before the capability runs", async () => {
    let calls = 0;
    const r = await run("async () => { try { await cap('a'.repeat(9 * 1024 * 1024)) } catch (e) { return e.message } }", { cpuMs: 5000, env: { cap: () => calls++ } });
    expect(r.result).toMatch(/exceeds 8388608 bytes \(maxHostCallBytes\)/);
    expect(calls).toBe(0);
  });

  it("35. flooding host calls is capped at maxPendingHostCalls", async () => {
    let calls = 0;
    const r = await run("async () => { const ps = []; for (let i = 0; i < 1100; i++) ps.push(cap(i).catch((e) => e.message)); return await ps[1050] }", {
      env: { cap: () => (calls++, new Promise(() => {})) },
      cpuMs: 2000,
    });
    expect(r.result).toBe("too many host calls in flight: at most 1000 (maxPendingHostCalls)");
    expect(calls).toBe(1000);
  });

  it("36. a capability returning non-JSON data rejects with a clear message", async () => {
    const r = await run("async () => { try { await cap() } catch (e) { return e.message } }", { env: { cap: () => ({ n: 1n }) } });
    expect(r.result).toMatch(/not JSON-compatible/);
  });
});

describe("errors built to run code when the host reads them", () => {
  it("are read inside the limits: a name getter that throws, a toJSON that never ends", async () => {
    const { inThreadEngine, WorkerPoolEngine } = await import("../../src/sandbox/index.ts");
    const pool = new WorkerPoolEngine({ size: 1 });
    try {
      for (const engine of [inThreadEngine(), pool]) {
        const s = await sandbox({ engine, cpuMs: 50 });
        // errorOf's own read of the name throws: before, that rejection was dumped (toJSON and all) outside the meter.
        const thrown = await s.runFunction(`async () => {
          const e = new Error("x");
          Object.defineProperty(e, "name", { get() { throw { toJSON() { for (;;) {} } }; } });
          throw e;
        }`);
        expect(thrown.error?.message).toBe("an error whose name or message could not be read");
        // A value thrown as it is, dumped by the host: its toJSON runs inside the call's CPU limit.
        const loaded = await s.runFunction(`async () => { throw { toJSON() { for (;;) {} } }; }`);
        expect(loaded.error?.message ?? "").toMatch(/CPU|cpuMs|could not be read|Error/);
        // An error's text is cut to the output cap, as a result is.
        const long = await (await sandbox({ engine, maxOutputBytes: 1_000 })).runFunction(`async () => { throw new Error("x".repeat(100000)); }`);
        expect(long.error!.message.length).toBeLessThanOrEqual(1_000);
        expect(long.error!.message).toMatch(/more characters cut: maxOutputBytes\)$/);
        // The engine still serves another sandbox.
        expect(await (await sandbox({ engine })).runFunction("async () => 1 + 1")).toEqual({ result: 2, logs: [] });
      }
    } finally {
      await pool.close();
    }
  }, 30_000);
});

